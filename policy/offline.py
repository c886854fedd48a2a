"""Run every rule of the pack over an offline plan (``mlplane render``'s plan.json).

The same rules as ``pulumi preview --policy-pack policy``, without the Pulumi CLI: CI and
the tests use this. Offline the rules see more than the pack does: ``retainOnDelete``
(which the engine does not send to policy packs) is checked too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.policy.registry import RESOURCE_RULES, STACK_RULES
from mlplane.policy.rules.base import Resource, ResourceContext, Violation
from mlplane.policy.scope import in_scope

__all__ = ["Violation", "plan_violations", "plan_entries"]


def _custom(plan: Plan | Mapping[str, Any]) -> list[PlanResource]:
    entries = plan.resources if isinstance(plan, Plan) else [
        PlanResource.from_json(entry) for entry in (plan.get("resources") or [])
    ]
    return [r for r in entries if r.custom]


def plan_entries(plan: Plan | Mapping[str, Any]) -> list[PlanResource]:
    """The plan's custom resources that the rules judge (components and charts' objects are not)."""
    return [r for r in _custom(plan) if in_scope(r.urn)]


def plan_violations(plan: Plan | Mapping[str, Any],
                    config: Mapping[str, Mapping[str, Any]] | None = None) -> list[Violation]:
    """Every violation of every rule in an offline plan.

    Args:
        plan: A :class:`~infra.offline.plan.Plan`, or a plan.json document as a dict.
        config: Policy configuration by policy name, as in ``--policy-pack-config``
            (e.g. ``{"stateful-resources-protected": {"unprotected": ["scratch-*"]}}``).

    Returns:
        The violations: resource rules first (in URN order), then stack rules.
    """
    config = config or {}
    entries = plan_entries(plan)
    found: list[Violation] = []
    # Rules that judge upstream objects too (as the pack runs them) see every custom resource.
    for entry in _custom(plan):
        for rule in RESOURCE_RULES:
            if not rule.judges_upstream and not in_scope(entry.urn):
                continue
            context = ResourceContext(name=entry.name, protect=entry.protect, retain_on_delete=entry.retain_on_delete,
                                      config=config.get(rule.name) or {})
            for message in rule.check(entry.type, entry.inputs, context):
                found.append(Violation(policy=rule.name, urn=entry.urn, message=message))
    resources = [Resource(type=e.type, urn=e.urn, name=e.name, props=e.inputs) for e in entries]
    for stack_rule in STACK_RULES:
        for urn, message in stack_rule.check(resources):
            found.append(Violation(policy=stack_rule.name, urn=urn, message=message))
    return found
