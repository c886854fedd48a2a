"""The plan's objects that a failing admission webhook gates, and whether its server is awaited before them.

Matching is the API server's (:mod:`components.admission`). Every gated object must wait
for the workload behind the webhook's Service, awaited (no ``pulumi.com/skipAwait``),
before the engine creates it; "waits for" is :class:`infra.offline.ancestry.Ancestry`.
:func:`ungated` lists the objects that do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlplane.components import admission
from mlplane.components.admission import Webhook
from mlplane.infra.offline.ancestry import Ancestry
from mlplane.infra.offline.plan import Plan, PlanResource

SKIP_AWAIT = "pulumi.com/skipAwait"


@dataclass(frozen=True)
class Ungated:
    """An object a failing webhook gates that can be created before the webhook's server is ready.

    Attributes:
        object: URN of the gated object.
        webhook: The webhook (``configuration`` indexes :func:`plan_objects`).
        configuration: URN of the webhook's configuration.
        reason: ``no server`` (no workload behind the Service in the plan), ``not awaited``
            (the server skips await) or ``not an ancestor`` (created without waiting for it).
        servers: URNs of the server workloads found.
    """

    object: str
    webhook: Webhook
    configuration: str
    reason: str
    servers: tuple[str, ...]


def plan_objects(plan: Plan) -> list[PlanResource]:
    """The plan's Kubernetes objects, in plan order (the indexes :mod:`components.admission` returns)."""
    return [r for r in plan if r.is_kubernetes_object]


def awaited(resource: PlanResource) -> bool:
    """Whether pulumi-kubernetes awaits the object's readiness (no ``pulumi.com/skipAwait: "true"``)."""
    annotations = (resource.inputs.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(SKIP_AWAIT, "")).lower() != "true"


def gated(plan: Plan) -> list[tuple[PlanResource, Webhook]]:
    """``(object, webhook)`` for every plan object a failing webhook of the plan is called for on create."""
    objects = plan_objects(plan)
    bodies = [r.inputs for r in objects]
    return [(objects[index], hook) for index, hook in admission.gated(bodies, admission.Facts(bodies))]


def ungated(plan: Plan, failure_policy: str = "Fail") -> list[Ungated]:
    """Objects a failing webhook gates that the engine may create before the webhook's server is ready.

    Args:
        failure_policy: ``Fail`` (the object is refused) or ``Ignore`` (it is let through unchecked).
    """
    objects = plan_objects(plan)
    bodies = [r.inputs for r in objects]
    facts = admission.Facts(bodies)
    ancestry = Ancestry(plan)
    found = []
    server_cache: dict[tuple[int, str], list[PlanResource]] = {}
    for index, hook in admission.gated(bodies, facts, failure_policy):
        resource = objects[index]
        key = (hook.configuration, hook.name)
        if key not in server_cache:
            server_cache[key] = [objects[i] for i in admission.servers(hook, bodies, facts)]
        workloads = server_cache[key]
        if not workloads:
            reason = "no server"
        elif not any(awaited(r) for r in workloads):
            reason = "not awaited"
        elif not any(r.urn in ancestry.waits_for(resource.urn) for r in workloads if awaited(r)):
            reason = "not an ancestor"
        else:
            continue
        found.append(Ungated(object=resource.urn, webhook=hook, configuration=objects[hook.configuration].urn,
                             reason=reason, servers=tuple(r.urn for r in workloads)))
    return found
