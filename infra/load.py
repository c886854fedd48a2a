"""Loading a stack as the stack program needs it: config validated, pipelines checked.

The stack config (``mlplane.infra.config``) and the pipelines (``mlplane.pipelines``) are
sibling layers that never import each other. Some checks need both (a pipeline's steps
must fit the stack's pools, images and APIs), so they live here, above both, and are
handed down to the config loader, which reports them the way it reports its own rules:
the stack file, the key path, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from mlplane.core.findings import Finding
from mlplane.infra.config import StackConfig, StackSource
from mlplane.infra.config import load_stack_file as _load_config_file
from mlplane.infra.config import validate_config as _validate_config
from mlplane.infra.config.loader import LineLookup


def pipelines_can_be_built(config: StackConfig) -> list[Finding]:
    """Every listed pipeline loads, and its steps fit the stack (pools, images, APIs)."""
    if not config.pipelines:
        return []
    from mlplane.infra.layers.compile import pipeline_findings  # imports user code; only when pipelines exist

    return pipeline_findings(config)


#: The checks the stack program adds to the config's own rules.
PROGRAM_CHECKS = (pipelines_can_be_built,)


def load_stack_file(path: Path, stack: str | None = None, display: str | None = None,
                    project: str = "mlplane") -> StackConfig:
    """Read and validate a stack file, its pipelines included (see :func:`mlplane.infra.config.load_stack_file`).

    Raises:
        InputError: Anything wrong with the file or its pipelines, all problems at once.
    """
    return _load_config_file(path, stack, display, checks=PROGRAM_CHECKS, project=project)


def validate_config(
    config: Mapping[str, Any],
    source: StackSource,
    *,
    line_of: LineLookup | None = None,
    secret_keys: frozenset[str] = frozenset(),
    unset_secrets: Literal["unknown", "refuse"] = "unknown",
) -> StackConfig:
    """Validate a ``config:`` map, its pipelines included (see :func:`mlplane.infra.config.validate_config`).

    Raises:
        InputError: Every problem found, each with key path, value and what is allowed.
    """
    return _validate_config(config, source, line_of=line_of, secret_keys=secret_keys, unset_secrets=unset_secrets,
                            checks=PROGRAM_CHECKS)
