"""A pool's minimum and maximum change in place on every cloud: never a replaced pool, never drained nodes.

Each scaling field of each backend's first pool is changed in the repository's stack
file (its cluster and accelerators sections) and the two renders are diffed: the pool
resource updates, nothing is replaced. GKE's ``initialNodeCount``, which only matters at
creation and forces recreation (pulumi-gcp ``container.NodePool``), is ignored after
creation and counts nodes per zone: a regional pool starts with at least ``min_nodes``
in total. Karpenter keeps no minimum on EKS (the stack refuses one), so its maximum,
the NodePool's ``limits``, is the one scaling field there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.components.accelerators.gke import initial_node_count
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.render import render_config

from .conftest import ROOT

#: The pool resource of each backend (Karpenter's NodePool on EKS).
POOL_TYPES = {"gke": "gcp:container/nodePool:NodePool", "aks": "azure-native:containerservice:AgentPool",
              "eks": "kubernetes:karpenter.sh/v1:NodePool"}


def _render(tmp_path: Path, stack: str, change: Any = None) -> Plan:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    config = {key: document["config"][key] for key in ("mlplane:cluster", "mlplane:accelerators")}
    if change is not None:
        change(config["mlplane:accelerators"]["pools"][0])
    folder = tmp_path / ("changed" if change else "base")
    folder.mkdir(exist_ok=True)
    path = folder / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return render_config(load_stack_file(path))


def _set(field: str, value: int) -> Any:
    def change(pool: dict[str, Any]) -> None:
        pool[field] = value
    return change


@pytest.mark.parametrize(("stack", "field", "value", "path"), [
    ("gke", "min_nodes", 2, "autoscaling.totalMinNodeCount"),
    ("gke", "max_nodes", 9, "autoscaling.totalMaxNodeCount"),
    ("aks", "min_nodes", 2, "minCount"),
    ("aks", "max_nodes", 9, "maxCount"),
    ("eks", "max_nodes", 9, 'spec.limits["nvidia.com/gpu"]'),
])
def test_each_scaling_field_updates_the_pool_in_place(tmp_path: Path, stack: str, field: str, value: int,
                                                      path: str) -> None:
    diff = diff_plans(_render(tmp_path, stack), _render(tmp_path, stack, _set(field, value)))
    pools = [c for c in diff.changes if c.type == POOL_TYPES[stack]]
    assert [(c.op, c.paths) for c in pools] == [("update", (path,))], [c.reason for c in pools]
    assert not any(c.op in ("replace", "delete") for c in diff.changes)
    assert not diff.has_danger


def test_eks_keeps_no_minimum(tmp_path: Path) -> None:
    from mlplane.core.errors import InputError

    with pytest.raises(InputError, match="min_nodes"):
        _render(tmp_path, "eks", _set("min_nodes", 1))


def test_gke_initial_node_count_counts_per_zone(tmp_path: Path) -> None:
    # europe-west4 is a region: three zones, so 4 nodes in total start as 2 per zone.
    assert [initial_node_count(n, "europe-west4") for n in (0, 1, 3, 4, 7)] == [0, 1, 1, 2, 3]
    assert [initial_node_count(n, "europe-west4-a") for n in (0, 1, 4)] == [0, 1, 4]
    plan = _render(tmp_path, "gke", _set("min_nodes", 4))
    pool = next(r for r in plan.of_type(POOL_TYPES["gke"]) if "l4-mps" in r.name)  # the first pool of the file
    assert pool.inputs["initialNodeCount"] == 2 and pool.inputs["autoscaling"]["totalMinNodeCount"] == 4
    assert list(pool.ignore_changes) == ["initialNodeCount"]
