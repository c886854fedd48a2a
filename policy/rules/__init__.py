"""Every rule of the pack, in the order the pack lists them."""

from __future__ import annotations

from policy.rules.base import ResourceRule, StackRule

RESOURCE_RULES: tuple[ResourceRule, ...] = ()
STACK_RULES: tuple[StackRule, ...] = ()
