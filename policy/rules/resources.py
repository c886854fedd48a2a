"""Requests and limits on every container, init containers included.

"Requests and limits" means what ``components.pod_security.ComputeResources`` always
renders: ``requests.cpu``, ``requests.memory``, ``limits.cpu`` and ``limits.memory``, each
set, and no request above its limit. (Requests make scheduling honest; the memory limit
bounds the blast radius of a leak; the CPU limit keeps a noisy step from starving its
node's neighbours.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlplane.policy.rules.base import ResourceContext, ResourceRule, get
from mlplane.policy.rules.pods import containers

NAME = "resources-requests-limits"
_REQUIRED = (("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory"))


def _quantity(value: Any) -> Any:
    from mlplane.components.quantity import parse_quantity

    try:
        return parse_quantity(str(value))
    except (ValueError, ArithmeticError):
        return None


def check(type_: str, props: Mapping[str, Any], context: ResourceContext) -> list[str]:
    """Messages for each container that lacks a CPU/memory request or limit."""
    found: list[str] = []
    for container in containers(type_, props):
        resources = container.body.get("resources")
        missing = [f"{a}.{b}" for a, b in _REQUIRED if get(resources, a, b) in (None, "")]
        where = f"{container.path} ({container.name!r})"
        if missing:
            found.append(f"{where}: resources must set {', '.join(missing)}")
            continue
        for resource in ("cpu", "memory"):
            request, limit = _quantity(get(resources, "requests", resource)), _quantity(get(resources, "limits", resource))
            if request is not None and limit is not None and request > limit:
                found.append(f"{where}: requests.{resource} exceeds limits.{resource}")
    return found


RULE = ResourceRule(
    name=NAME,
    description="Every container (init containers too) sets CPU and memory requests and limits.",
    check=check,
)
