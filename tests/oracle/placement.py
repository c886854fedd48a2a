"""The one deliberate difference in placement: ``gcp.use_preemptible_nodepool``.

KFP 1.8.22 (kfp/gcp.py) gives the step the toleration ``preemptible=true:NoSchedule``
and a node affinity for ``cloud.google.com/gke-preemptible In [true]`` (preferred, weight
50, or required with ``hard_constraint``). mlplane places the step's accelerators on a
spot pool of the stack instead (pipelines/kfp_v1/api/gcp.py says why). Both sides are
brought to one field, ``placement``: ``"spot"`` where KFP put exactly its toleration and
affinity term (they are then taken out of the comparison) and where mlplane's step asks
for a pool that is spot; ``None`` elsewhere. Everything else is compared as is.
"""

from __future__ import annotations

import json
from typing import Any

from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec
from tests.oracle.kfp_oracle import mlplane_steps, oracle_steps

#: What kfp/gcp.py ``use_preemptible_nodepool`` adds by default (KFP 1.8.22).
KFP_TOLERATION = json.dumps({"effect": "NoSchedule", "key": "preemptible", "operator": "Equal", "value": "true"},
                            sort_keys=True)
KFP_TERM = {"matchExpressions": [{"key": "cloud.google.com/gke-preemptible", "operator": "In", "values": ["true"]}]}


def _terms(template: dict[str, Any]) -> list[Any]:
    affinity = (template.get("affinity") or {}).get("nodeAffinity") or {}
    preferred = [p["preference"] for p in affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []
                 if p.get("weight") == 50]
    required = (affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    return preferred + required


def oracle_placed(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """KFP's steps with its preemptible toleration and affinity as ``placement: spot``."""
    steps = oracle_steps(workflow)
    templates = {t["name"]: t for t in workflow["spec"]["templates"]}
    for name, step in steps.items():
        spot = KFP_TERM in _terms(templates[name])
        if spot:
            assert KFP_TOLERATION in step["tolerations"], f"{name}: KFP's affinity without its toleration"
            step["tolerations"] = [t for t in step["tolerations"] if t != KFP_TOLERATION]
        step["placement"] = "spot" if spot else None
    return steps


def mlplane_placed(spec: PipelineSpec, pools: tuple[Any, ...]) -> dict[str, dict[str, Any]]:
    """mlplane's steps with ``placement: spot`` where a step's accelerators come from a spot pool."""
    spot = {pool.name for pool in pools if pool.spot}
    steps = mlplane_steps(spec)
    for step in spec.steps:
        if isinstance(step, ContainerStepSpec):
            pool = step.accelerator.pool if step.accelerator is not None else None
            steps[step.name]["placement"] = "spot" if pool in spot else None
    return steps
