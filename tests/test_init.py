"""``mlplane init``: the repository it writes, what it refuses, and that each stack renders there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlplane.infra.cli import main
from mlplane.infra.scaffold import workflow_texts
from mlplane.infra.scaffold.backends import BACKENDS

from .conftest import ROOT
from .test_review_cli import actionlint

#: The console script, as a user runs it: its own folder, not the project's, is first on sys.path.
MLPLANE = Path(sys.executable).with_name("mlplane")
SPEC = "mlplane[gcp,policy] @ git+https://git.example.org/platform/mlplane@v0.1.0"
EXPECTED = {"Pulumi.yaml", "__main__.py", "requirements.txt", ".gitignore", "pipelines/__init__.py",
            "pipelines/hello.py", "policy/PulumiPolicy.yaml", "policy/__main__.py",
            ".github/workflows/preview.yml", ".github/workflows/preview-comment.yml"}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not MLPLANE.is_file():
        pytest.fail(f"no mlplane console script beside {sys.executable}: install mlplane into this environment")
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "PYTHONPATH")}
    return subprocess.run([str(MLPLANE), *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          check=False)


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_init_writes_the_repository_with_one_stack_per_backend(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "acme-ml"
    assert main(["init", str(target), "--backend", "dev", "--backend", "gke", "--mlplane-spec", SPEC]) == 0
    assert files_under(target) == EXPECTED | {"Pulumi.dev.yaml", "Pulumi.gke.yaml"}
    assert "Wrote 12 files" in capsys.readouterr().out
    assert yaml.safe_load((target / "Pulumi.yaml").read_text())["name"] == "acme-ml"  # the folder's name
    assert (target / "requirements.txt").read_text().splitlines()[-1] == SPEC
    # The stack files load as the backend's values, each key under its schema description.
    gke = (target / "Pulumi.gke.yaml").read_text()
    assert yaml.safe_load(gke) == {"config": BACKENDS["gke"].config}
    assert "    # Google Cloud project id of the cluster.\n    project: my-gcp-project\n" in gke
    assert "# mlplane:workbenches: Notebook servers" in gke  # sections left out are listed
    assert "Placeholders to replace with your own: mlplane:cluster.project" in gke
    # The workflows diff exactly these stacks, with the extra gke needs, and preview gke with Pulumi.
    preview = yaml.safe_load((target / ".github/workflows/preview.yml").read_text())
    assert preview["env"] == {"MLPLANE_STACKS": "dev gke", "MLPLANE_EXTRAS": "gcp"}
    assert preview["jobs"]["pulumi-preview"]["strategy"]["matrix"]["stack"] == ["gke"]


def test_init_without_a_cloud_stack_has_no_pulumi_preview_job(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path), "--project-name", "acme.ml_platform-2", "--mlplane-spec", SPEC]) == 0
    assert files_under(tmp_path) == EXPECTED | {"Pulumi.dev.yaml"}
    assert yaml.safe_load((tmp_path / "Pulumi.yaml").read_text())["name"] == "acme.ml_platform-2"
    preview = yaml.safe_load((tmp_path / ".github/workflows/preview.yml").read_text())
    # The offline diff, and the optional verify job (it runs only where the repository enables it).
    assert list(preview["jobs"]) == ["offline", "verify"] and preview["env"]["MLPLANE_EXTRAS"] == ""
    assert preview["jobs"]["verify"]["if"] == "vars.MLPLANE_VERIFY == 'true'"


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "hello.py").write_text("# ours\n")
    assert main(["init", str(tmp_path), "--mlplane-spec", SPEC]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'pipelines' / 'hello.py'}: mlplane init: refusing to overwrite an existing file" in err
    assert files_under(tmp_path) == {"pipelines/hello.py"}
    assert (tmp_path / "pipelines" / "hello.py").read_text() == "# ours\n"


@pytest.mark.parametrize(("args", "setup", "message"), [
    (["--backend", "gcp"], None, "--backend: unknown backend (got 'gcp'; allowed: dev, selfhosted, gke, eks, aks)"),
    ([], "Pulumi.yaml", "mlplane init: a Pulumi project is already here"),
    ([], "Pulumi.yml", "mlplane init: a Pulumi project is already here"),
    (["--project-name", "acme/ml"], None, "--project-name: not a valid Pulumi project name (got 'acme/ml'"),
    (["--project-name", ".."], None, "--project-name: not a valid Pulumi project name"),
    (["--mlplane-spec", " "], None, "--mlplane-spec: not one pip requirement"),
])
def test_init_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                setup: str | None, message: str) -> None:
    if setup:
        (tmp_path / setup).write_text("name: theirs\n")
    before = files_under(tmp_path)
    argv = ["init", str(tmp_path), *args]
    if "--mlplane-spec" not in args:
        argv += ["--mlplane-spec", SPEC]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert files_under(tmp_path) == before


def test_init_refuses_a_folder_name_that_is_no_project_name(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "our platform"
    assert main(["init", str(target), "--mlplane-spec", SPEC]) == 2
    assert "(it is the folder's name) (got 'our platform'" in capsys.readouterr().err
    assert not target.exists()


def test_default_requirement_says_where_this_mlplane_installs_from(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Without --mlplane-spec: how pip installed the running mlplane (PEP 610), with the extras."""
    from importlib import metadata

    assert main(["init", str(tmp_path), "--backend", "eks"]) == 0
    line = (tmp_path / "requirements.txt").read_text().splitlines()[-1]
    assert line.startswith("mlplane[aws,policy]")
    direct = metadata.distribution("mlplane").read_text("direct_url.json")
    if direct and '"vcs_info"' not in direct:  # a local checkout or wheel: said to install here only
        assert line.startswith("mlplane[aws,policy] @ file://")
        assert "a local path: it installs on this machine only" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_each_generated_stack_renders_in_the_new_repository(tmp_path_factory: pytest.TempPathFactory,
                                                            backend: str) -> None:
    repo = tmp_path_factory.mktemp("acme")
    assert main(["init", str(repo), "--backend", backend, "--project-name", "acme-ml", "--mlplane-spec", SPEC]) == 0
    out = repo / "build"
    result = run("render", "--stack", backend, "--out", str(out), cwd=repo)
    assert result.returncode == 0, result.stderr
    plan = (out / "plan.json").read_text()
    # The project's own example pipeline (pipelines/hello.py), under the project's name.
    assert f'"urn:pulumi:{backend}::acme-ml::mlplane:pipeline:Pipeline::pipeline-hello"' in plan
    job = yaml.safe_load((out / "manifests" / "mlplane" / "Job-hello-say.yaml").read_text())
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == [f"print('hello' + ' from ' + '{backend}')"]


def test_generated_and_shipped_workflows_pass_actionlint(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path), "--mlplane-spec", SPEC, *[a for b in BACKENDS for a in ("--backend", b)]]) == 0
    generated = sorted((tmp_path / ".github" / "workflows").glob("*.yml"))
    assert len(generated) == 2
    assert actionlint(*generated) == []


def test_shipped_workflows_are_the_init_template_for_this_repositorys_stacks() -> None:
    """mlplane runs on itself the workflow a team gets from `mlplane init` (onprem is a selfhosted stack)."""
    stacks = {"dev": "dev", "onprem": "selfhosted", "gke": "gke", "eks": "eks", "aks": "aks"}
    assert {f"Pulumi.{s}.yaml" for s in stacks} == {p.name for p in ROOT.glob("Pulumi.*.yaml")}
    for name, text in workflow_texts(stacks).items():
        assert (ROOT / ".github" / "workflows" / name).read_text() == text, name


def test_install_step_installs_the_extras_from_mlplanes_metadata(tmp_path: Path) -> None:
    """pip cannot add extras to a URL requirement, so the step lists the extras' own requirements."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    step = next(s for s in workflow["jobs"]["offline"]["steps"] if s.get("name", "").startswith("Install mlplane"))
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then shift 2; echo "pip $*" >> '
                                 f'"{tmp_path}/pip.log"; exit 0; fi\nexec {sys.executable} "$@"\n')
    (shim / "python").chmod(0o755)
    environment = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path),
                   "MLPLANE_EXTRAS": "gcp,azure"}
    result = subprocess.run(["bash", "-e", "-c", step["run"]], env=environment, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pip.log").read_text().splitlines() == [
        "pip install -q -r requirements.txt", f"pip install -q -r {tmp_path}/extras.txt"]
    extras = (tmp_path / "extras.txt").read_text().splitlines()
    assert sorted(e.split("<")[0].split(">")[0] for e in extras) == ["pulumi-azure-native", "pulumi-gcp"]


#: Runs a generated repository's program entry as the engine does (``runpy.run_path`` of the
#: project folder, which puts it first on sys.path), with the stack file's config as the
#: engine hands it over, under the SDK's mocks; prints the URNs registered.
ENGINE = """
import json, runpy, sys
import yaml
import pulumi.runtime.settings as settings
from pulumi.runtime.config import set_all_config
from mlplane.infra.offline.runner import run_offline

repo, stack = sys.argv[1], sys.argv[2]
config = yaml.safe_load(open(f"{repo}/Pulumi.{stack}.yaml"))["config"]
project = yaml.safe_load(open(f"{repo}/Pulumi.yaml"))["name"]

def program():
    set_all_config({key: json.dumps(value) for key, value in config.items()}, [])
    settings.SETTINGS.root_directory = repo
    runpy.run_path(repo, run_name="__main__")

print("\\n".join(r.urn for r in run_offline(program, stack=stack, project=project)))
"""


@pytest.mark.slow
def test_the_program_entry_runs_mlplanes_program_on_the_projects_stack(tmp_path: Path) -> None:
    repo = tmp_path / "acme-ml"
    assert main(["init", str(repo), "--mlplane-spec", SPEC]) == 0
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", ENGINE, str(repo), "dev"], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    urns = result.stdout.splitlines()
    assert "urn:pulumi:dev::acme-ml::mlplane:pipeline:Pipeline::pipeline-hello" in urns
    assert len(urns) > 50  # the platform too, not only the pipeline


def test_the_pulumi_preview_job_installs_the_kustomize_plugin_before_previewing() -> None:
    """The provider's kustomize runs mlplane-depends-on for every directory (docs/ordering.md):
    without the plugin in kustomize's plugin home, a real `pulumi preview` fails every directory."""
    steps = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())["jobs"]["pulumi-preview"]["steps"]
    runs = [str(s.get("run", "")) + str(s.get("uses", "")) for s in steps]
    plugin = next(i for i, r in enumerate(runs) if "mlplane-depends-on --install-kustomize-plugin" in r)
    install = next(i for i, s in enumerate(steps) if s.get("name", "").startswith("Install mlplane"))
    assert install < plugin < next(i for i, r in enumerate(runs) if r.startswith("pulumi/actions"))
