"""Values as a reviewer sees them in a diff: secrets masked, long values cut around the change.

Secrets never reach a plan in plain text (they are ``[secret]`` there already); the diff
masks again, by kind and by name, so that no value of a Secret's data, and no value of a
key or environment variable named like a credential, is ever shown, whatever a plan
holds.
"""

from __future__ import annotations

import json
from typing import Any

from mlplane.components.base import SECRET_MASK, is_credential_key
from mlplane.infra.offline.paths import ABSENT, Named, Path

_SECRET_TYPES = frozenset({"kubernetes:core/v1:Secret"})
_SECRET_FIELDS = frozenset({"data", "stringData"})

#: Longest value shown whole; longer ones are cut around where old and new differ.
MAX_WIDTH = 80
_CONTEXT = 24
_ELLIPSIS = "…"


def _mask_tree(value: Any) -> Any:
    if isinstance(value, dict):
        if isinstance(value.get("name"), str) and is_credential_key(value["name"]) and "value" in value:
            return {**{k: _mask_tree(v) for k, v in value.items() if k != "value"}, "value": SECRET_MASK}
        return {k: SECRET_MASK if is_credential_key(k) and _maskable(v) else _mask_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_tree(item) for item in value]
    return value


def _maskable(value: Any) -> bool:
    # Flags and counts are not credentials (automountServiceAccountToken: false).
    return not isinstance(value, bool | int | float) and value is not None


def _mask_all(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_all(v) for v in value]
    return SECRET_MASK


def masked(type_: str, path: Path, value: Any) -> Any:
    """``value`` at ``path`` of a resource of ``type_``, with every secret part masked.

    Everything under a Secret's ``data``/``stringData`` is masked (keys stay, so a reviewer
    sees which key changed); so is the value of a key, or of an environment variable,
    whose name says credential (``password``, ``token``, ``apiKey``, ...).
    """
    if value is ABSENT:
        return value
    if type_ in _SECRET_TYPES and path[:1] and path[0] in _SECRET_FIELDS:
        return _mask_all(value)
    last = path[-1] if path else None
    if isinstance(last, Named) and is_credential_key(last.name) and isinstance(value, dict) and "value" in value:
        return {**value, "value": SECRET_MASK}
    if len(path) >= 2 and isinstance(path[-2], Named) and is_credential_key(path[-2].name) and last == "value":
        return SECRET_MASK
    if is_credential_key(last) and _maskable(value):
        return SECRET_MASK
    return _mask_tree(value)


def as_text(value: Any) -> str:
    """A value in one line: strings as JSON strings, ``(absent)`` for a missing one."""
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _cut(text: str, start: int, end: int) -> str:
    """``text[start:end]`` with an ellipsis where something was left out."""
    start, end = max(0, start), min(len(text), end)
    return (_ELLIPSIS if start > 0 else "") + text[start:end] + (_ELLIPSIS if end < len(text) else "")


def elided(before: Any, after: Any, width: int = MAX_WIDTH) -> tuple[str, str]:
    """The two values as text, each cut to about ``width`` characters around where they differ.

    A long script or list whose one line changed shows that part of both sides, with
    ``…`` where text was left out; short values are shown whole.
    """
    old, new = as_text(before), as_text(after)
    if len(old) <= width and len(new) <= width:
        return old, new
    prefix = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    start = prefix - _CONTEXT

    def side(text: str) -> str:
        changed_end = len(text) - suffix
        end = max(changed_end + _CONTEXT, start + width)
        if end - start > width:  # the change itself is long: keep its start
            end = start + width
        return _cut(text, start, end)

    return side(old) if before is not ABSENT else old, side(new) if after is not ABSENT else new
