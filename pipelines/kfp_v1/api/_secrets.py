"""Environment variables read from Kubernetes secrets, as KFP v1's secret helpers add them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def secret_env(pairs: Iterable[tuple[str, str]], secret_name: str,
               plain: Iterable[tuple[str, str]] = ()) -> Callable[[Any], Any]:
    """A modifier adding ``env var <- secret_name[key]`` for each ``(env var, key)``.

    Values stay in the secret: the step's spec holds only ``secretKeyRef``\\ s (and the
    non-secret ``plain`` values, such as a region).
    """
    pairs, plain = list(pairs), list(plain)

    def modify(task: Any) -> Any:
        for variable, key in pairs:
            task.container.add_env_variable({"name": variable, "valueFrom": {
                "secretKeyRef": {"name": str(secret_name), "key": str(key)}}})
        for variable, value in plain:
            task.container.add_env_variable({"name": variable, "value": str(value)})
        return task

    return modify
