"""Run every rule of the pack over an offline plan (``mlplane render``'s plan.json).

This is what tests and CI use: the same rules as ``pulumi preview --policy-pack policy``,
without the Pulumi CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.offline.plan import Plan, PlanResource
from policy.rules import RESOURCE_RULES, STACK_RULES
from policy.rules.base import Resource, ResourceOptions, Violation
from policy.scope import in_scope

__all__ = ["Violation", "plan_violations", "plan_resources"]


def plan_resources(plan: Plan | Mapping[str, Any]) -> list[Resource]:
    """The plan's custom resources as rules see them (components are not judged)."""
    entries = plan.resources if isinstance(plan, Plan) else [
        PlanResource.from_json(entry) for entry in (plan.get("resources") or [])
    ]
    return [
        Resource(type=r.type, urn=r.urn, name=r.name, props=r.inputs,
                 options=ResourceOptions(protect=r.protect, retain_on_delete=r.retain_on_delete))
        for r in entries
        if r.custom
    ]


def plan_violations(plan: Plan | Mapping[str, Any]) -> list[Violation]:
    """Every violation of every rule in an offline plan.

    Args:
        plan: A :class:`~infra.offline.plan.Plan`, or a plan.json document as a dict.

    Returns:
        The violations, resource rules first (in URN order), then stack rules.
    """
    resources = plan_resources(plan)
    found: list[Violation] = []
    for resource in resources:
        if not in_scope(resource.urn):
            continue
        for rule in RESOURCE_RULES:
            for message in rule.check(resource.type, resource.props, resource.options):
                found.append(Violation(policy=rule.name, urn=resource.urn, message=message))
    judged = [r for r in resources if in_scope(r.urn)]
    for rule in STACK_RULES:
        for urn, message in rule.check(judged):
            found.append(Violation(policy=rule.name, urn=urn, message=message))
    return found
