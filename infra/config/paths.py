"""Key paths as users see them: ``mlplane:storage.volumes[0].size``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:-]+$")


def format_path(parts: Iterable[Any]) -> str:
    """Join key-path parts: keys with dots, list indices in brackets.

    Keys that are not plain identifiers (``app.kubernetes.io/name``) are quoted in
    brackets so the path stays unambiguous.

    Args:
        parts: Keys (str) and list indices (int), outermost first.

    Returns:
        The path, e.g. ``mlplane:cluster.gke.project`` or ``a.labels["x.y/z"]``.
    """
    text = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{str(part)!r}]".replace("'", '"')
    return text
