"""The plan file (``plan.json``, version 1): what a render recorded, and how it is stored.

Resources are sorted by URN and keys are sorted, so that two renders of the same input
are byte-identical and a plan can be committed, compared and reviewed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mlplane.core.errors import input_error

PLAN_VERSION = 1
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class PlanResource:
    """One registration: a resource or component with every option that shapes its fate.

    Attributes mirror the plan.json contract (camelCase keys there).
    """

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    replace_on_changes: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The resource as a plan.json entry."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "dependencies": list(self.dependencies),
            "inputs": self.inputs,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "deleteBeforeReplace": self.delete_before_replace,
            "replaceOnChanges": list(self.replace_on_changes),
            "ignoreChanges": list(self.ignore_changes),
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PlanResource":
        """Read a plan.json entry (raises KeyError/TypeError on a malformed one)."""
        return cls(
            urn=str(data["urn"]),
            type=str(data["type"]),
            name=str(data["name"]),
            custom=bool(data["custom"]),
            parent=data.get("parent"),
            provider=data.get("provider"),
            dependencies=tuple(data.get("dependencies", ())),
            inputs=dict(data.get("inputs") or {}),
            protect=bool(data.get("protect", False)),
            retain_on_delete=bool(data.get("retainOnDelete", False)),
            delete_before_replace=bool(data.get("deleteBeforeReplace", False)),
            replace_on_changes=tuple(data.get("replaceOnChanges", ())),
            ignore_changes=tuple(data.get("ignoreChanges", ())),
            aliases=tuple(data.get("aliases", ())),
        )

    @property
    def is_kubernetes_object(self) -> bool:
        """Whether this is a Kubernetes object (as opposed to a chart, provider, ...)."""
        from mlplane.infra.offline.kinds import is_kubernetes_object_type

        return self.custom and is_kubernetes_object_type(self.type)


@dataclass(frozen=True)
class Plan:
    """A whole render: project, stack and resources sorted by URN."""

    project: str
    stack: str
    resources: tuple[PlanResource, ...] = field(default_factory=tuple)
    #: The resource transforms each resource registered, by URN: the very functions the
    #: engine would run (in this process only; never in plan.json). The expansion runs
    #: them on a chart's or directory's children, as the engine does.
    transforms: Mapping[str, tuple[Any, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.resources, key=lambda r: r.urn))
        object.__setattr__(self, "resources", ordered)

    def __iter__(self) -> Iterator[PlanResource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def by_urn(self) -> dict[str, PlanResource]:
        """Resources keyed by URN."""
        return {r.urn: r for r in self.resources}

    def children(self) -> dict[str | None, list[PlanResource]]:
        """Each resource's direct children, keyed by the parent's URN (None: no parent)."""
        found: dict[str | None, list[PlanResource]] = {}
        for resource in self.resources:
            found.setdefault(resource.parent, []).append(resource)
        return found

    def of_type(self, type_: str) -> list[PlanResource]:
        """Resources of one type token, e.g. ``kubernetes:batch/v1:Job``."""
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> PlanResource:
        """The one resource with this logical name (KeyError if none or several)."""
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}")
        return found[0]

    def to_json_text(self) -> str:
        """The plan.json text: sorted keys, two-space indent, trailing newline."""
        document = {
            "version": PLAN_VERSION,
            "project": self.project,
            "stack": self.stack,
            "resources": [r.to_json() for r in self.resources],
        }
        return json_text(document)


def descendants(urn: str, children: Mapping[str | None, list[PlanResource]]) -> list[PlanResource]:
    """Every resource below ``urn`` in a parent -> children map (:meth:`Plan.children`)."""
    found, stack = [], list(children.get(urn, []))
    while stack:
        resource = stack.pop()
        found.append(resource)
        stack.extend(children.get(resource.urn, []))
    return found


def json_text(document: Any) -> str:
    """``document`` as sorted, two-space-indented JSON with a trailing newline.

    orjson (a C encoder) writes the text of ``json.dumps(sort_keys=True, indent=2,
    ensure_ascii=False)`` about twenty times faster (only some floats are spelled
    otherwise: ``0.00006`` for ``6e-05``, the same value); Python's own encoder falls back
    to pure Python whenever ``indent`` is set, and writing plan.json was the largest share
    of an expanded render (docs/performance.md). tests/test_plan_json.py checks both.
    """
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def plan_from_json_text(text: str, file: str) -> Plan:
    """Parse plan.json text.

    Args:
        text: The file's content.
        file: The file name, for messages.

    Returns:
        The plan.

    Raises:
        InputError: Not JSON, not version 1, or malformed entries.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise input_error(file, "", f"not a plan file: invalid JSON at line {exc.lineno}", has_value=False,
                          allowed="a plan.json written by `mlplane render`") from None
    if not isinstance(document, dict):
        raise input_error(file, "", "not a plan file", value=type(document).__name__, allowed="a JSON object")
    version = document.get("version")
    if version != PLAN_VERSION:
        raise input_error(file, "version", "unsupported plan version", value=version, allowed=str(PLAN_VERSION))
    resources = []
    for index, entry in enumerate(document.get("resources") or []):
        try:
            resources.append(PlanResource.from_json(entry))
        except (KeyError, TypeError, AttributeError) as exc:
            raise input_error(file, f"resources[{index}]", f"malformed resource entry ({exc})",
                              has_value=False) from None
    return Plan(project=str(document.get("project", "")), stack=str(document.get("stack", "")),
                resources=tuple(resources))


def load_plan(path: Path) -> Plan:
    """Read a plan.json file (or a render folder that holds one)."""
    target = path / "plan.json" if path.is_dir() else path
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise input_error(str(path), "", "no such plan file", has_value=False,
                          allowed="a plan.json written by `mlplane render`, or its folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise input_error(str(path), "", f"cannot read the plan file ({exc})", has_value=False) from None
    return plan_from_json_text(text, str(target))
