"""Names at and beyond Kubernetes' limits: a clear exit 2, or objects whose names all fit.

User-chosen names (pipelines, steps, pools, volumes, endpoints, profiles, namespaces)
either are refused where the stack file is read, or every object the plan creates has a
``metadata.name`` that fits Kubernetes' rules (the naming helper truncates with a hash).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.infra.cli import main

from .conftest import ROOT

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
#: Kinds whose names must be DNS-1123 labels (they become DNS names, or pod label values).
LABEL_KINDS = {"Namespace", "Service", "Job", "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Pod",
               "InferenceService", "PyTorchJob", "TrainJob"}

STORAGE = {"classes": [{"name": "local", "kind": "local-path"}],
           "volumes": [{"name": "models", "size": "1Gi", "storage_class": "local"}]}


def render(tmp_path: Path, config: dict[str, Any]) -> tuple[int, str, Path]:
    path = tmp_path / "Pulumi.names.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False, allow_unicode=True))
    out = tmp_path / "out"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["render", "--config-file", str(path), "--out", str(out)])
    assert code in (0, 2) and "Traceback" not in stderr.getvalue(), stderr.getvalue()
    if code == 2:
        assert not out.exists()
    return code, stderr.getvalue(), out


def name_problems(out: Path) -> list[str]:
    """Every Kubernetes object of the plan whose name, namespace or labels do not fit."""
    problems = []
    for resource in json.loads((out / "plan.json").read_text())["resources"]:
        if not resource["type"].startswith("kubernetes:") or "helm.sh" in resource["type"] \
                or "kustomize" in resource["type"] or not resource["custom"]:
            continue
        kind = resource["type"].rsplit(":", 1)[1]
        metadata = resource["inputs"].get("metadata") or {}
        name, namespace = metadata.get("name", ""), metadata.get("namespace")
        fits = (len(name) <= 63 and LABEL.match(name)) if kind in LABEL_KINDS else \
            (len(name) <= 253 and SUBDOMAIN.match(name))
        if not fits:
            problems.append(f"{kind} {name!r} ({len(name)} characters)")
        if namespace is not None and not (len(namespace) <= 63 and LABEL.match(namespace)):
            problems.append(f"{kind} {name!r}: namespace {namespace!r}")
        for key, value in (metadata.get("labels") or {}).items():
            if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
                problems.append(f"{kind} {name!r}: label {key}={value!r}")
    return problems


def manifest_names_fit(out: Path) -> None:
    for manifest in (out / "manifests").rglob("*.yaml"):
        body = yaml.safe_load(manifest.read_text())
        name = body["metadata"]["name"]
        assert len(name) <= 253 and SUBDOMAIN.match(name), manifest
        assert len(manifest.name) <= 255, manifest  # the file name holds Kind-name.yaml


def fits_or_refused(tmp_path: Path, config: dict[str, Any], where: str) -> str:
    """Render: a clean exit 2 naming ``where``, or every name fits. Returns ``rendered``/``refused``."""
    code, err, out = render(tmp_path, config)
    if code == 2:
        assert where in err, err
        return "refused"
    assert name_problems(out) == []
    manifest_names_fit(out)
    return "rendered"


LONG = "a" * 40 + "-" + "b" * 22  # 63 characters: the longest DNS label
NAMES = {
    "63": LONG, "64": LONG + "c", "253": ("x" * 60 + ".") * 4 + "x" * 9, "upper": "Mnist", "digit": "1mnist",
    "dash": "-mnist", "dots": "mn.ist", "unicode": "mnïst", "underscore": "mn_ist", "empty": "",
}


def base() -> dict[str, Any]:
    return {"mlplane:cluster": {"kind": "local"}, "mlplane:storage": yaml.safe_load(yaml.safe_dump(STORAGE))}


@pytest.mark.parametrize("key", NAMES)
def test_pipeline_names(tmp_path: Path, key: str) -> None:
    config = base()
    config["mlplane:pipelines"] = [{"name": NAMES[key], "source": "mlplane.pipelines.mnist:mnist_pipeline"}]
    outcome = fits_or_refused(tmp_path, config, "mlplane:pipelines[0]")
    # A leading digit is a DNS label, but MNIST names its endpoint after the pipeline, and
    # KServe's names must start with a letter: refused, saying so.
    assert outcome == ("rendered" if key == "63" else "refused")


@pytest.mark.parametrize("key", NAMES)
def test_volume_names(tmp_path: Path, key: str) -> None:
    config = base()
    config["mlplane:storage"]["volumes"].append({"name": NAMES[key], "size": "1Gi", "storage_class": "local"})
    outcome = fits_or_refused(tmp_path, config, "mlplane:storage.volumes[1].name")
    assert outcome == ("rendered" if key in ("63", "digit") else "refused")


@pytest.mark.parametrize("key", NAMES)
def test_storage_class_names(tmp_path: Path, key: str) -> None:
    config = base()
    config["mlplane:storage"]["classes"].append({"name": NAMES[key], "kind": "local-path"})
    outcome = fits_or_refused(tmp_path, config, "mlplane:storage.classes[1].name")
    assert outcome == ("rendered" if key in ("63", "64", "253", "digit", "dots") else "refused")


@pytest.mark.parametrize("key", NAMES)
def test_endpoint_names(tmp_path: Path, key: str) -> None:
    config = base()
    config["mlplane:serving"] = {"endpoints": [{"name": NAMES[key], "container": {"image": "ghcr.io/a/s:1.0.0"}}]}
    fits_or_refused(tmp_path, config, "mlplane:serving.endpoints[0].name")


@pytest.mark.parametrize("key", NAMES)
def test_workload_namespace(tmp_path: Path, key: str) -> None:
    config = base()
    config["mlplane:cluster"]["workload_namespace"] = NAMES[key]
    outcome = fits_or_refused(tmp_path, config, "mlplane:cluster.workload_namespace")
    assert outcome == ("rendered" if key in ("63", "digit") else "refused")


@pytest.mark.parametrize("key", NAMES)
def test_profile_names(tmp_path: Path, key: str) -> None:
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    config["mlplane:kubeflow"]["profiles"][0]["name"] = NAMES[key]
    for notebook in config.get("mlplane:workbenches", {}).get("notebooks", []):
        notebook["profile"] = NAMES[key]  # the dev notebook moves with its profile
    for pipeline in config.get("mlplane:pipelines", []):
        if "host_profiles" in pipeline.get("params", {}):
            pipeline["params"]["host_profiles"] = NAMES[key]  # so do the callers of its hosts
    outcome = fits_or_refused(tmp_path, config, "mlplane:kubeflow.profiles[0].name")
    assert outcome == ("rendered" if key in ("63", "digit") else "refused")


@pytest.mark.parametrize("key", NAMES)
def test_pool_and_node_names(tmp_path: Path, key: str) -> None:
    config = {"mlplane:cluster": {"kind": "selfhosted", "context": "onprem"},
              "mlplane:accelerators": {"pools": [{"name": NAMES[key], "vendor": "nvidia", "model": "l4",
                                                  "accelerators_per_node": 1,
                                                  "sharing": {"kind": "time-slicing", "replicas": 2},
                                                  "nodes": {"names": [NAMES["253"]]}}]}}
    outcome = fits_or_refused(tmp_path, config, "mlplane:accelerators.pools[0].name")
    assert outcome == ("rendered" if key in ("63", "digit") else "refused")


STEP_PIPELINE = """\
from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec, VolumeStepSpec
from mlplane.pipelines.native import pipeline

@pipeline
def steps(ctx, step: str = "s", claim: str = "c"):
    return PipelineSpec(name=ctx.pipeline, steps=(
        ContainerStepSpec(name=step, image="busybox:1.36", command=("true",), file_outputs={"o": "/tmp/o"}),
        ContainerStepSpec(name=step + "-next", image="busybox:1.36", command=("echo",),
                          args=("{{mlplane.output:" + step + ":o}}",)),
        VolumeStepSpec(name=step + "-vol", resource_name=claim, size="1Gi"),
    ))
"""


@pytest.mark.parametrize("step", [NAMES["63"], NAMES["64"], NAMES["253"], "Train.Step", "ünï-step", "1st",
                                  "a" * 300, "STEP_ONE"])
@pytest.mark.parametrize("pipeline", ["p", NAMES["63"]])
def test_step_names_are_made_to_fit(tmp_path: Path, step: str, pipeline: str) -> None:
    (tmp_path / "steps.py").write_text(STEP_PIPELINE)
    config = base()
    config["mlplane:pipelines"] = [{"name": pipeline, "source": "steps.py:steps",
                                    "params": {"step": step, "claim": "scratch." + "c" * 200}}]
    assert fits_or_refused(tmp_path, config, "mlplane:pipelines[0]") == "rendered"


@pytest.mark.parametrize("claim", ["Claim", "claim_1", "-claim", "c" * 254, "ünï", ""])
def test_claim_names_a_pipeline_chooses_are_checked(tmp_path: Path, claim: str) -> None:
    (tmp_path / "steps.py").write_text(STEP_PIPELINE)
    config = base()
    config["mlplane:pipelines"] = [{"name": "p", "source": "steps.py:steps", "params": {"claim": claim}}]
    code, err, _ = render(tmp_path, config)
    assert code == 2 and "mlplane:pipelines[0]: pipeline 'p' cannot be built" in err
    assert "must be a DNS-1123 subdomain" in err or "at least 1 character" in err, err


def test_step_names_that_only_differ_in_case_collide_clearly(tmp_path: Path) -> None:
    (tmp_path / "twins.py").write_text(
        "from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec\n"
        "from mlplane.pipelines.native import pipeline\n\n"
        "@pipeline\n"
        "def twins(ctx):\n"
        "    return PipelineSpec(name=ctx.pipeline, steps=(\n"
        "        ContainerStepSpec(name='Train', image='busybox:1.36', command=('true',)),\n"
        "        ContainerStepSpec(name='train', image='busybox:1.36', command=('true',))))\n"
    )
    config = base()
    config["mlplane:pipelines"] = [{"name": "p", "source": "twins.py:twins"}]
    code, err, _ = render(tmp_path, config)
    assert code == 2 and "two steps are named 'train' (as 'Train')" in err


def test_two_long_pipelines_sharing_a_prefix_keep_distinct_names(tmp_path: Path) -> None:
    config = base()
    config["mlplane:pipelines"] = [{"name": LONG, "source": "mlplane.pipelines.mnist:mnist_pipeline",
                                    "params": {"pvc_name": "models"}},
                                   {"name": LONG[:-1] + "z", "source": "mlplane.pipelines.mnist:mnist_pipeline",
                                    "params": {"pvc_name": "models", "model_export_dir": "other"}}]
    code, err, out = render(tmp_path, config)
    assert code == 0, err
    assert name_problems(out) == []
    names = [(r["type"], (r["inputs"].get("metadata") or {}).get("namespace"), r["inputs"]["metadata"]["name"])
             for r in json.loads((out / "plan.json").read_text())["resources"]
             if r["type"].startswith("kubernetes:") and r["custom"] and "metadata" in r["inputs"]]
    assert len(names) == len(set(names))
