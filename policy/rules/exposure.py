"""No LoadBalancer or NodePort Service without an explicit opt-in.

mlplane exposes workloads through the Istio ingress gateway (TLS, login), never with its
own LoadBalancer or NodePort Services. A Service that must be reachable from outside the
cluster directly says so, with the reason, in the annotation :data:`EXPOSURE_OPT_IN`
(``mlplane.dev/exposure-opt-in: "<why>"``); the plan then shows the decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlplane.policy.rules.base import ResourceContext, ResourceRule, annotation, get, kind_of

NAME = "no-external-services"
EXPOSURE_OPT_IN = "mlplane.dev/exposure-opt-in"
EXTERNAL_TYPES = frozenset({"LoadBalancer", "NodePort"})


def check(type_: str, props: Mapping[str, Any], context: ResourceContext) -> list[str]:
    """A message when a Service is LoadBalancer or NodePort without the opt-in annotation."""
    if kind_of(type_) != "Service":
        return []
    service_type = get(props, "spec", "type")
    if service_type not in EXTERNAL_TYPES or (annotation(props, EXPOSURE_OPT_IN) or "").strip():
        return []
    return [f"spec.type {service_type} exposes the Service outside the cluster; use the ingress gateway "
            f"(a serving host), or opt in with the annotation {EXPOSURE_OPT_IN}: \"<reason>\""]


RULE = ResourceRule(
    name=NAME,
    description=f"No LoadBalancer or NodePort Service without the annotation {EXPOSURE_OPT_IN}.",
    check=check,
)
