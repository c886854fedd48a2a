"""Every rule of the pack, in the order the pack lists them."""

from __future__ import annotations

from mlplane.policy.rules import credentials, exposure, host_path, images, namespaces, pod_security, resources, stateful
from mlplane.policy.rules.base import ResourceRule, StackRule

RESOURCE_RULES: tuple[ResourceRule, ...] = (
    pod_security.RULE,
    resources.RULE,
    images.RULE,
    host_path.RULE,
    exposure.RULE,
    stateful.RULE,
    credentials.RULE,
)
STACK_RULES: tuple[StackRule, ...] = (namespaces.RULE,)
ALL_RULES: tuple[ResourceRule | StackRule, ...] = (*RESOURCE_RULES, *STACK_RULES)
