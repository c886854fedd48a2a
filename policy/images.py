"""Every image an (expanded) plan runs, where, which are pinned by tag alone, and the stack's digest rules.

Images are found by :func:`mlplane.components.images.refs.uses` in every object of the plan
(containers of any pod template, env, args, ConfigMap values; see that module for what
counts), the same scan the digest transform pins with.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlplane.components.images.refs import parse, uses
from mlplane.core.errors import input_error
from mlplane.infra.config import StackConfig
from mlplane.infra.config.images import SECTION
from mlplane.infra.offline.plan import Plan


@dataclass(frozen=True)
class ImageUse:
    """One place the plan names an image: the resource's name and the path in its properties."""

    resource: str
    path: str
    image: str


def image_uses(plan: Plan) -> Iterator[ImageUse]:
    """Every place a custom resource of ``plan`` names an image, in plan order."""
    for resource in plan:
        if resource.custom:
            for use in uses(resource.inputs):
                yield ImageUse(resource.name, use.path, use.image)


def plan_images(plan: Plan) -> Iterator[tuple[str, str]]:
    """``(resource name, image)`` for every place the plan names an image."""
    for use in image_uses(plan):
        yield use.resource, use.image


def has_digest(image: str) -> bool:
    """Whether ``image`` carries a ``@sha256`` digest."""
    ref = parse(image)
    return ref is not None and ref.digest is not None


def tag_only(plan: Plan) -> list[tuple[str, str]]:
    """The images of :func:`plan_images` that carry no ``@sha256`` digest, in plan order."""
    return [(name, image) for name, image in plan_images(plan) if not has_digest(image)]


def refuse_tags(config: StackConfig, plan: Plan) -> None:
    """Under ``mlplane:images.require_digest``, refuse a plan with an image pinned by tag alone.

    Raises:
        InputError: Naming the stack file, the key, the first such image, how many there are
            and the entry of ``mlplane:images.digests`` that would pin it.
    """
    if not config.images.require_digest:
        return
    found = tag_only(plan)
    if found:
        name, image = found[0]
        distinct = len({i for _, i in found})
        raise input_error(config.source.display, f"{SECTION}.require_digest",
                          f"true, but {distinct} image(s) of the plan are pinned by tag alone (first: {image!r} "
                          f"in {name}); `mlplane images --stack {config.source.command_argument}` lists them all",
                          value=image, allowed=f"each image as <image>@sha256:<64 hex>: add {image!r}: \"sha256:<64 hex>\" "
                                               f"to {SECTION}.digests, or require_digest: false")


def unused_digests(config: StackConfig, plan: Plan) -> list[str]:
    """The keys of ``mlplane:images.digests`` that name no image the plan runs (sorted).

    Not an error: a map may cover both release trains across an upgrade, and an unexpanded
    chart's images are unknown offline. The CLI warns.
    """
    named = {image for _, image in plan_images(plan)}
    pinned = {image.split("@", 1)[0] for image in named}
    return sorted(key for key in config.images.digests if key not in named | pinned)
