"""Paths into resource inputs, and patterns over them (``spec.containers[*].image``)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mlplane.infra.config.paths import format_path

Path = tuple[Any, ...]
WILDCARD = "*"

#: Lists whose items are compared by their ``name``, so inserting one does not "change" all
#: after it: those Kubernetes merges by name (strategic merge patch keys), and an Argo
#: Workflow's (argoproj/argo-workflows ``pkg/apis/workflow/v1alpha1/workflow_types.go``:
#: templates, DAG tasks, parameters and artifacts are named, and referred to by name).
NAMED_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers", "env", "volumes",
                         "templates", "tasks", "parameters", "artifacts", "volumeClaimTemplates"})


@dataclass(frozen=True)
class Named:
    """A step into a list item found by its ``name`` (shown ``containers[name=main]``).

    ``index`` is the item's position (in the new list; in the old one for a removed
    item), so index patterns such as ``containers[0].image`` still match it.
    """

    name: str
    index: int

    def __str__(self) -> str:
        return f"name={self.name}"


@dataclass(frozen=True)
class Parsed:
    """A step into a string that holds a JSON or YAML document (shown ``podSpecPatch<json>``).

    A Workflow's ``podSpecPatch`` is JSON in a string, a ConfigMap's value often YAML:
    diffed as text, one changed field reads as a changed blob; parsed, it reads as a path.
    """

    kind: str

    def __str__(self) -> str:
        return f"<{self.kind}>"


def parsed(text: Any) -> tuple[str, Any] | None:
    """``("json" | "yaml", document)`` for a string holding a JSON or multi-line YAML mapping
    or list, else None (plain strings, scalars, text that does not parse)."""
    if not isinstance(text, str) or not text.strip():
        return None
    stripped = text.strip()
    if stripped[0] in "{[":
        try:
            document = json.loads(stripped)
        except ValueError:
            document = None
        if isinstance(document, dict | list):
            return "json", document
    if "\n" in stripped and ":" in stripped:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
        if isinstance(document, dict | list) and document:
            return "yaml", document
    return None


_TOKEN = re.compile(r'\.?([^.\[\]]+)|\[(\d+|\*|"[^"]*"|\'[^\']*\')\]')


def parse_pattern(text: str) -> Path:
    """Parse ``a.b[0].c``, ``a[*].b`` or ``metadata.labels["x.y/z"]`` into path parts.

    Raises:
        ValueError: The text is not a path.
    """
    parts: list[Any] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"not a property path: {text!r}")
        key, bracket = match.groups()
        if key is not None:
            parts.append(key)
        elif bracket == WILDCARD:
            parts.append(WILDCARD)
        elif bracket.isdigit():
            parts.append(int(bracket))
        else:
            parts.append(bracket[1:-1])
        position = match.end()
    return tuple(parts)


def _step_matches(pattern: Any, step: Any) -> bool:
    if isinstance(step, Parsed):
        return True  # inside the same string: a pattern of the string matches what it holds
    if isinstance(step, Named):
        return pattern == WILDCARD or pattern == step.index or pattern == step.name
    return pattern == WILDCARD or pattern == step


def touches(change: Path, pattern: Path) -> bool:
    """Whether a change at ``change`` affects the property ``pattern`` names.

    True when the change is at or below the pattern (``spec.template.x`` touches
    ``spec.template``) or above it (replacing all of ``spec`` touches ``spec.template``).
    """
    # A change above the pattern touches it too, so stop at the shorter path.
    for step, expected in zip(change, pattern, strict=False):
        if not _step_matches(expected, step):
            return False
    return True


def changed_paths(old: Any, new: Any, prefix: Path = ()) -> list[Path]:
    """The paths where two input trees differ, as high up as the difference goes.

    Mappings recurse per key; lists that Kubernetes merges by name (:data:`NAMED_LISTS`)
    recurse per item name; other lists of equal length recurse per index; anything else
    that differs (including lists of different lengths) is reported at its own path.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[Path] = []
        for key in sorted(set(old) | set(new), key=str):
            if key not in old or key not in new:
                paths.append((*prefix, key))
            elif key in NAMED_LISTS and _by_name(old[key]) is not None and _by_name(new[key]) is not None:
                paths.extend(_named_changes(old[key], new[key], (*prefix, key)))
            else:
                paths.extend(changed_paths(old[key], new[key], (*prefix, key)))
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        paths = []
        for index, (left, right) in enumerate(zip(old, new, strict=True)):
            paths.extend(changed_paths(left, right, (*prefix, index)))
        return paths
    if old != new and isinstance(old, str) and isinstance(new, str):
        before, after = parsed(old), parsed(new)
        if before is not None and after is not None and before[0] == after[0] and before[1] != after[1]:
            return changed_paths(before[1], after[1], (*prefix, Parsed(before[0])))
    return [] if old == new else [prefix]


def _by_name(items: Any) -> dict[str, int] | None:
    """Each item's position by its name, or None unless every item has a unique name."""
    if not isinstance(items, list):
        return None
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        return None
    return {name: index for index, name in enumerate(names)}


def _named_changes(old: list[Any], new: list[Any], prefix: Path) -> list[Path]:
    old_at, new_at = _by_name(old) or {}, _by_name(new) or {}
    paths: list[Path] = []
    for name, index in new_at.items():
        if name not in old_at:
            paths.append((*prefix, Named(name, index)))
        else:
            paths.extend(changed_paths(old[old_at[name]], new[index], (*prefix, Named(name, index))))
    paths.extend((*prefix, Named(name, index)) for name, index in old_at.items() if name not in new_at)
    if not paths and list(old_at) != list(new_at):
        paths.append(prefix)  # same items, another order: the list itself changed
    return paths


class _Absent:
    """Marks a path that does not exist on one side of a change."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def value_at(tree: Any, path: Sequence[Any], missing: Any = None) -> Any:
    """The value at ``path`` in ``tree``, or ``missing`` where the path does not exist."""
    node = tree
    for step in path:
        if isinstance(step, Parsed):
            document = parsed(node)
            if document is None or document[0] != step.kind:
                return missing
            node = document[1]
        elif isinstance(step, Named):
            position = (_by_name(node) or {}).get(step.name)
            if position is None:
                return missing
            node = node[position]
        elif isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return missing
    return node


def show(path: Path) -> str:
    """A path as text, e.g. ``spec.template.spec.containers[name=main].args[1]``."""
    text = ""
    for step in path:
        part = f"[{step}]" if isinstance(step, Named) else str(step) if isinstance(step, Parsed) else \
            format_path((step,))
        text += part if not text or part.startswith(("[", "<")) else "." + part
    return text
