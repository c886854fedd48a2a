"""Writing native mlplane pipelines: the ``@pipeline`` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def pipeline(function: F) -> F:
    """Mark ``function(ctx, **params) -> PipelineSpec`` as a native pipeline."""
    function.is_mlplane_pipeline = True  # type: ignore[attr-defined]
    return function
