"""Options of a serving component's children."""

from __future__ import annotations

import pulumi


def child_options(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """``parent=parent`` plus the component's own ``depends_on``.

    Children do not inherit a component's dependencies: an InferenceService whose
    component waits for the platform must itself wait for it (for KServe's CRDs and
    webhooks, cert-manager and Istio), and the plan shows that edge on each object.
    """
    depends = opts.depends_on if opts is not None else None
    if depends is None:
        return pulumi.ResourceOptions(parent=parent)
    listed = list(depends) if isinstance(depends, (list, tuple)) else [depends]
    return pulumi.ResourceOptions(parent=parent, depends_on=listed)  # type: ignore[arg-type]
