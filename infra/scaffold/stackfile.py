"""A stack file as YAML text, each key under the description the config models give it.

The descriptions are the ones ``mlplane schema`` prints (the same pydantic fields), so the
generated file explains itself with the loader's own words and cannot drift from it.
Sections a file leaves out are listed at its end with theirs.
"""

from __future__ import annotations

import textwrap
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import yaml
from pydantic import BaseModel

from mlplane.infra.config.stack import NAMESPACE, StackConfig

WIDTH = 100


def stack_file_text(title: str, config: Mapping[str, Any], replace: Sequence[str] = ()) -> str:
    """The stack file's text: a head comment, ``config:`` with every key described, and the sections left out.

    Args:
        title: What the stack is, one sentence (the file's first comment).
        config: mlplane's sections by YAML key (``mlplane:cluster``) with their values.
        replace: Key paths (``mlplane:cluster.project``) whose values are placeholders.

    Returns:
        YAML text that loads as ``{"config": config}``.
    """
    lines = _comment(title, 0)
    if replace:
        lines += _comment("Placeholders to replace with your own: " + ", ".join(replace) + ".", 0)
    lines += _comment("Every key, with its default: `mlplane schema` (a JSON Schema for editors).", 0)
    lines.append("config:")
    fields = StackConfig.model_fields
    for key, value in config.items():
        name = key.removeprefix(f"{NAMESPACE}:")
        lines += _entry(key, value, fields[name].description, fields[name].annotation, 2)
    rest = [(f"{NAMESPACE}:{name}", f.description) for name, f in fields.items() if f"{NAMESPACE}:{name}" not in config]
    if rest:
        lines += _comment("Not set here:", 2)
        for key, description in rest:
            lines += _comment(f"{key}: {description}", 2)
    return "\n".join(lines) + "\n"


def _entry(key: str, value: Any, description: str | None, annotation: Any, indent: int) -> list[str]:
    """One ``key: value`` with its description above it; mappings and lists nested below."""
    lines = _comment(description, indent) if description else []
    pad = " " * indent
    if isinstance(value, Mapping):
        lines.append(f"{pad}{key}:")
        lines += _mapping(value, _model(annotation, value), indent + 2)
    elif isinstance(value, list) and value:
        lines.append(f"{pad}{key}:")
        for item in value:
            lines += _item(item, _model(annotation, item), indent + 2)
    else:
        lines.append(f"{pad}{key}: {_scalar(value)}")
    return lines


def _mapping(value: Mapping[str, Any], model: type[BaseModel] | None, indent: int) -> list[str]:
    fields = model.model_fields if model is not None else {}
    lines: list[str] = []
    for key, item in value.items():
        field = fields.get(key)
        lines += _entry(key, item, field.description if field else None, field.annotation if field else None, indent)
    return lines


def _item(item: Any, model: type[BaseModel] | None, indent: int) -> list[str]:
    """A list item: ``- `` before the first line of its mapping (descriptions stay above the dash)."""
    pad = " " * indent
    if not isinstance(item, Mapping):
        return [f"{pad}- {_scalar(item)}"]
    body = _mapping(item, model, indent + 2)
    first = next(i for i, line in enumerate(body) if not line.lstrip().startswith("#"))
    body[first] = f"{pad}- {body[first][indent + 2:]}"
    return body


def _scalar(value: Any) -> str:
    """A scalar as YAML writes it (quoted where a plain one would read as another type)."""
    return yaml.safe_dump(value, default_flow_style=True, width=1000).removesuffix("\n...\n").strip()


def _comment(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}# {line}" for line in textwrap.wrap(text, WIDTH - indent - 2, break_on_hyphens=False)]


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation can hold (through Optional, unions, lists, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def _model(annotation: Any, value: Any) -> type[BaseModel] | None:
    """The model that describes ``value``: the only one, or the union member whose ``kind`` it has."""
    candidates = list(dict.fromkeys(_models(annotation)))
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    kind = value.get("kind") if isinstance(value, Mapping) else None
    for model in candidates:
        field = model.model_fields.get("kind")
        if field is not None and kind in typing.get_args(field.annotation):
            return model
    return None
