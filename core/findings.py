"""Findings: problems a check found in a validated config, before anything is built.

A finding names the key path, what is wrong, the value and what is allowed; the stack
config's loader turns findings into the bad-input error (exit 2) that names the stack file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
