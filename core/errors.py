"""Errors that mlplane reports to users as bad input (exit code 2).

Every message names where the bad value lives (the stack file and the key path), the
value itself (or ``[secret]``) and what would have been allowed, so that a user can fix
the input without reading a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlplane.core.credentials import SECRET_MASK, masked_credentials

__all__ = ["SECRET_MASK", "InputError", "OfflineUnsupportedError", "Problem", "describe_validation_error",
           "input_error", "show_value"]
_MAX_VALUE_CHARS = 80


def show_value(value: Any, *, secret: bool = False) -> str:
    """Render a received value for an error message: short, one line, never a secret.

    Args:
        value: The value as received from the stack file or a pipeline.
        secret: True when the value is (or came from) a secret.

    Returns:
        A ``repr``-like rendering, truncated to a readable length.
    """
    if secret or getattr(value, "is_secret", False):
        return SECRET_MASK
    text = repr(masked_credentials(value))  # a mapping may hold a password among its keys
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


#: Pydantic's type errors, in a stack file's words: a YAML user writes mappings and lists,
#: not dictionaries, tuples or "instances of" a model class.
_MAPPING = ("a mapping", "`key: value` lines under the key, or {key: value}")
_LIST = ("a list", "`- item` lines under the key, or [a, b]")
_SHAPES: dict[str, tuple[str, str | None]] = {
    **dict.fromkeys(("dict_type", "mapping_type", "model_type", "model_attributes_type", "dataclass_type"), _MAPPING),
    **dict.fromkeys(("list_type", "tuple_type", "set_type", "frozen_set_type"), _LIST),
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), ("a whole number", None)),
    **dict.fromkeys(("float_type", "float_parsing"), ("a number", None)),
    **dict.fromkeys(("bool_type", "bool_parsing"), ("true or false", "true, false")),
    "string_type": ("a string", None),
}

_BOUNDS = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
           "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}


def describe_validation_error(error: Any) -> tuple[str, str | None]:
    """One pydantic error (an item of ``ValidationError.errors()``) as a message and an allowed text.

    Stack files and pipeline parameters are written by people who never see the models,
    so a wrong shape is said in YAML's words ("must be a mapping"), a bound as a bound,
    and anything else with pydantic's "Input should be" turned into "must be".

    Args:
        error: ``{"type": ..., "msg": ..., "ctx": {...}}`` as pydantic reports it.

    Returns:
        ``(message, allowed)``; ``allowed`` is None where the message says it all.
    """
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _SHAPES:
        noun, allowed = _SHAPES[kind]
        return f"must be {noun}", allowed
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"must be {words} {ctx.get(key)}", f"{words} {ctx.get(key)}"
    if kind in ("string_too_short", "string_too_long", "too_short", "too_long"):
        short = kind.endswith("short")
        bound = ctx.get("min_length") if short else ctx.get("max_length")
        words = "at least" if short else "at most"
        unit = "characters" if kind.startswith("string_") else "items"
        return f"must have {words} {bound} {unit}", f"{words} {bound} {unit}"
    if kind == "string_pattern_mismatch":
        return "does not have the required form", f"text matching {ctx.get('pattern')}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if message.startswith("Input should be "):
        message = "must be " + message[len("Input should be "):]
    return message, None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    Attributes:
        path: Key path, e.g. ``mlplane:cluster.gke.project`` or ``pipelines[0].source``.
        message: What is wrong, in words.
        value: The received value, already rendered by :func:`show_value`, or None when
            there was no value (a missing key).
        allowed: What would have been accepted.
        line: 1-based line in the file, when known.
    """

    path: str
    message: str
    value: str | None = None
    allowed: str | None = None
    line: int | None = None

    def render(self, file: str) -> str:
        """Format the problem as ``file:line: path: message (got V; allowed: A)``."""
        where = f"{file}:{self.line}" if self.line else file
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        details = []
        if self.value is not None:
            details.append(f"got {self.value}")
        if self.allowed:
            details.append(f"allowed: {self.allowed}")
        if details:
            text += " (" + "; ".join(details) + ")"
        return text


class InputError(Exception):
    """Bad input: a stack file, a plan file or a pipeline that cannot be used.

    Attributes:
        file: The file the problems are in (as the user named it).
        problems: Everything wrong with it, in file order where known.
    """

    def __init__(self, file: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(file, problems)
        self.file = file
        self.problems = tuple(problems)

    def __str__(self) -> str:
        lines = [p.render(self.file) for p in self.problems]
        return "\n".join(lines) if lines else f"{self.file}: invalid input"


def input_error(
    file: str,
    path: str,
    message: str,
    *,
    value: Any = None,
    allowed: str | None = None,
    secret: bool = False,
    line: int | None = None,
    has_value: bool = True,
) -> InputError:
    """Build an :class:`InputError` with a single problem.

    Args:
        file: The file the bad input is in.
        path: The key path of the bad value.
        message: What is wrong.
        value: The received value (rendered safely; secrets are masked).
        allowed: What would have been accepted.
        secret: Whether the value is a secret.
        line: 1-based line number, when known.
        has_value: False when no value was received at all (a missing key).

    Returns:
        The error, ready to raise.
    """
    shown = show_value(value, secret=secret) if has_value else None
    return InputError(file, (Problem(path, message, shown, allowed, line),))


class OfflineUnsupportedError(RuntimeError):
    """The stack program asked for something only a real engine or cloud can answer."""
