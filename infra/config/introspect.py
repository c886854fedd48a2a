"""Finding the model field behind a key path, to say what a key may be.

Pydantic's errors say *that* a key is unknown or missing; users also want to know which
keys exist there and what the missing one is for. This walks the config models along
the user's path (following discriminated unions by the data's ``kind``).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def members(annotation: Any) -> list[Any]:
    """The members of a union annotation (None left out), or the annotation itself."""
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [_strip(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
    return [annotation]


def pick_model(annotation: Any, raw: Any) -> type[BaseModel] | None:
    """The model among ``annotation``'s members that ``raw`` is (by its ``kind`` for unions)."""
    models = [m for m in members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
    if len(models) == 1:
        return models[0]
    kind = raw.get("kind") if isinstance(raw, Mapping) else None
    for model in models:
        field = model.model_fields.get("kind")
        if field is not None and kind in typing.get_args(_strip(field.annotation)):
            return model
    return None


def _child(annotation: Any, raw: Any, step: Any) -> Any:
    model = pick_model(annotation, raw)
    if model is not None:
        field = model.model_fields.get(step) if isinstance(step, str) else None
        return field.annotation if field is not None else None
    for member in members(annotation):
        origin = typing.get_origin(member)
        args = typing.get_args(member)
        if origin in (list, tuple, set, frozenset) and isinstance(step, int) and args:
            return args[0]
        if origin in (dict, Mapping) and len(args) == 2:
            return args[1]
    return None


def model_at(annotation: Any, raw: Any, path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The config model that holds the keys at ``path`` in the user's data, if any."""
    node = raw
    for step in path:
        annotation = _child(annotation, node, step)
        if annotation is None:
            return None
        node = node.get(step) if isinstance(node, Mapping) else (
            node[step] if isinstance(node, list) and isinstance(step, int) and step < len(node) else None)
    return pick_model(annotation, node)


def allowed_keys(annotation: Any, raw: Any, parent: tuple[Any, ...]) -> str | None:
    """Comma-separated keys allowed in the mapping at ``parent``."""
    model = model_at(annotation, raw, parent)
    return ", ".join(model.model_fields) if model is not None else None


def field_info(annotation: Any, raw: Any, path: tuple[Any, ...]) -> FieldInfo | None:
    """The field behind the last key of ``path``."""
    if not path or not isinstance(path[-1], str):
        return None
    model = model_at(annotation, raw, path[:-1])
    return model.model_fields.get(path[-1]) if model is not None else None
