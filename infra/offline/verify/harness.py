"""One verify cycle: a fresh control plane, the nodes, the walk, the settle wait, the report.

Each cycle starts its own control plane in its own state folder (a temporary directory,
removed afterwards) and always stops it (:class:`.controlplane.ControlPlane`). Starting one
takes about 5 s on the project's machine, so the harness never reuses a cluster between
stacks: nothing one stack left can change the next stack's verdict.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.verify.binaries import Binaries
from mlplane.infra.offline.verify.changes import Change
from mlplane.infra.offline.verify.client import Kube
from mlplane.infra.offline.verify.controlplane import ControlPlane
from mlplane.infra.offline.verify.crds import crd_problems
from mlplane.infra.offline.verify.inspect import read_state, settle
from mlplane.infra.offline.verify.nodes import NodeSpec, create_nodes, declared_nodes
from mlplane.infra.offline.verify.order import Graph
from mlplane.infra.offline.verify.report import Problem, Report, attribute, problem
from mlplane.infra.offline.verify.walk import walk
from mlplane.infra.offline.verify.webhooks import gated_objects, is_webhook_configuration


def builtin_groups(kube: Kube) -> set[str]:
    """The API groups a fresh API server serves (anything else is a custom resource's)."""
    return {g["name"] for g in kube.get("/apis").get("groups") or []}


def cycle(kube: Kube, plan: Plan, nodes: list[NodeSpec], full: bool, stack: str, version: str) -> Report:
    """Apply ``plan`` to the running control plane ``kube`` and judge it.

    Args:
        kube: The admin client of a fresh control plane.
        plan: The expanded plan (``render --sources``).
        nodes: The nodes to create first (:func:`.nodes.declared_nodes`).
        full: Whether the controller manager and scheduler run (else admission only).
        stack: The stack's name, for the report.
        version: The API server's version.
    """
    seconds: dict[str, float] = {}
    start = time.monotonic()
    builtin = builtin_groups(kube)
    changes: list[Change] = create_nodes(kube, nodes)
    graph = Graph(plan)
    objects = graph.objects()
    held = {r.urn for r in objects if is_webhook_configuration(r)}
    changes += [Change("webhook-held-back", plan.by_urn()[u].name,
                       f"{plan.by_urn()[u].inputs['kind']} not applied") for u in sorted(held)]
    result = walk(kube, graph, objects, held)
    changes = result.changes + changes
    seconds["apply"] = time.monotonic() - start
    problems: list[Problem] = [problem("refused", u.rsplit("::", 1)[-1], o.error) for u, o in result.refused.items()]
    pods = placed = 0
    placement: dict[str, int] = {}
    if full:
        seconds["settle"] = settle(kube)
        begin = time.monotonic()
        state = read_state(kube, {n.name: n.pool for n in nodes})
        problems += [problem("cannot-create-pods", key, message)
                     for key, messages in sorted(state.cannot_create.items()) for message in messages]
        problems += [problem("unbound-claims", key, m) for key, m in sorted(state.unbound_claims.items())]
        problems += [Problem("unscheduled", key, m, limit or attribute(m))
                     for key, (m, limit) in sorted(state.unscheduled.items())]
        problems += [problem("misplaced", key, m) for key, m in sorted(state.misplaced.items())]
        pods, placement = state.pods, state.placed
        placed = sum(placement.values())
        seconds["inspect"] = time.monotonic() - begin
    begin = time.monotonic()
    problems += [problem("crd-not-ancestor", *line.split(": ", 1)) for line in crd_problems(graph, objects, builtin)]
    labels = _namespace_labels(kube)
    gated = gated_objects(graph, objects, kube.mapping, labels)
    # failurePolicy Fail refuses the object; Ignore lets it through unvalidated or unmutated: a warning.
    problems += [problem("webhook-not-awaited", g.urn.rsplit("::", 1)[-1], g.text().split(": ", 1)[1])
                 for g in gated if g.failure_policy != "Ignore"]
    seconds["graph"] = time.monotonic() - begin
    warnings = [(g.urn.rsplit("::", 1)[-1], "admitted unchecked if it comes first: " + g.text().split(": ", 1)[1])
                for g in gated if g.failure_policy == "Ignore"]
    for urn, outcome in sorted(result.outcomes.items()):
        name = urn.rsplit("::", 1)[-1]
        warnings += [(name, w) for w in outcome.warnings]
        if outcome.strict:
            warnings.append((name, f"strict field validation would refuse it: {outcome.strict}"))
    counts = {"objects": len(objects), "applied": len(result.applied), "refused": len(result.refused),
              "notAttempted": len(result.skipped), "heldBack": len(held), "retried": len(result.retries),
              "pods": pods, "placed": placed, "nodes": len(nodes)}
    return Report(stack=stack, mode="full cycle" if full else "admission only", version=version, counts=counts,
                  problems=problems, skipped=result.skipped, warnings=warnings, changes=changes,
                  placed=placement, seconds=seconds)


def _namespace_labels(kube: Kube) -> dict[str, dict[str, str]]:
    return {ns["metadata"]["name"]: ns["metadata"].get("labels") or {} for ns in kube.items("v1", "Namespace")}


def verify(plan: Plan, binaries: Binaries, kind: str, pools: list[Any], admission_only: bool = False,
           state_parent: Path | None = None) -> Report:
    """A whole cycle on a control plane of its own, started and always stopped here.

    Raises:
        HarnessError: The control plane did not come up (exit 3).
        NotIsolated: The network namespace has interfaces besides loopback.
    """
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mlplane-verify-", dir=state_parent) as state:
        with ControlPlane(binaries, Path(state), admission_only=admission_only) as plane:
            started = time.monotonic() - start
            kube = Kube(plane.kubeconfig)
            try:
                report = cycle(kube, plan, declared_nodes(kind, pools, plan), plane.full, plan.stack,
                               binaries.version)
            finally:
                kube.close()
    report.seconds = {"start": started, **report.seconds}
    return report
