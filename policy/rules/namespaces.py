"""Every Namespace mlplane creates enforces a Pod Security level and has a NetworkPolicy.

A stack rule: the NetworkPolicies are other resources. A NetworkPolicy counts for the
namespace it names in ``metadata.namespace``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlplane.policy.rules.base import Resource, StackRule, get, kind_of, object_name

NAME = "namespace-guardrails"
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")


def check(resources: Sequence[Resource]) -> list[tuple[str, str]]:
    """(urn, message) for each Namespace without an enforce label or a NetworkPolicy."""
    guarded = {get(r.props, "metadata", "namespace") for r in resources if kind_of(r.type) == "NetworkPolicy"}
    found: list[tuple[str, str]] = []
    for resource in resources:
        if kind_of(resource.type) != "Namespace" or not resource.type.startswith("kubernetes:core/"):
            continue
        name = object_name(resource.props)
        level = get(resource.props, "metadata", "labels", ENFORCE_LABEL)
        if level not in LEVELS:
            found.append((resource.urn, f"Namespace {name!r}: label {ENFORCE_LABEL} must be one of {list(LEVELS)} "
                                        f"(got {level!r}); use components.namespace.PlatformNamespace"))
        if name not in guarded:
            found.append((resource.urn, f"Namespace {name!r}: has no NetworkPolicy; use "
                                        "components.namespace.PlatformNamespace (default-deny ingress)"))
    return found


RULE = StackRule(
    name=NAME,
    description="Every Namespace enforces a Pod Security level (label) and has at least one NetworkPolicy.",
    check=check,
)
