"""The shapes rules share: what a rule sees of a resource, and what it reports.

Rules never import pulumi_policy: they take plain values, so the pack, the offline plan
check and the tests call the very same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One broken promise.

    Attributes:
        policy: The policy's name (as in the pack, e.g. ``pod-security-restricted``).
        urn: The resource's URN, or ``""`` for the stack as a whole.
        message: What is wrong and how to fix it.
    """

    policy: str
    urn: str
    message: str


@dataclass(frozen=True)
class ResourceOptions:
    """The resource options rules look at.

    Attributes:
        protect: The ``protect`` option.
        retain_on_delete: The ``retainOnDelete`` option, or None where it cannot be seen
            (the Pulumi policy SDK does not pass it to packs).
    """

    protect: bool = False
    retain_on_delete: bool | None = None


@dataclass(frozen=True)
class Resource:
    """A resource as a stack rule sees it."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    options: ResourceOptions = field(default_factory=ResourceOptions)


#: A resource rule: (type, props, options) -> messages, one per problem.
ResourceCheck = Callable[[str, Mapping[str, Any], ResourceOptions], Iterable[str]]
#: A stack rule: all resources -> (urn or "", message) pairs.
StackCheck = Callable[[Sequence[Resource]], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class ResourceRule:
    """A rule judged one resource at a time."""

    name: str
    description: str
    check: ResourceCheck


@dataclass(frozen=True)
class StackRule:
    """A rule that needs every resource of the stack at once."""

    name: str
    description: str
    check: StackCheck
