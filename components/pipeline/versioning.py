"""Versions of steps: derived from everything that decides what a step computes.

A step's version hashes its image, command, arguments, environment, volumes, resources
and accelerators, and the versions of the steps it depends on. Consumers carry their
producers' versions, so a retrain changes the serving step's model version (a rollout),
and an unchanged step keeps its version (nothing re-runs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from mlplane.components.pipeline.spec import PipelineSpec

VERSION_CHARS = 12
#: The label every step's objects carry with their version.
VERSION_LABEL = "mlplane.dev/version"


def _digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:VERSION_CHARS]


def step_versions(spec: PipelineSpec, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The version of every step of ``spec``.

    Args:
        spec: The pipeline.
        extra: Per-step inputs that are not in the spec but change what it computes
            (e.g. the resolved model location), by step name.

    Returns:
        ``{step name: version}``, each a short hex digest.
    """
    versions: dict[str, str] = {}
    for name in spec.order():
        step = spec.step(name)
        payload = {
            "step": step.model_dump(mode="json", exclude={"after"}),
            "extra": (extra or {}).get(name),
            "upstream": {other: versions[other] for other in spec.upstream(step)},
        }
        versions[name] = _digest(payload)
    return versions
