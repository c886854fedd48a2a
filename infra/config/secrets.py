"""The secrets a stack needs: found in its raw config, set or not, and how to set them.

Stack files in the repository carry no ``secure:`` values (a fake one cannot be
decrypted by a real ``pulumi``): they declare *what* needs a secret (a Dex user, an
upstream connector) and each user sets the values with
``pulumi config set --secret --path '<key path>'``, which Pulumi stores as a ``secure:``
entry at that path of the stack file (Pulumi's ``config set`` command: ``--path`` sets a
value inside a map or list; pulumi/pulumi, pkg/cmd/pulumi/config/config_set.go).

:func:`secret_slots` walks the config models along the user's data and lists every field
typed :class:`~components.base.SecretValue`, whether it must be set and whether it is.
The offline render stands an unknown secret in for an unset required one (offline, a
``secure:`` value is unknown anyway); the engine path refuses to run without it, with
the same message ``mlplane secrets`` prints.
"""

from __future__ import annotations

import copy
import shlex
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mlplane.components.base import SecretValue
from mlplane.infra.config.introspect import members, pick_model
from mlplane.infra.config.paths import format_path
from mlplane.core.errors import Problem

#: What an entry of a list is called in a slot's description, by the key that names it.
_NAMING_KEYS = ("email", "name", "id")


@dataclass(frozen=True)
class SecretSlot:
    """One secret field of a stack's config.

    Attributes:
        path: Key path, outermost first: ``("mlplane:auth", "dex", "users", 0, "password_hash")``.
        required: Whether the stack cannot run without it (else it is generated or unused).
        is_set: Whether the stack's config holds a value there.
        description: What the secret is, from the config model.
        about: What it belongs to (a user's e-mail, a connector's id), if anything.
    """

    path: tuple[Any, ...]
    required: bool
    is_set: bool
    description: str
    about: str | None = None

    @property
    def key(self) -> str:
        """The key path as ``pulumi config set --path`` takes it."""
        return format_path(self.path)

    def command(self, stack: str, config_file: Path | None = None) -> str:
        """The Pulumi CLI command that sets this secret (it prompts without echo); with
        ``config_file`` (a stack file outside the project, ``--config-file``) it writes that
        file, as ``mlplane secrets --set`` does (infra/secrets_set.py), not ``Pulumi.<stack>.yaml``."""
        where = f"--config-file {shlex.quote(str(config_file))} " if config_file is not None else ""
        return f"pulumi config set {where}--stack {stack} --secret --path '{self.key}'"


def secret_slots(config: Mapping[str, Any]) -> list[SecretSlot]:
    """Every secret field of a stack's raw ``config:`` map, in file order.

    Args:
        config: ``{"mlplane:auth": {...}, ...}`` as read from the stack file (``secure:``
            entries as :class:`SecretValue`) or as the engine hands it over.

    Returns:
        The slots; only where the data has the mapping that holds the field (a
        connector's secret is listed when the stack declares a connector).
    """
    from mlplane.infra.config.stack import NAMESPACE, StackConfig

    slots: list[SecretSlot] = []
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE and name in StackConfig.model_fields:
            _walk(StackConfig.model_fields[name].annotation, value, (key,), None, slots)
    return slots


def _walk(annotation: Any, raw: Any, path: tuple[Any, ...], about: str | None, into: list[SecretSlot]) -> None:
    model = pick_model(annotation, raw)
    if model is not None:
        if isinstance(raw, Mapping):
            _walk_model(model, raw, path, about, into)
        return
    for member in members(annotation):
        origin, args = typing.get_origin(member), typing.get_args(member)
        if origin in (list, tuple) and args and isinstance(raw, list):
            for index, item in enumerate(raw):
                _walk(args[0], item, (*path, index), _name_of(item) or about, into)
            return
        if origin in (dict, Mapping) and len(args) == 2 and isinstance(raw, Mapping):
            for key, item in raw.items():
                _walk(args[1], item, (*path, key), about, into)
            return


def _walk_model(model: type[BaseModel], raw: Mapping[str, Any], path: tuple[Any, ...], about: str | None,
                into: list[SecretSlot]) -> None:
    for name, field in model.model_fields.items():
        if _is_secret(field.annotation):
            required = field.is_required()
            decide = getattr(model, "secret_required", None)
            if decide is not None:
                required = decide(name, raw)
            into.append(SecretSlot(
                path=(*path, name), required=required, is_set=raw.get(name) is not None,
                description=(field.description or "").split(" (`")[0].rstrip("."), about=about))
        elif name in raw:
            _walk(field.annotation, raw[name], (*path, name), about, into)


def _is_secret(annotation: Any) -> bool:
    return any(member is SecretValue for member in members(annotation))


def _name_of(item: Any) -> str | None:
    if isinstance(item, Mapping):
        for key in _NAMING_KEYS:
            if isinstance(item.get(key), str):
                return item[key]
    return None


def unset_required(slots: list[SecretSlot]) -> list[SecretSlot]:
    """The required secrets that have no value."""
    return [slot for slot in slots if slot.required and not slot.is_set]


def fill_unset(config: Mapping[str, Any], slots: list[SecretSlot]) -> dict[str, Any]:
    """A copy of ``config`` with an unknown secret at every unset required slot.

    What the offline render does: a ``secure:`` value is unknown offline too, so the plan
    is the same whether or not the user has set the secret yet.
    """
    filled = copy.deepcopy(dict(config))
    for slot in unset_required(slots):
        node: Any = filled
        for step in slot.path[:-1]:
            node = node[step]
        node[slot.path[-1]] = SecretValue(None)
    return filled


def unset_problems(slots: list[SecretSlot], stack: str, secret_keys: frozenset[str] = frozenset()
                   ) -> tuple[Problem, ...]:
    """One problem per unset required secret: what it is and the command that sets it.

    Args:
        slots: The stack's secret slots.
        stack: The stack name (for the commands).
        secret_keys: Config keys the engine marks secret: any value in them may be a
            decrypted secret, so what a slot belongs to (an e-mail) is not echoed there.
    """
    return tuple(
        Problem(
            path=slot.key,
            message=f"secret not set: {slot.description}"
            + (f" ({slot.about})" if slot.about and slot.path[0] not in secret_keys else ""),
            allowed=f"{slot.command(stack)} (prompts for the value; `mlplane secrets --stack {stack}` "
                    "lists every secret of the stack)",
        )
        for slot in unset_required(slots)
    )


def format_slots(slots: list[SecretSlot], stack: str, file: str, config_file: Path | None = None) -> str:
    """The report ``mlplane secrets`` prints: every secret, set or not, and how to set the missing ones
    (in ``config_file`` when the stack file was given by ``--config-file``)."""
    missing = unset_required(slots)
    lines = [f"Secrets of stack {stack} ({file}): {sum(s.required for s in slots)} required, "
             f"{len(missing)} not set"]
    for slot in slots:
        state = "set" if slot.is_set else "not set"
        need = "required" if slot.required else "optional"
        about = f" ({slot.about})" if slot.about else ""
        lines.append(f"  {state:<8} {need:<9} {slot.key}: {slot.description}{about}")
    if not slots:
        lines.append("  (none: this stack needs no secrets)")
    if missing:
        lines.append("Set the missing ones (Pulumi prompts for each value without echo and stores it encrypted "
                     "in the stack file), or run `mlplane secrets "
                     + (f"--config-file {shlex.quote(str(config_file))}" if config_file is not None else f"--stack {stack}")
                     + " --set`:")
        lines.extend(f"  {slot.command(stack, config_file)}" for slot in missing)
    return "\n".join(lines) + "\n"
