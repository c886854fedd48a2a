"""Errors about pipelines, in the form every mlplane input error takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from mlplane.core.errors import InputError, Problem, describe_validation_error, show_value
from mlplane.core.suggest import close_matches


def pipeline_error(file: str, pipeline: str, message: str, *, line: int | None = None,
                   allowed: str | None = None) -> InputError:
    """An input error about pipeline ``pipeline``, pointing into ``file``."""
    return InputError(file, (Problem(f"pipeline {pipeline}", message, allowed=allowed, line=line),))


def functions_note(module_vars: dict[str, Any], wanted: str, is_pipeline: Callable[[Any], bool]) -> str:
    """What a module offers instead of a missing function: its pipelines, the closest first.

    Args:
        module_vars: The module's namespace.
        wanted: The function name the stack file asked for.
        is_pipeline: Whether an object of the module is a pipeline function.

    Returns:
        ``"did you mean `x`? The module's pipeline functions: x, y"``, or a note that it has none.
    """
    names = sorted(name for name, value in module_vars.items()
                   if not name.startswith("_") and callable(value) and is_pipeline(value))
    if not names:
        return "the module has no pipeline functions"
    close = close_matches(wanted, names, limit=1)
    hint = f"did you mean `{close[0]}`? " if close else ""
    return f"{hint}its pipeline functions: {', '.join(names)}"


def validation_message(exc: ValidationError) -> str:
    """The clearest single message in a pydantic error about a pipeline spec.

    Errors raised by the spec's own checks (``PipelineError``) already name the pipeline
    and step; field errors get their location spelled out.
    """
    parts = []
    for error in exc.errors(include_url=False):
        original = (error.get("ctx") or {}).get("error")
        if original is not None and type(original).__name__ == "PipelineError":
            return str(original)
        location = ".".join(str(step) for step in error["loc"])
        message, allowed = describe_validation_error(error)
        if allowed:
            message += f" (allowed: {allowed})"
        if "input" in error and error["type"] not in ("missing", "value_error", "assertion_error"):
            message += f" (got {show_value(error['input'])})"
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)
