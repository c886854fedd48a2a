"""Every image an (expanded) plan runs, and which of them are pinned by tag alone (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterator

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
