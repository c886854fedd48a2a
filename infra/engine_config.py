"""Reading the stack config from the Pulumi engine (``pulumi preview`` / ``pulumi up``).

The engine has already read ``Pulumi.<stack>.yaml`` (and any ESC environment) and
decrypted ``secure:`` values; it hands the program every config key, structured values
as JSON text. This gathers mlplane's keys and validates them exactly as offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from infra.config import StackConfig, StackSource, validate_config
from infra.project import project_root, stack_file


def engine_config_values() -> tuple[dict[str, Any], frozenset[str]]:
    """All config keys the engine passed, decoded, and the ones marked secret."""
    raw: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values: dict[str, Any] = {}
    for key, text in raw.items():
        try:
            values[key] = json.loads(text) if isinstance(text, str) else text
        except json.JSONDecodeError:
            values[key] = text
    secret = frozenset(key for key in values if runtime_config.is_config_secret(key))
    return values, secret


def load_engine_config() -> StackConfig:
    """Validate the engine's config for the current stack.

    Raises:
        InputError: As for the offline render, naming ``Pulumi.<stack>.yaml``.
    """
    stack = pulumi.get_stack()
    root = project_root(Path(__file__).resolve().parent)
    path = stack_file(root, stack)
    values, secret = engine_config_values()
    source = StackSource(stack=stack, file=Path(path.name), base_dir=root)
    return validate_config(values, source, secret_keys=secret)
