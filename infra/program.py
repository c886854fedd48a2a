"""``build(config)``: the whole stack program, from a validated config to resources.

Nothing happens at import time; the Pulumi engine (``infra/__main__.py``) and the
offline render both call :func:`build` with a :class:`StackConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.namespace import PlatformNamespace, PlatformNamespaceArgs
from infra.cluster import kubernetes_provider
from infra.config import StackConfig

#: Namespace of Kubeflow's own components (fixed by upstream manifests).
KUBEFLOW_NAMESPACE = "kubeflow"


@dataclass(frozen=True)
class Built:
    """What :func:`build` made, for exports and tests."""

    namespaces: dict[str, PlatformNamespace]


def build(config: StackConfig) -> Built:
    """Declare every resource of the stack described by ``config``.

    Args:
        config: The validated stack config.

    Returns:
        Handles to the top-level components.
    """
    provider = kubernetes_provider(config)
    on_cluster = pulumi.ResourceOptions(provider=provider)

    namespaces = {
        "kubeflow": PlatformNamespace(
            "kubeflow",
            PlatformNamespaceArgs(namespace=KUBEFLOW_NAMESPACE),
            on_cluster,
        ),
        "workloads": PlatformNamespace(
            "workloads",
            PlatformNamespaceArgs(namespace=config.cluster.workload_namespace),
            on_cluster,
        ),
    }
    pulumi.export("namespaces", {key: ns.namespace for key, ns in namespaces.items()})
    return Built(namespaces=namespaces)
