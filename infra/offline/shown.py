"""Values as a reviewer sees them in a diff: secrets masked, long values cut around the change.

Secrets never reach a plan in plain text (they are ``[secret]`` there already); the diff
masks again, by kind and by name, so that no value of a Secret's data, and no value of a
key or environment variable named like a credential, is ever shown, whatever a plan
holds.
"""

from __future__ import annotations

import json
from difflib import SequenceMatcher
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


def _hunks(old: str, new: str) -> list[tuple[str, int, int, int, int]]:
    """The two texts' opcodes, with equal runs of under 4 characters folded into the changes
    around them (``20`` → ``twenty`` is one change, not four)."""
    merged: list[list] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        short = tag == "equal" and i2 - i1 < 4 and merged and merged[-1][0] != "equal"
        if (tag != "equal" or short) and merged and merged[-1][0] != "equal":
            merged[-1][2], merged[-1][4] = i2, j2
        else:
            merged.append([tag if tag == "equal" else "replace", i1, i2, j1, j2])
    # An equal run folded in may now sit between two changes: fold those together too.
    folded: list[list] = []
    for hunk in merged:
        if folded and hunk[0] != "equal" and folded[-1][0] != "equal":
            folded[-1][2], folded[-1][4] = hunk[2], hunk[4]
        else:
            folded.append(hunk)
    return [tuple(h) for h in folded]  # type: ignore[misc]


def _side(text: str, hunks: list[tuple[str, int, int, int, int]], new: bool, width: int) -> str:
    """One side of the change: every changed part with ``_CONTEXT`` characters around it,
    the unchanged text between them cut to ``…``; a changed part longer than ``width``
    keeps its start and its end (``?ref=26.03`` stays visible)."""
    out: list[str] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(hunks):
        start, end = (j1, j2) if new else (i1, i2)
        piece = text[start:end]
        if tag == "equal":
            first, last = index == 0, index == len(hunks) - 1
            if first and len(piece) > _CONTEXT:
                piece = _ELLIPSIS + piece[-_CONTEXT:]
            elif last and len(piece) > _CONTEXT:
                piece = piece[:_CONTEXT] + _ELLIPSIS
            elif not first and not last and len(piece) > 2 * _CONTEXT:
                piece = piece[:_CONTEXT] + _ELLIPSIS + piece[-_CONTEXT:]
        elif len(piece) > width:
            half = width // 2
            piece = piece[:half] + _ELLIPSIS + piece[-half:]
        out.append(piece)
    return "".join(out)


def elided(before: Any, after: Any, width: int = MAX_WIDTH) -> tuple[str, str]:
    """The two values as text, cut around where they differ, every difference kept visible.

    A long script or URL whose parts changed shows each changed part of both sides with
    some context, ``…`` where unchanged text was left out; short values are shown whole.
    """
    old, new = as_text(before), as_text(after)
    if len(old) <= width and len(new) <= width:
        return old, new
    if before is ABSENT or after is ABSENT:
        present = new if before is ABSENT else old
        cut = _cut(present, 0, width)
        return (old, cut) if before is ABSENT else (cut, new)
    hunks = _hunks(old, new)
    return _side(old, hunks, False, width), _side(new, hunks, True, width)
