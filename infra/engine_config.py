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

from mlplane.components.base import SecretValue
from mlplane.infra.config import StackConfig, StackSource
from mlplane.infra.load import validate_config
from mlplane.infra.config.stackfile import read_stack_document
from mlplane.core.errors import InputError
from mlplane.infra.project import stack_file


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
    # The engine runs the program of the project it was started in (the platform team's
    # repository, or mlplane's own): its folder and name, not where mlplane is installed.
    root = Path(pulumi.get_root_directory())
    path = stack_file(root, stack)
    values, secret = engine_config_values()
    values = mark_secure_values(values, secret, path)
    source = StackSource(stack=stack, file=Path(path.name), base_dir=root, project=pulumi.get_project())
    return validate_config(values, source, secret_keys=secret, unset_secrets="refuse")


def mark_secure_values(values: dict[str, Any], secret_keys: frozenset[str], path: Path) -> dict[str, Any]:
    """Wrap the decrypted values of the stack file's ``secure:`` entries as secrets.

    The engine only says which *keys* hold a secret. Without this, a ``secure:`` value
    written where mlplane expects plain text (``username: {secure: ...}``) would pass
    validation as plain text and reach the plan in clear; wrapped, it is refused as it is
    offline. Values the file does not hold (an ESC environment's) keep key-level marking.

    Args:
        values: The engine's config values, decoded.
        secret_keys: The keys the engine marks secret (only these are looked at).
        path: The stack file.

    Returns:
        ``values`` with every ``secure:`` leaf of a secret key as a :class:`SecretValue`.
    """
    try:
        document = read_stack_document(path)
    except InputError:
        return values  # no readable stack file: the engine's key-level marking stands
    return {key: _wrap_secure(value, document.config.get(key)) if key in secret_keys else value
            for key, value in values.items()}


def _wrap_secure(value: Any, in_file: Any) -> Any:
    if isinstance(in_file, SecretValue):
        return SecretValue(value) if isinstance(value, str) else value
    if isinstance(value, dict) and isinstance(in_file, dict):
        return {key: _wrap_secure(item, in_file.get(key)) for key, item in value.items()}
    if isinstance(value, list) and isinstance(in_file, list):
        return [_wrap_secure(item, in_file[i] if i < len(in_file) else None) for i, item in enumerate(value)]
    return value
