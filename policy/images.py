"""Every image an (expanded) plan runs, which of them are pinned by tag alone, and the stack's digest rule."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlplane.core.errors import input_error
from mlplane.infra.config import StackConfig
from mlplane.infra.offline.plan import Plan
from mlplane.policy.rules.pods import containers

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
#: Istio's injection placeholder: istiod's template sets the proxy image at admission.
_INJECTED = "auto"


def plan_images(plan: Plan) -> Iterator[tuple[str, str]]:
    """``(resource name, image)`` for every container image of the plan and KFP's cache image."""
    for resource in plan:
        if not resource.custom:
            continue
        for container in containers(resource.type, resource.inputs):
            image = container.body.get("image")
            if isinstance(image, str) and image != _INJECTED:
                yield resource.name, image
        data = resource.inputs.get("data")
        if resource.type == "kubernetes:core/v1:ConfigMap" and isinstance(data, dict) \
                and isinstance(data.get("cacheImage"), str):
            yield resource.name, data["cacheImage"]


def tag_only(plan: Plan) -> list[tuple[str, str]]:
    """The images of :func:`plan_images` that carry no ``@sha256`` digest, in plan order."""
    return [(name, image) for name, image in plan_images(plan) if not _DIGEST.search(image)]


def refuse_tags(config: StackConfig, plan: Plan) -> None:
    """Under ``mlplane:images.require_digest``, refuse a plan with an image pinned by tag alone.

    Raises:
        InputError: Naming the stack file, the key, the first such image and how many there are.
    """
    if not config.images.require_digest:
        return
    found = tag_only(plan)
    if found:
        name, image = found[0]
        raise input_error(config.source.display, "mlplane:images.require_digest",
                          f"true, but {len(found)} image(s) of the plan are pinned by tag alone (first: {name})",
                          value=image, allowed="every image as <name>@sha256:<64 hex digits>, or "
                                               "require_digest: false")
