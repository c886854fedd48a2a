"""The KFP v1 compatibility layer: unmodified pipeline files become pipeline specs."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from mlplane.components.pipeline.spec import ContainerStepSpec, VolumeStepSpec, output_placeholder
from mlplane.core.errors import InputError
from mlplane.pipelines.kfp_v1 import load_kfp_v1_pipeline

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "pipelines" / "seed" / "mnist_pipeline.py"
DATA = Path(__file__).resolve().parent / "data" / "pipelines"


def load(path: Path, function: str, params: dict | None = None, name: str = "p"):
    return load_kfp_v1_pipeline(path, function, params or {}, name=name, display=path.name)


def error(path: Path, function: str, params: dict | None = None) -> str:
    with pytest.raises(InputError) as caught:
        load(path, function, params)
    return str(caught.value)


def onprem_copy(tmp_path: Path) -> Path:
    text = SEED.read_text()
    assert "platform = 'GCP'" in text
    copy = tmp_path / "mnist_onprem.py"
    copy.write_text(text.replace("platform = 'GCP'", "platform = 'onprem'"))
    return copy


def test_seed_file_is_the_users_file_unchanged() -> None:
    upstream = ROOT.parent / "shared" / "seed" / "mnist_pipeline.py"
    if not upstream.is_file():
        pytest.skip("../shared/seed is not on this machine")
    assert SEED.read_bytes() == upstream.read_bytes()


def test_seed_gcp_branch() -> None:
    spec = load(SEED, "mnist_pipeline", name="mnist")
    assert [s.name for s in spec.steps] == ["train", "serve", "web-ui"]
    assert spec.order() == ["train", "serve", "web-ui"]
    train, serve, web = spec.steps
    assert serve.after == ("train",) and web.after == ("serve",)
    assert train.args[:3] == ("/opt/model.py", "--tf-export-dir", "gs://your-bucket/export")
    assert "--pvc-name" not in serve.args
    for step in spec.steps:
        assert {"name": "gcp-credentials-user-gcp-sa", "secret": {"secretName": "user-gcp-sa"}} in step.volumes
        assert {"name": "gcp-credentials-user-gcp-sa", "mountPath": "/secret/gcp-credentials"} in step.volume_mounts
        assert {"name": "GOOGLE_APPLICATION_CREDENTIALS",
                "value": "/secret/gcp-credentials/user-gcp-sa.json"} in step.env


def test_seed_onprem_branch_mounts_the_pvc(tmp_path: Path) -> None:
    spec = load(onprem_copy(tmp_path), "mnist_pipeline",
                {"pvc_name": "mnist-data", "model_export_dir": "/mnt/export"})
    train, serve, web = spec.steps
    assert serve.args[-4:] == ("--cluster-name", "mnist-pipeline", "--pvc-name", "mnist-data")
    assert web.args[-2:] == ("--cluster-name", "mnist-pipeline")
    for step in spec.steps:
        assert step.volumes == ({"name": "local-storage", "persistentVolumeClaim": {"claimName": "mnist-data"}},)
        assert step.volume_mounts == ({"name": "local-storage", "mountPath": "/mnt"},)
        assert not step.env


def test_params_override_defaults() -> None:
    spec = load(SEED, "mnist_pipeline", {"train_steps": 400, "learning_rate": "0.05"})
    args = spec.step("train").args
    assert args[args.index("--tf-train-steps") + 1] == "400"
    assert args[args.index("--tf-learning-rate") + 1] == "0.05"
    assert args[args.index("--tf-batch-size") + 1] == "100"


def test_the_dsl_surface() -> None:
    spec = load(DATA / "kfp_v1_outputs.py", "surface", {"epochs": 5})
    scratch, prep, train, report = (spec.step(n) for n in ("scratch", "prep", "train", "report"))
    assert isinstance(scratch, VolumeStepSpec)
    assert (scratch.resource_name, scratch.size, scratch.modes, scratch.storage_class) == (
        "p-scratch", "5Gi", ("ReadWriteOnce",), "standard")
    assert isinstance(prep, ContainerStepSpec) and prep.after == ("scratch",)
    assert {"name": "scratch", "mountPath": "/scratch"} in prep.volume_mounts
    assert train.args == ("--data", output_placeholder("prep", "dataset"), "--epochs", "5", "--out=s3://models/m")
    assert spec.upstream(train) == ["prep"]
    assert train.accelerator is not None and (train.accelerator.vendor, train.accelerator.count) == ("amd", 2)
    assert (train.resources.memory_limit, train.resources.cpu_limit, train.resources.memory_request) == (
        "4Gi", "2", "2Gi")
    assert train.node_selector == {"accelerator": "mi300"}
    assert train.tolerations == ({"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)
    assert train.env == ({"name": "EPOCHS", "value": "5"},)
    assert (train.retries, train.timeout_seconds) == (2, 3600)
    assert report.args[0] == "--model=" + output_placeholder("train", "model")
    assert spec.upstream(report) == ["prep", "train"]
    assert spec.order() == ["scratch", "prep", "train", "report"]


@pytest.mark.parametrize(("file", "function", "construct", "line"), [
    ("kfp_v1_recursive.py", "recursive", "dsl.graph_component", 12),
    ("kfp_v1_url_component.py", "url_pipeline", "components.load_component_from_url", 4),
])
def test_refused_constructs_name_construct_file_and_line(file: str, function: str, construct: str, line: int) -> None:
    message = error(DATA / file, function)
    assert message.startswith(f"{file}:{line}: pipeline p: {construct} ")


@pytest.mark.parametrize(("flag", "steps"), [("yes", ["first", "second"]), ("no", ["first"])])
def test_a_condition_on_parameters_is_decided_when_the_plan_is_made(flag: str, steps: list[str]) -> None:
    spec = load(DATA / "kfp_v1_refused.py", "refused", {"flag": flag})
    assert [s.name for s in spec.steps] == steps


def test_cycle_in_after_is_named() -> None:
    assert "steps depend on each other in a cycle: a -> b -> a" in error(DATA / "kfp_v1_cycle.py", "cycle")


def test_two_steps_with_the_same_name_get_kfps_unique_names() -> None:
    spec = load(DATA / "kfp_v1_cycle.py", "twins")
    assert [s.name for s in spec.steps] == ["same", "same-2"]


def test_function_that_is_not_a_pipeline() -> None:
    assert "'not_a_pipeline' is not a pipeline" in error(DATA / "kfp_v1_cycle.py", "not_a_pipeline")
    assert "defines no function 'nope'" in error(DATA / "kfp_v1_cycle.py", "nope")


def test_unknown_parameter_lists_the_known_ones() -> None:
    message = error(SEED, "mnist_pipeline", {"train_step": 1})
    assert "takes no parameter 'train_step'" in message
    assert "allowed: model_export_dir, train_steps, learning_rate, batch_size, pvc_name" in message


def test_unreadable_and_broken_files(tmp_path: Path) -> None:
    assert "cannot read the pipeline file" in error(tmp_path / "missing.py", "f")
    broken = tmp_path / "broken.py"
    broken.write_text("import kfp.dsl as dsl\ndef f(:\n")
    assert "broken.py:2: pipeline p: invalid Python" in error(broken, "f")


def test_kfp_is_ours_only_while_the_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    real = types.ModuleType("kfp")
    monkeypatch.setitem(sys.modules, "kfp", real)
    load(SEED, "mnist_pipeline")
    assert sys.modules["kfp"] is real
    assert "kfp.dsl" not in sys.modules
