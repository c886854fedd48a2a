"""Regressions found by the generated-config tests: each crashed, or wrote or accepted what it must not."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mlplane.components.pod_security import ResourceOverrides
from mlplane.infra.cli import main
from mlplane.infra.offline.manifests import MAX_FILE_NAME, manifest_path
from mlplane.infra.offline.plan import PlanResource

from .conftest import ROOT


def render(tmp_path: Path, config: dict, out: Path | None = None) -> tuple[int, str, Path]:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    out = out or tmp_path / "out"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["render", "--config-file", str(path), "--out", str(out)])
    assert "Traceback" not in stderr.getvalue()
    return code, stderr.getvalue(), out


# --- requests above limits crashed the render (ComputeResources failed inside build) -------

@pytest.mark.parametrize(("fields", "message"), [
    ({"cpu_request": "4", "cpu_limit": "1"}, "cpu_request 4 exceeds cpu_limit 1"),
    ({"memory_request": "4Gi", "memory_limit": "1Mi"}, "memory_request 4Gi exceeds memory_limit 1Mi"),
    ({"cpu_request": "-1"}, "cpu_request -1 is negative"),
    ({"memory_limit": "-5Gi"}, "memory_limit -5Gi is negative"),
    ({"cpu_limit": "0"}, "cpu_limit 0 is zero"),
])
def test_resource_overrides_that_cannot_run(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ResourceOverrides(**fields)


def test_resource_overrides_that_fit() -> None:
    assert ResourceOverrides(cpu_request="0", cpu_limit="500m", memory_request="1Gi", memory_limit="1Gi").resolve()
    assert ResourceOverrides(cpu_request="4").resolve().cpu_limit == "4"  # a big request raises the default limit


def test_an_endpoint_asking_more_than_its_limit_is_refused_at_load(tmp_path: Path) -> None:
    config = {"mlplane:cluster": {"kind": "local"},
              "mlplane:serving": {"endpoints": [{"name": "e", "container": {"image": "ghcr.io/a/s:1.0.0"},
                                                 "resources": {"cpu_request": "4", "cpu_limit": "1"}}]}}
    code, err, out = render(tmp_path, config)
    assert code == 2 and not out.exists()
    assert "Pulumi.t.yaml:9: mlplane:serving.endpoints[0].resources: cpu_request 4 exceeds cpu_limit 1" in err


# --- a contributor listed twice made two objects with one URN (exit 2 without a key path) ----

def test_a_contributor_listed_twice_is_refused_with_its_key(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "Pulumi.onprem.yaml").read_text())["config"]
    contributors = config["mlplane:kubeflow"]["profiles"][0]["contributors"]
    contributors.append({**contributors[1], "email": contributors[1]["email"].upper(), "role": "edit"})
    code, err, out = render(tmp_path, config)
    assert code == 2 and not out.exists()
    assert "mlplane:kubeflow.profiles[0].contributors[2].email: contributor listed twice (also contributors[1])" in err


# --- names Kubernetes accepts but file systems do not crashed the writer -----------------------

def storage_class(name: str) -> PlanResource:
    return PlanResource(urn=f"urn:pulumi:t::mlplane::kubernetes:storage.k8s.io/v1:StorageClass::{name[:8]}",
                        type="kubernetes:storage.k8s.io/v1:StorageClass", name=name[:8], custom=True, parent=None,
                        provider=None, dependencies=(), inputs={"kind": "StorageClass", "metadata": {"name": name}})


def test_manifest_file_names_fit_the_file_system() -> None:
    long_name = ".".join(["x" * 62] * 4)[:253]
    folder, file = manifest_path(storage_class(long_name)).split("/")
    assert folder == "_cluster" and len(file.encode()) <= MAX_FILE_NAME
    assert file.startswith("StorageClass-xxx") and file.endswith(".yaml")
    # The hash of the full name keeps long names that share a prefix apart.
    assert manifest_path(storage_class(long_name[:-1] + "y")) != manifest_path(storage_class(long_name))
    assert manifest_path(storage_class("short")) == "_cluster/StorageClass-short.yaml"


def test_a_storage_class_with_the_longest_name_renders(tmp_path: Path) -> None:
    name = ".".join(["s" * 62] * 4)[:253]
    config = {"mlplane:cluster": {"kind": "local"},
              "mlplane:storage": {"classes": [{"name": name, "kind": "local-path"}]}}
    code, err, out = render(tmp_path, config)
    assert code == 0, err
    files = list((out / "manifests" / "_cluster").glob("StorageClass-*.yaml"))
    assert [yaml.safe_load(f.read_text())["metadata"]["name"] for f in files] == [name]


# --- an --out that cannot be written ---------------------------------------------------------------

def test_out_that_is_a_file_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "plan-here"
    target.write_text("not a folder")
    code, err, _ = render(tmp_path, {"mlplane:cluster": {"kind": "local"}}, out=target)
    assert code == 2
    assert f"{target}: --out: cannot write the render there" in err
    assert target.read_text() == "not a folder"


def test_plan_json_still_renders_for_a_normal_stack(tmp_path: Path) -> None:
    code, err, out = render(tmp_path, {"mlplane:cluster": {"kind": "local"}})
    assert code == 0, err
    assert json.loads((out / "plan.json").read_text())["stack"] == "t"


# --- two Namespace objects with one name: exit 2 from the manifest writer, without a key path ---

def dev_with(change: Callable[[dict], None]) -> dict:
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    change(config)
    return config


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["mlplane:cluster"].update(workload_namespace="kubeflow"),
     "mlplane:cluster.workload_namespace: the workload namespace would also be Kubeflow's namespace"),
    (lambda c: c["mlplane:cluster"].update(workload_namespace="istio-system"),
     "mlplane:cluster.workload_namespace: the workload namespace would also be a namespace of the platform's add-ons"),
    (lambda c: c["mlplane:cluster"].update(workload_namespace="kubeflow-user-example-com"),
     "mlplane:cluster.workload_namespace: the workload namespace would also be a profile's namespace "
     "(mlplane:kubeflow.profiles[0].name)"),
    (lambda c: c["mlplane:cluster"].update(workload_namespace="kube-system"),
     "mlplane:cluster.workload_namespace: 'kube-system' is one of Kubernetes' own namespaces"),
    (lambda c: c["mlplane:storage"]["artifacts"].update(namespace="mlplane"),
     "mlplane:storage.artifacts.namespace: the in-cluster artifact store's namespace would also be the workload"),
    (lambda c: c["mlplane:kubeflow"]["components"].update(cert_manager={"namespace": "mlplane"}),
     "would also be a namespace of the platform's add-ons (mlplane:kubeflow.components.cert_manager.namespace)"),
])
def test_namespaces_the_plan_creates_have_one_owner(tmp_path: Path, change: Callable[[dict], None],
                                                     message: str) -> None:
    code, err, out = render(tmp_path, dev_with(change))
    assert code == 2 and not out.exists()
    assert message in err, err


def test_profiles_named_like_platform_namespaces_are_reported_once(tmp_path: Path) -> None:
    code, err, _ = render(tmp_path, dev_with(lambda c: c["mlplane:kubeflow"]["profiles"][0].update(name="kubeflow")))
    assert code == 2
    assert err.count("mlplane:kubeflow.profiles[0].name") == 1, err
