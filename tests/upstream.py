"""Rendering the pinned upstream charts the way the plan records them (tests only).

The charts come from ``../shared/upstream/charts`` (see its MANIFEST.json); tests that
need them skip where that folder is absent. Rendering is Helm's own Go SDK
(``helm_python``), with exactly the values a plan records for the chart.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT

#: ``../shared`` beside the repository (MLPLANE_SHARED points elsewhere, e.g. from a worktree).
SHARED = Path(os.environ.get("MLPLANE_SHARED") or ROOT.parent / "shared")
CHARTS = SHARED / "upstream" / "charts"


def chart_dir(name: str) -> Path:
    """The pinned chart folder (``cni-1.17.3``), or skip the test where it is absent."""
    path = CHARTS / name
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
