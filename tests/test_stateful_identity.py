"""Every stateful resource of every stack keeps its identity across code changes.

``tests/data/stateful/<stack>.json`` records, for each resource that holds data (or is
protected), its URN and the name it has on the cluster or cloud. A refactoring that
renames or moves such a resource without an alias, or changes its physical name, would
make ``pulumi up`` delete it and create a new one; this test fails first, naming it.

A deliberate change (a new volume, a removed one) is recorded by running
``MLPLANE_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_stateful_identity.py`` and
reviewing the snapshot's diff with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mlplane.infra.offline.kinds import is_stateful_type
from mlplane.infra.offline.plan import Plan

from .conftest import STACKS, rendered

SNAPSHOTS = Path(__file__).resolve().parent / "data" / "stateful"
UPDATE = os.environ.get("MLPLANE_UPDATE_SNAPSHOTS") == "1"


def physical_name(inputs: dict[str, Any]) -> str | None:
    """The name the resource has outside Pulumi: ``namespace/name`` for Kubernetes objects."""
    metadata = inputs.get("metadata")
    if isinstance(metadata, dict) and metadata.get("name"):
        return "/".join(str(part) for part in (metadata.get("namespace"), metadata["name"]) if part)
    for key in ("name", "bucket", "accountName", "containerName"):
        if isinstance(inputs.get(key), str):
            return inputs[key]
    return None


def identities(plan: Plan) -> dict[str, dict[str, Any]]:
    """The stateful or protected resources of ``plan``, by URN."""
    return {
        r.urn: {"type": r.type, "physical": physical_name(r.inputs), "protect": r.protect}
        for r in plan
        if is_stateful_type(r.type) or r.protect or r.retain_on_delete
    }


@pytest.mark.parametrize("stack", STACKS)
def test_stateful_resources_keep_their_identity(stack: str) -> None:
    plan = rendered(stack)
    now = identities(plan)
    snapshot = SNAPSHOTS / f"{stack}.json"
    if UPDATE:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    assert snapshot.exists(), f"no snapshot for stack {stack}: run with MLPLANE_UPDATE_SNAPSHOTS=1"
    recorded: dict[str, dict[str, Any]] = json.loads(snapshot.read_text())
    by_alias = {alias: r.urn for r in plan for alias in r.aliases}

    lost = []
    for urn, before in recorded.items():
        current = urn if urn in now else by_alias.get(urn)
        if current is None or current not in now:
            lost.append(f"{urn}: no longer in the plan (renamed or moved without an alias?)")
        elif now[current]["physical"] != before["physical"]:
            lost.append(f"{urn}: its name changes from {before['physical']!r} to {now[current]['physical']!r}, "
                        "which replaces it")
        elif before["protect"] and not now[current]["protect"]:
            lost.append(f"{urn}: is no longer protected")
    assert not lost, "stateful resources would be lost:\n" + "\n".join(lost)

    kept = {by_alias.get(urn, urn) for urn in recorded}
    new = sorted(set(now) - kept)
    assert not new, ("new stateful resources; record them (MLPLANE_UPDATE_SNAPSHOTS=1) so later changes "
                     "are checked against them:\n" + "\n".join(new))
