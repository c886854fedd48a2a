"""Paths in stack files and pipelines cannot reach outside where they belong.

Pipeline sources stay inside the stack file's folder (and nothing outside is ever
executed), model and mount paths stay inside their volumes, container paths stay
absolute without ``..``, and the stack name (from the file name) cannot steer where a
render is written.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest
import yaml

from mlplane.components.pipeline.spec import ContainerStepSpec
from mlplane.infra.cli import main

STORAGE = {"classes": [{"name": "local", "kind": "local-path"}],
           "volumes": [{"name": "models", "size": "1Gi", "storage_class": "local"}]}

#: A pipeline file that leaves a mark when it is executed at all.
MARKING_PIPELINE = """\
from pathlib import Path
Path({marker!r}).write_text("executed")
from mlplane.pipelines.native import pipeline

@pipeline
def f(ctx):
    raise ValueError("never called")
"""


def stack(folder: Path, **sections: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {"mlplane:cluster": {"kind": "local"}, **{f"mlplane:{k}": v for k, v in sections.items()}}
    path = folder / "Pulumi.t.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def render(path: Path, out: Path) -> tuple[int, str]:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["render", "--config-file", str(path), "--out", str(out)])
    assert "Traceback" not in stderr.getvalue()
    return code, stderr.getvalue()


def refused(path: Path, out: Path) -> str:
    code, err = render(path, out)
    assert code == 2, err
    assert not out.exists()
    return err


# --- pipeline sources -----------------------------------------------------------------------

@pytest.fixture
def outside(tmp_path: Path) -> tuple[Path, Path]:
    """A stack folder, and a pipeline file outside it that marks when executed."""
    marker = tmp_path / "executed"
    (tmp_path / "evil.py").write_text(MARKING_PIPELINE.format(marker=str(marker)))
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "evil.py").write_text(MARKING_PIPELINE.format(marker=str(marker)))
    return tmp_path / "stack", marker


def pipeline_source_error(folder: Path, source: str) -> str:
    path = stack(folder, storage=STORAGE, pipelines=[{"name": "p", "source": source}])
    return refused(path, folder / "out")


@pytest.mark.parametrize("source", ["../evil.py:f", "../../evil.py:f", "sub/../../evil.py:f", "./../evil.py:f"])
def test_relative_sources_outside_the_stack_folder(outside: tuple[Path, Path], source: str) -> None:
    folder, marker = outside
    (folder / "sub").mkdir(parents=True)
    err = pipeline_source_error(folder, source)
    assert "mlplane:pipelines[0].source" in err and "is outside the stack file's folder" in err
    assert not marker.exists()


def test_absolute_source(outside: tuple[Path, Path]) -> None:
    folder, marker = outside
    err = pipeline_source_error(folder, f"{folder.parent / 'evil.py'}:f")
    assert "is outside the stack file's folder" in err and not marker.exists()


def test_symlinked_file_escaping_the_stack_folder(outside: tuple[Path, Path]) -> None:
    folder, marker = outside
    folder.mkdir()
    os.symlink(folder.parent / "evil.py", folder / "inside.py")
    err = pipeline_source_error(folder, "inside.py:f")
    assert "'inside.py' is outside the stack file's folder" in err and not marker.exists()


def test_symlinked_folder_escaping_the_stack_folder(outside: tuple[Path, Path]) -> None:
    folder, marker = outside
    folder.mkdir()
    os.symlink(folder.parent / "lib", folder / "lib")
    err = pipeline_source_error(folder, "lib/evil.py:f")
    assert "is outside the stack file's folder" in err and not marker.exists()


def test_a_symlink_that_stays_inside_is_fine(tmp_path: Path) -> None:
    folder = tmp_path / "stack"
    (folder / "real").mkdir(parents=True)
    (folder / "real" / "p.py").write_text("from mlplane.pipelines.mnist import mnist_pipeline\n")
    os.symlink(folder / "real", folder / "alias")
    path = stack(folder, storage=STORAGE, pipelines=[{"name": "p", "source": "alias/p.py:mnist_pipeline"}])
    code, err = render(path, folder / "out")
    assert code == 0, err


@pytest.mark.parametrize("source", ["..pipelines.mnist:mnist_pipeline", "pipelines..mnist:mnist_pipeline",
                                    ".mnist:mnist_pipeline", "mlplane.pipelines.mnist.:mnist_pipeline",
                                    "pipelines/../../evil:f", "C:\\evil.py:f", "mlplane.pipelines.mnist:../f",
                                    "mlplane.pipelines.mnist:mnist_pipeline:extra"])
def test_dots_and_separators_in_module_sources(outside: tuple[Path, Path], source: str) -> None:
    folder, marker = outside
    err = pipeline_source_error(folder, source)
    assert "mlplane:pipelines[0].source: must be `module:function` or `path/to/file.py:function`" in err
    assert not marker.exists()


@pytest.mark.parametrize("source", ["~/evil.py:f", "evil.py\x00.py:f", "%2e%2e/evil.py:f"])
def test_other_spellings_of_outside_find_nothing(outside: tuple[Path, Path], source: str) -> None:
    folder, marker = outside
    err = pipeline_source_error(folder, source)
    assert "mlplane:pipelines[0].source" in err and not marker.exists()


# --- paths inside volumes and containers -------------------------------------------------------

def endpoint_with_model_path(path: str) -> dict[str, object]:
    return {"endpoints": [{"name": "m", "model": {"format": "tensorflow", "volume": {"claim": "models", "path": path}}}]}


@pytest.mark.parametrize("path", ["../other", "a/../../b", "/etc", "..", "a/.."])
def test_model_paths_stay_inside_their_volume(tmp_path: Path, path: str) -> None:
    err = refused(stack(tmp_path, storage=STORAGE, serving=endpoint_with_model_path(path)), tmp_path / "out")
    assert "mlplane:serving.endpoints[0].model.volume.path: must be a path inside the volume" in err


def test_a_model_path_inside_its_volume_renders_as_a_pvc_uri(tmp_path: Path) -> None:
    path = stack(tmp_path, storage=STORAGE, serving=endpoint_with_model_path("export/..v1/model"))
    code, err = render(path, tmp_path / "out")
    assert code == 0, err
    text = (tmp_path / "out" / "plan.json").read_text()
    assert "/mnt/models" in text and "../" not in text


@pytest.mark.parametrize("uri", ["pvc://models/../x", "pvc://../models", "file:///etc/passwd", "hostpath:///x"])
def test_model_uris_must_be_in_the_artifact_store(tmp_path: Path, uri: str) -> None:
    # A volume is named with model.volume (claim and a path inside it), never smuggled in as a URI.
    storage = {**STORAGE, "artifacts": {"kind": "in-cluster", "storage_class": "local", "size": "1Gi"}}
    serving = {"endpoints": [{"name": "m", "model": {"format": "tensorflow", "uri": uri}}]}
    assert "mlplane:serving.endpoints[0].model.uri" in refused(stack(tmp_path, storage=storage, serving=serving),
                                                               tmp_path / "out")


@pytest.mark.parametrize("path", ["tmp", "/tmp/../etc", "/..", "./x"])
def test_web_app_writable_paths_are_absolute_without_dot_dot(tmp_path: Path, path: str) -> None:
    serving = {"web_apps": [{"name": "ui", "image": "ghcr.io/acme/ui:1.0.0", "port": 8080,
                             "writable_paths": [path]}]}
    err = refused(stack(tmp_path, serving=serving), tmp_path / "out")
    assert "mlplane:serving.web_apps[0].writable_paths[0]: must be an absolute path in the container" in err


@pytest.mark.parametrize("params", [{"model_export_dir": "../../etc"}, {"model_export_dir": "a/../../b"},
                                    {"pvc_name": "../models"}, {"pvc_name": "models/../x"}])
def test_mnist_params_cannot_leave_the_model_volume(tmp_path: Path, params: dict[str, str]) -> None:
    pipelines = [{"name": "mnist", "source": "mlplane.pipelines.mnist:mnist_pipeline", "params": params}]
    err = refused(stack(tmp_path, storage=STORAGE, pipelines=pipelines), tmp_path / "out")
    assert "mlplane:pipelines[0]: pipeline 'mnist' cannot be built" in err


# --- mounts of pipeline steps --------------------------------------------------------------------

def mount(**fields: str) -> dict[str, str]:
    return {"name": "data", "mountPath": "/data", **fields}


@pytest.mark.parametrize("fields", [{"mountPath": "data"}, {"mountPath": "/data/../etc"},
                                    {"subPath": "../../etc"}, {"subPath": "/etc"}, {"subPath": "a/../../b"},
                                    {"subPathExpr": "$(POD_NAME)/../.."}, {"subPathExpr": "/abs"}])
def test_step_mounts_stay_inside_their_volume(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="must"):
        ContainerStepSpec(name="s", image="busybox:1.36", volume_mounts=(mount(**fields),))


@pytest.mark.parametrize("fields", [{"subPath": "runs/1"}, {"subPath": "..data"}, {"subPathExpr": "$(POD_NAME)"}])
def test_step_mounts_inside_their_volume_are_fine(fields: dict[str, str]) -> None:
    ContainerStepSpec(name="s", image="busybox:1.36", volume_mounts=(mount(**fields),))


def test_a_pipeline_mounting_outside_its_volume_is_refused_at_load(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(
        "from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec\n"
        "from mlplane.pipelines.native import pipeline\n\n"
        "@pipeline\n"
        "def mounts(ctx):\n"
        "    step = ContainerStepSpec(name='peek', image='busybox:1.36', command=('ls',),\n"
        "        volumes=({'name': 'd', 'persistentVolumeClaim': {'claimName': 'models'}},),\n"
        "        volume_mounts=({'name': 'd', 'mountPath': '/data', 'subPath': '../../etc'},))\n"
        "    return PipelineSpec(name=ctx.pipeline, steps=(step,))\n"
    )
    err = refused(stack(tmp_path, storage=STORAGE, pipelines=[{"name": "p", "source": "steps.py:mounts"}]),
                  tmp_path / "out")
    assert "mlplane:pipelines[0]: pipeline 'p' cannot be built" in err
    assert "subPath '../../etc' of volume 'd' must be a path inside the volume" in err


# --- the stack name steers where a render goes ------------------------------------------------------

@pytest.mark.parametrize("name", ["Pulumi....yaml", "Pulumi...yaml", "Pulumi..yaml", "Pulumi.a::b.yaml",
                                  "Pulumi.a b.yaml", "Pulumi.ünï.yaml", f"Pulumi.{'s' * 101}.yaml"])
def test_file_names_that_make_invalid_stack_names(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("config:\n  mlplane:cluster: {kind: local}\n")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        # No --out: the default would be build/<stack>, which '..' would turn into the project root.
        assert main(["render", "--config-file", str(path)]) == 2
    assert f"{path}: --config-file: the file name gives an invalid stack name" in stderr.getvalue()


@pytest.mark.parametrize("stack_name", ["..", "../dev", "a/b", "dev\n", "."])
def test_invalid_stack_names_on_the_command_line(stack_name: str) -> None:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        assert main(["render", "--stack", stack_name]) == 2
    assert "--stack: " in stderr.getvalue() and "Traceback" not in stderr.getvalue()


def test_a_plain_file_name_is_its_stack_name(tmp_path: Path) -> None:
    path = tmp_path / "laptop.yaml"
    path.write_text("config:\n  mlplane:cluster: {kind: local}\n")
    code, err = render(path, tmp_path / "out")
    assert code == 0, err
    assert json.loads((tmp_path / "out" / "plan.json").read_text())["stack"] == "laptop"


# --- the kubeconfig path ----------------------------------------------------------------------------

@pytest.mark.parametrize("kubeconfig", ["", "a\x00b", "~nosuchuser/config", "line\nbreak"])
def test_kubeconfig_paths_that_cannot_be_used(tmp_path: Path, kubeconfig: str) -> None:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlplane:cluster": {"kind": "local", "kubeconfig": kubeconfig}}}))
    assert "mlplane:cluster.kubeconfig: " in refused(path, tmp_path / "out")


@pytest.mark.parametrize("context", ["", "a\x00b"])
def test_an_empty_context_is_not_the_current_one(tmp_path: Path, context: str) -> None:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlplane:cluster": {"kind": "local", "context": context}}}))
    assert "mlplane:cluster.context: must be a kubeconfig context name" in refused(path, tmp_path / "out")


# --- KFP v1 component files: anywhere in the project, nowhere else ----------------------------

KFP_PIPELINE = """\
import os
from kfp import components, dsl

HERE = os.path.dirname(os.path.abspath(__file__))
op = components.load_component_from_file({path})


@dsl.pipeline(name='p')
def p():
    op('world')
"""

GREET = """\
name: Greet
inputs: [{name: who}]
implementation:
  container: {image: 'busybox:1.36.1', command: [echo, {inputValue: who}]}
"""


def kfp_project(root: Path, path: str, *, project_file: bool = True) -> Path:
    """A project (``Pulumi.yaml`` at ``root`` when ``project_file``) whose pipeline, two folders
    down, loads the component file ``path``; the stack file's path."""
    (root / "pipelines" / "team").mkdir(parents=True)
    (root / "components").mkdir()
    (root / "components" / "greet.yaml").write_text(GREET)
    (root.parent / "greet.yaml").write_text(GREET)
    if project_file:
        (root / "Pulumi.yaml").write_text("name: platform\nruntime: python\n")
    (root / "pipelines" / "team" / "p.py").write_text(KFP_PIPELINE.format(path=path))
    return stack(root, storage=STORAGE, pipelines=[{"name": "p", "kind": "kfp-v1",
                                                    "source": "pipelines/team/p.py:p"}])


@pytest.mark.parametrize("path", ["'../../components/greet.yaml'",
                                  "os.path.join(HERE, '..', '..', 'components', 'greet.yaml')"])
def test_component_files_anywhere_in_the_project(tmp_path: Path, path: str) -> None:
    code, err = render(kfp_project(tmp_path / "proj", path), tmp_path / "out")
    assert code == 0, err
    assert (tmp_path / "out" / "plan.json").is_file()


@pytest.mark.parametrize("project_file", [True, False])
@pytest.mark.parametrize("path", ["'../../../greet.yaml'", "os.path.join(HERE, '..', '..', '..', 'greet.yaml')"])
def test_component_files_outside_the_project(tmp_path: Path, path: str, project_file: bool) -> None:
    # Without a Pulumi.yaml the project is the stack file's folder: its parent is outside.
    err = refused(kfp_project(tmp_path / "proj", path, project_file=project_file), tmp_path / "out")
    assert "p.py:5: pipeline p: components.load_component_from_file" in err
    assert f"is outside the project ({(tmp_path / 'proj').resolve()})" in err
