"""Errors about pipelines, in the form every mlplane input error takes."""

from __future__ import annotations

from pydantic import ValidationError

from infra.errors import InputError, Problem


def pipeline_error(file: str, pipeline: str, message: str, *, line: int | None = None,
                   allowed: str | None = None) -> InputError:
    """An input error about pipeline ``pipeline``, pointing into ``file``."""
    return InputError(file, (Problem(f"pipeline {pipeline}", message, allowed=allowed, line=line),))


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
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)
