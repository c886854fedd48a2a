"""The Pulumi policy pack: mlplane's rules as pulumi_policy policies.

Each rule of ``policy.rules`` becomes one policy of the same name. Objects that charts
and kustomize directories render are out of scope (``policy.scope``), as offline.
Every policy is mandatory by default; ``--policy-pack-config`` can lower any of them,
e.g. ``{"all": "advisory"}`` or ``{"images-pinned": "advisory"}``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from mlplane.policy.registry import RESOURCE_RULES, STACK_RULES
from mlplane.policy.rules.base import Resource, ResourceContext, ResourceRule, StackRule
from mlplane.policy.scope import in_scope

PACK_NAME = "mlplane"
ENFORCEMENT = EnforcementLevel.MANDATORY


def resource_policy(rule: ResourceRule) -> ResourceValidationPolicy:
    """One resource rule as a policy that reports each message of its check."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not in_scope(args.urn) and not rule.judges_upstream:
            return
        # The engine does not send retainOnDelete to packs: None means "not seen".
        context = ResourceContext(name=args.name, protect=bool(args.opts.protect), retain_on_delete=None,
                                  config=args.get_config())
        for message in rule.check(args.resource_type, args.props, context):
            report_violation(message, None)

    schema = PolicyConfigSchema(properties=dict(rule.config_schema)) if rule.config_schema else None
    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate,
                                    config_schema=schema)


def stack_policy(rule: StackRule) -> StackValidationPolicy:
    """One stack rule as a policy over every in-scope resource of the stack."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [Resource(type=r.resource_type, urn=r.urn, name=r.name, props=r.props)
                     for r in args.resources if in_scope(r.urn)]
        for urn, message in rule.check(resources):
            report_violation(message, urn or None)

    return StackValidationPolicy(name=rule.name, description=rule.description, validate=validate)


def policies() -> list[Policy]:
    """Every policy of the pack, in the order of ``policy.rules``."""
    made: Sequence[Policy] = [*(resource_policy(r) for r in RESOURCE_RULES), *(stack_policy(r) for r in STACK_RULES)]
    return list(made)


def serve() -> None:
    """Start the pack (what ``pulumi preview --policy-pack policy`` runs; blocks)."""
    from pulumi_policy import PolicyPack

    PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=ENFORCEMENT,
               description="mlplane's promises: Pod Security restricted, requests and limits, pinned images, "
                           "no hostPath, no external Services without opt-in, guarded namespaces, protected data.")
