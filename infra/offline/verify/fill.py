"""Placeholder values for what an offline render cannot know (an allow-listed change).

``mlplane render`` writes ``[secret]`` for secret inputs and ``[unknown]`` for outputs of
resources not yet created. A Secret's ``data`` must be base64 (the API server refuses
``[secret]`` with "illegal base64 data"), so each placeholder becomes a fixed, obviously fake
value, base64-encoded under ``data``/``binaryData``.
"""

from __future__ import annotations

import base64
from typing import Any

from mlplane.infra.offline.verify.changes import Change

PLACEHOLDERS = ("[secret]", "[unknown]")
FILLER = "mlplane-verify-placeholder"
_ENCODED = base64.b64encode(FILLER.encode()).decode()


def fill(obj: dict[str, Any], target: str) -> tuple[dict[str, Any], list[Change]]:
    """A copy of ``obj`` with every placeholder string filled, and the changes made.

    Args:
        obj: A Kubernetes object as the plan records it.
        target: How to name it in the change list (its URN's last part).
    """
    changes: list[Change] = []

    def walk(value: Any, path: str, encoded: bool) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}", encoded or (path in ("", ) and k in ("data", "binaryData")
                                                          and obj.get("kind") == "Secret"))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]", encoded) for i, v in enumerate(value)]
        if isinstance(value, str) and value in PLACEHOLDERS:
            changes.append(Change("secret-filled", target, f"{path.lstrip('.')}: {value} -> "
                                  f"{'base64 of ' if encoded else ''}{FILLER!r}"))
            return _ENCODED if encoded else FILLER
        return value

    return walk(obj, "", False), changes
