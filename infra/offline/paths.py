"""Paths into resource inputs, and patterns over them (``spec.containers[*].image``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from infra.config.paths import format_path

Path = tuple[Any, ...]
WILDCARD = "*"

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

    Mappings recurse per key; lists of equal length recurse per index; anything else
    that differs (including lists of different lengths) is reported at its own path.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[Path] = []
        for key in sorted(set(old) | set(new), key=str):
            if key not in old or key not in new:
                paths.append((*prefix, key))
            else:
                paths.extend(changed_paths(old[key], new[key], (*prefix, key)))
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        paths = []
        for index, (left, right) in enumerate(zip(old, new, strict=True)):
            paths.extend(changed_paths(left, right, (*prefix, index)))
        return paths
    return [] if old == new else [prefix]


def value_at(tree: Any, path: Sequence[Any]) -> Any:
    """The value at ``path`` in ``tree``, or None where the path does not exist."""
    node = tree
    for step in path:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return None
    return node


def show(path: Path) -> str:
    """A path as text, e.g. ``spec.template.spec.containers[0].args``."""
    return format_path(path)
