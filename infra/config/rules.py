"""Rules that span sections of the stack config, checked before anything is built.

A section validates its own keys; a rule here checks how sections fit together (KServe
needs Knative in serverless mode, pipelines need an artifact store, ...). Each rule is a
pure function from the config to findings; :func:`cross_check` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

_MISSING = object()


@dataclass(frozen=True)
class Finding:
    """One problem a cross-section rule found.

    Attributes:
        path: Key path from the stack file's config map, e.g.
            ``("mlplane:kubeflow", "components", "kserve", "enabled")``.
        message: What is wrong.
        value: The offending value (omit when there is none).
        allowed: What would be accepted.
    """

    path: tuple[Any, ...]
    message: str
    value: Any = _MISSING
    allowed: str | None = None

    @property
    def has_value(self) -> bool:
        """Whether a value was given."""
        return self.value is not _MISSING


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
