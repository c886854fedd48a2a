"""The platform layer: namespaces, cluster add-ons and Kubeflow's components."""

from __future__ import annotations

from dataclasses import dataclass

from components.namespace import PlatformNamespace, PlatformNamespaceArgs
from infra.layers.context import StackContext

#: Namespace of Kubeflow's own components (fixed by upstream manifests).
KUBEFLOW_NAMESPACE = "kubeflow"


@dataclass(frozen=True)
class PlatformFacts:
    """What later layers need to know about the platform.

    Attributes:
        namespaces: The platform's namespaces by role (``kubeflow``, ``workloads``).
        workload_namespace: Where pipelines, endpoints and web apps run by default.
    """

    namespaces: dict[str, PlatformNamespace]
    workload_namespace: str


def declare_platform(ctx: StackContext) -> PlatformFacts:
    """Declare the platform's namespaces (and, as they are added, its add-ons)."""
    workload_namespace = ctx.config.cluster.workload_namespace
    namespaces = {
        "kubeflow": PlatformNamespace("kubeflow", PlatformNamespaceArgs(namespace=KUBEFLOW_NAMESPACE), ctx.opts()),
        "workloads": PlatformNamespace(
            "workloads", PlatformNamespaceArgs(namespace=workload_namespace), ctx.opts()
        ),
    }
    return PlatformFacts(namespaces=namespaces, workload_namespace=workload_namespace)
