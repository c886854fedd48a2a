"""What can go wrong expanding a source, in terms a stack file's author can act on."""

from __future__ import annotations


class ExpansionError(Exception):
    """A chart or directory could not be expanded because of what the plan asks of it.

    Attributes:
        resource: The chart's or directory's Pulumi name.
        key: The input at fault (``version``, ``values.image.tag``, ``directory``).
        value: The value received (never a secret: values are masked in the plan).
        problem: What is wrong.
        allowed: What would be accepted.
    """

    def __init__(self, resource: str, key: str, value: object, problem: str, allowed: str) -> None:
        super().__init__(f"{resource}.{key}: {problem}")
        self.resource, self.key, self.value, self.problem, self.allowed = resource, key, value, problem, allowed


class SourceFailure(RuntimeError):
    """A source that is present failed to build or render (a broken source, not bad input)."""


class EngineMissing(LookupError):
    """Helm's SDK or kubectl is not installed, so sources cannot be expanded here."""
