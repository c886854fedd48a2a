"""``build(config)``: the whole stack program, from a validated config to resources.

Nothing happens at import time; the Pulumi engine (``infra/__main__.py``) and the
offline render both call :func:`build` with a :class:`StackConfig`. Every check that can
fail on user input runs while the config is loaded, before this function registers
anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from mlplane.components.images.pin import digest_transform
from mlplane.infra.cluster import kubernetes_provider
from mlplane.infra.config import StackConfig
from mlplane.infra.layers.capacity import CapacityFacts, declare_capacity
from mlplane.infra.layers.context import StackContext
from mlplane.infra.layers.pipelines import PipelinesFacts, declare_pipelines
from mlplane.infra.layers.platform import PlatformFacts, declare_platform
from mlplane.infra.layers.serving import ServingFacts, declare_serving
from mlplane.infra.layers.workbenches import WorkbenchesFacts, declare_workbenches


@dataclass(frozen=True)
class Built:
    """What :func:`build` made, for exports and tests."""

    platform: PlatformFacts
    capacity: CapacityFacts
    serving: ServingFacts
    pipelines: PipelinesFacts
    workbenches: WorkbenchesFacts


def build(config: StackConfig) -> Built:
    """Declare every resource of the stack described by ``config``.

    Args:
        config: The validated stack config.

    Returns:
        The facts each layer published.
    """
    if config.images.digests:
        # Before any resource: a stack transform reaches only resources registered after it
        # (pulumi/pulumi#16304), and through them every chart's and directory's children.
        pulumi.runtime.register_resource_transform(digest_transform(config.images.digests))
    ctx = StackContext(config=config, provider=kubernetes_provider(config))
    platform = declare_platform(ctx)
    capacity = declare_capacity(ctx, platform)
    serving = declare_serving(ctx, platform, capacity)
    pipelines = declare_pipelines(ctx, platform, capacity, serving)
    workbenches = declare_workbenches(ctx, platform, capacity, serving)
    pulumi.export("namespaces", {role: ns.namespace for role, ns in platform.namespaces.items()})
    return Built(platform=platform, capacity=capacity, serving=serving, pipelines=pipelines,
                 workbenches=workbenches)
