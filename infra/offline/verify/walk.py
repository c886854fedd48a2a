"""The walk: every Kubernetes object of the plan applied in dependency order, as the engine runs it.

The engine starts a resource once everything it waits for is done
(:class:`mlplane.infra.offline.ancestry.Ancestry`: its dependencies, the descendants of a
component it depends on, and what its parent chain waits for); the
provider retries a NotFound or NoMatch create up to five times, waiting 1 s, 2 s, 4 s, 8 s,
16 s (:mod:`.apply`), while other resources go on. The walk does the same in one thread: ready
objects first, and a retry when its time has come. A resource whose ancestor failed is not
attempted, as ``pulumi up --continue-on-error`` skips the dependents of a failed resource.

Deployments, StatefulSets, DaemonSets and Jobs are awaited by the provider until ready
(provider/pkg/await/awaiters.go); no pod runs here, so the walk counts a stored object as done
and says so (a harness limit). Webhook configurations are held back (:mod:`.harness`; the objects they match are judged by :mod:`mlplane.infra.offline.webhooks`).
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from mlplane.infra.offline.ancestry import Ancestry
from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.infra.offline.verify.apply import BACKOFF, FIRST_WAIT, MAX_RETRIES, Outcome, apply_once
from mlplane.infra.offline.verify.changes import Change
from mlplane.infra.offline.verify.client import Kube
from mlplane.infra.offline.verify.fill import fill


@dataclass
class WalkResult:
    """What the walk did to each object.

    Attributes:
        applied: URN -> the object as sent (placeholders filled).
        refused: URN -> the final refusal.
        skipped: URN -> the failed ancestor that kept it from being attempted.
        outcomes: URN -> its last outcome (warnings, strict-validation refusals).
        retries: URN -> how many times the provider's retry rule re-sent it.
        changes: The allow-listed changes made on the way (secrets filled).
    """

    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: dict[str, Outcome] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)


def objects_of(plan: Plan) -> list[PlanResource]:
    """The Kubernetes objects and patches the walk applies (not charts, providers, cloud resources)."""
    return [r for r in plan if r.custom and r.type.startswith("kubernetes:") and "/" in r.type]


def walk(kube: Kube, ancestry: Ancestry, objects: list[PlanResource], held_back: set[str],
         sleep: Any = time.sleep, step: Any = None) -> WalkResult:
    """Apply ``objects`` (plan resources) in the engine's order; ``held_back`` URNs count as done unapplied.

    Args:
        step: ``(resource, filled object) -> Outcome`` instead of a create (an upgrade's update).
    """
    result = WalkResult()
    wanted = {r.urn for r in objects}
    waiting = {r.urn: set(ancestry.waits_for(r.urn)) & wanted for r in objects}
    dependents: dict[str, set[str]] = defaultdict(set)
    for urn, deps in waiting.items():
        for dep in deps:
            dependents[dep].add(urn)
    by_urn = {r.urn: r for r in objects}
    ready = sorted(urn for urn, deps in waiting.items() if not deps)
    retry: list[tuple[float, str, int]] = []

    def finish(urn: str, failed_by: str | None) -> None:
        for child in sorted(dependents.get(urn, ())):
            if failed_by is not None and child not in result.skipped:
                result.skipped[child] = failed_by
            waiting[child].discard(urn)
            if not waiting[child]:
                if child in result.skipped:
                    finish(child, result.skipped[child])
                else:
                    ready.append(child)

    while ready or retry:
        if ready and not (retry and retry[0][0] <= time.monotonic()):
            urn, attempt = ready.pop(0), 0
        else:
            due, urn, attempt = heapq.heappop(retry)
            sleep(max(0.0, due - time.monotonic()))
        resource = by_urn[urn]
        if urn in held_back:
            finish(urn, None)
            continue
        obj, filled = fill(resource.inputs, resource.name)
        if attempt == 0:
            result.changes.extend(filled)
        outcome = step(resource, obj) if step is not None else apply_once(kube, urn, resource.type, obj)
        result.outcomes[urn] = outcome
        if outcome.ok:
            result.applied[urn] = obj
            finish(urn, None)
        elif outcome.retry and attempt < MAX_RETRIES:
            result.retries[urn] = attempt + 1
            heapq.heappush(retry, (time.monotonic() + FIRST_WAIT * BACKOFF ** attempt, urn, attempt + 1))
        else:
            result.refused[urn] = outcome
            finish(urn, urn)
    for urn, deps in waiting.items():  # a dependency cycle: the engine would never start these
        if deps and urn not in result.skipped:
            result.skipped[urn] = "a dependency cycle: " + ", ".join(sorted(d.rsplit("::", 1)[-1] for d in deps))
    return result
