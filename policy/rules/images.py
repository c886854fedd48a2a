"""Pinned images: a version tag other than ``latest``, or a ``@sha256:`` digest.

The one exception is recorded on the object itself: a pipeline entry with
``allow_unpinned_images: true`` (an unmodified KFP v1 file whose images are ``:latest``)
makes its steps' Jobs and training jobs (and a run-time pipeline's Workflow) carry the annotation
:data:`ALLOW_UNPINNED_ANNOTATION` ``"true"``, which the pack accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlplane.components.pod_security import image_problem
from mlplane.policy.rules.base import ResourceContext, ResourceRule, annotation, get, kind_of
from mlplane.policy.rules.pods import containers

NAME = "images-pinned"
#: Set by components/pipeline/container_step.py (same constant there; a test keeps them equal).
ALLOW_UNPINNED_ANNOTATION = "mlplane.dev/allow-unpinned-images"


def check(type_: str, props: Mapping[str, Any], context: ResourceContext) -> list[str]:
    """Messages for every container image that is not pinned (unless the object opts out)."""
    if annotation(props, ALLOW_UNPINNED_ANNOTATION) == "true":
        return []
    images = [(f"{c.path} ({c.name!r})", c.body.get("image")) for c in containers(type_, props)]
    if kind_of(type_) == "TrainJob":  # Kubeflow Trainer: the runtime's image, overridden here
        images.append(("spec.trainer", get(props, "spec", "trainer", "image")))
    found = []
    for where, image in images:
        if image is None:  # KServe's model container: the serving runtime (pinned by version) brings it
            continue
        problem = image_problem(image) if isinstance(image, str) and image else "is empty"
        if problem:
            found.append(f"{where}: image {image!r} {problem}")
    return found


RULE = ResourceRule(
    name=NAME,
    description="No container image is ':latest' or untagged (digests are fine), except steps of a pipeline "
                f"entry with allow_unpinned_images: true (annotation {ALLOW_UNPINNED_ANNOTATION}).",
    check=check,
)
