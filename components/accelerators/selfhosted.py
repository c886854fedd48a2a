"""Self-hosted backend: label and taint existing nodes with pulumi-kubernetes node patches.

Nodes chosen by ``names`` are patched (server-side apply, forced: kubelet and installers
own other fields of a Node); removing the pool removes mlplane's labels and taints.
Nodes chosen by ``labels`` are only selected: a plan cannot list a live cluster's nodes,
so their labels and taints are the platform team's (see docs/accelerators.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from mlplane.components.accelerators.spec import pool_node_labels

if TYPE_CHECKING:
    from mlplane.components.accelerators.pool import AcceleratorPool, AcceleratorPoolArgs


def declare(pool: "AcceleratorPool", name: str, args: "AcceleratorPoolArgs") -> None:
    """Patch each named node with the pool's labels and taints."""
    spec = args.spec
    if spec.nodes is None or not spec.nodes.names:
        return
    labels = pool_node_labels(spec, "selfhosted")
    taints = [k8s.core.v1.TaintPatchArgs(key=t.key, value=t.value or None, effect=t.effect)
              for t in spec.effective_taints]
    for node in spec.nodes.names:
        k8s.core.v1.NodePatch(
            f"{name}-node-{node}",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name=node, labels=labels, annotations={"pulumi.com/patchForce": "true"}
            ),
            spec=k8s.core.v1.NodeSpecPatchArgs(taints=taints),
            opts=pulumi.ResourceOptions(parent=pool),
        )
