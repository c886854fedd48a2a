"""Self-hosted backend: label existing nodes with pulumi-kubernetes node patches; taints are a checked prerequisite.

Nodes chosen by ``names`` get the pool's labels through a ``NodePatch`` (server-side apply,
forced: ``metadata.labels`` is a map, so forcing takes over only the keys mlplane sets and
leaves the kubelet's and others' labels alone). Their taints are not patched:
``spec.taints`` is an atomic list under server-side apply (``x-kubernetes-list-type:
atomic`` in the API server's OpenAPI for ``io.k8s.api.core.v1.NodeSpec``), so a forced
apply replaces the whole list, dropping every taint others set (the node lifecycle
controller's, an admin's ``kubectl taint``), and an unforced one conflicts whenever
anyone else manages a taint (pulumi-kubernetes v4.32.0 ``provider/pkg/await/await.go``:
Patch resources apply with ``Force`` only under ``pulumi.com/patchForce``). The pool's
taints are instead a prerequisite with its own ``kubectl taint`` command and check
(:mod:`infra.prerequisites`); ``kubectl taint`` edits one taint and keeps the others.
Removing the pool removes mlplane's labels.

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
    """Patch each named node with the pool's labels (its taints are a prerequisite)."""
    spec = args.spec
    if spec.nodes is None or not spec.nodes.names:
        return
    labels = pool_node_labels(spec, "selfhosted")
    for node in spec.nodes.names:
        k8s.core.v1.NodePatch(
            f"{name}-node-{node}",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name=node, labels=labels, annotations={"pulumi.com/patchForce": "true"}
            ),
            opts=pulumi.ResourceOptions(parent=pool),
        )
