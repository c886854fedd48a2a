"""The shapes rules share: what a rule sees of a resource, and what it reports.

Rules never import pulumi_policy: they take plain values (a type token, the resource's
properties as a mapping, a :class:`ResourceContext`), so the pack, the offline plan check
and the tests call the very same functions.

Properties may be read-only ``Mapping``/``Sequence`` proxies (the pack wraps them to
raise on values unknown during preview), so rules test for ``Mapping`` and ``Sequence``,
never for ``dict`` or ``list``.
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
class ResourceContext:
    """What a rule may know of a resource beyond its type and properties.

    Attributes:
        name: The resource's logical (Pulumi) name.
        protect: The ``protect`` option.
        retain_on_delete: The ``retainOnDelete`` option, or None where it cannot be seen:
            the Pulumi engine does not send it to policy packs (offline plans have it).
        config: The policy's configuration (``--policy-pack-config``; offline: the
            ``config`` argument of ``plan_violations``), e.g. ``{"unprotected": [...]}``.
    """

    name: str = ""
    protect: bool = False
    retain_on_delete: bool | None = None
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resource:
    """A resource as a stack rule sees it."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]


#: A resource rule: (type token, properties, context) -> messages, one per problem.
ResourceCheck = Callable[[str, Mapping[str, Any], ResourceContext], Iterable[str]]
#: A stack rule: every resource -> (urn or "", message) pairs.
StackCheck = Callable[[Sequence[Resource]], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class ResourceRule:
    """A rule judged one resource at a time.

    Attributes:
        name: The policy's name in the pack (kebab-case, stable: users configure by it).
        description: One sentence: what the rule requires.
        check: The pure check.
        config_schema: JSON Schema properties of the policy's configuration, if any.
        judges_upstream: Whether the pack runs it on the objects of charts and kustomize
            directories too (``policy.scope`` leaves them out of every other rule).
    """

    name: str
    description: str
    check: ResourceCheck
    config_schema: Mapping[str, Any] | None = None
    judges_upstream: bool = False


@dataclass(frozen=True)
class StackRule:
    """A rule that needs every resource of the stack at once."""

    name: str
    description: str
    check: StackCheck


def get(value: Any, *path: str | int) -> Any:
    """``value[path[0]][path[1]]...``, or None where a step is missing or of another shape."""
    for step in path:
        if isinstance(step, int):
            if not is_list(value) or not -len(value) <= step < len(value):
                return None
        elif not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def is_list(value: Any) -> bool:
    """A JSON array (a ``Sequence`` that is not a string)."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def kind_of(type_: str) -> str:
    """The kind in a pulumi-kubernetes type token: ``Job`` for ``kubernetes:batch/v1:Job``."""
    return type_.rsplit(":", 1)[-1] if type_.startswith("kubernetes:") else ""


def group_of(type_: str) -> str:
    """The API group of a pulumi-kubernetes type token (``core`` for the core group)."""
    if not type_.startswith("kubernetes:"):
        return ""
    return type_.split(":")[1].split("/")[0]


def object_name(props: Mapping[str, Any]) -> str:
    """``metadata.name`` of a Kubernetes object's properties, or ``""``."""
    name = get(props, "metadata", "name")
    return name if isinstance(name, str) else ""


def annotation(props: Mapping[str, Any], key: str) -> str | None:
    """One annotation of a Kubernetes object, or None."""
    value = get(props, "metadata", "annotations", key)
    return value if isinstance(value, str) else None
