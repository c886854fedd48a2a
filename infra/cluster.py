"""The connection to the cluster: one explicit Kubernetes provider per stack.

Components never build providers; they receive this one through their options, so the
whole plan targets exactly the cluster the stack file names, never an ambient default.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mlplane.infra.config import StackConfig
from mlplane.infra.project import enclosing_root, relative_to_project

PROVIDER_NAME = "k8s"


def kubernetes_provider(config: StackConfig) -> k8s.Provider:
    """Create the stack's Kubernetes provider from ``mlplane:cluster``.

    Args:
        config: The stack config.

    Returns:
        A provider bound to the configured kubeconfig context (server-side apply on).
    """
    cluster = config.cluster
    kubeconfig = None
    if cluster.kubeconfig:
        resolved = config.source.resolve(cluster.kubeconfig)
        kubeconfig = relative_to_project(resolved, enclosing_root(config.source.base_dir))
    return k8s.Provider(
        PROVIDER_NAME,
        context=cluster.effective_context,
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(),
    )
