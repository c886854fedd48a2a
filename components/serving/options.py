"""Options of a serving component's children."""

from __future__ import annotations

import pulumi

from mlplane.components.base import depends_of


def child_options(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """``parent=parent`` plus the component's own ``depends_on``.

    Children do not inherit a component's dependencies: an InferenceService whose
    component waits for the platform must itself wait for it (for KServe's CRDs and
    webhooks, cert-manager and Istio), and the plan shows that edge on each object.
    """
    return pulumi.ResourceOptions(parent=parent, depends_on=depends_of(opts) or None)
