"""Rules that span sections of the stack config, checked before anything is built.

A section validates its own keys; a rule here checks how sections fit together (KServe
needs Knative in serverless mode, pipelines need an artifact store, ...). Each rule is a
pure function from the config to findings; :func:`cross_check` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from mlplane.core.findings import Finding

__all__ = ["Finding", "RULES", "Rule", "cross_check", "rule"]

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

Rule = Callable[["StackConfig"], Iterable[Finding]]

#: Every cross-section rule. Add a rule by appending a function here.
RULES: list[Rule] = []


def rule(function: Rule) -> Rule:
    """Register a cross-section rule (decorator)."""
    RULES.append(function)
    return function


def cross_check(config: "StackConfig") -> list[Finding]:
    """Run every registered rule over ``config``."""
    return [finding for check in RULES for finding in check(config)]
