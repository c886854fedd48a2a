"""``mlplane:kubeflow``: the platform's release train, components, ingress and profiles.

The section's model is :class:`components.platform.spec.KubeflowSpec` (the ``Platform``
component's own args). The rules here check what the model alone cannot: components
whose dependencies are off, overrides that do not fit how a component is installed,
and pipelines without an artifact store (which spans ``mlplane:storage``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlplane.components.platform.resolve import resolve, spec_problems
from mlplane.components.platform.spec import KubeflowSpec
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

SECTION = "mlplane:kubeflow"

KubeflowConfig = KubeflowSpec

__all__ = ["SECTION", "KubeflowConfig", "artifact_store_of"]


@rule
def kubeflow_components_fit_together(config: "StackConfig") -> Iterator[Finding]:
    """Components whose dependencies are off, misplaced overrides, ACME without a host, ..."""
    if config.kubeflow is None:
        return
    for problem in spec_problems(config.kubeflow):
        yield Finding((SECTION, *problem.path), problem.message, problem.value, problem.allowed)


def artifact_store_of(config: "StackConfig") -> Any:
    """The artifact store ``mlplane:storage`` declares, or None.

    ``mlplane:storage`` is its own section (accelerators and storage); until a stack
    has it, there is no artifact store for pipelines.
    """
    storage = getattr(config, "storage", None)
    if storage is None:
        return None
    for name in ("artifact_store", "artifacts"):
        store = getattr(storage, name, None)
        if store is not None:
            return store
    return None


@rule
def pipelines_need_an_artifact_store(config: "StackConfig") -> Iterator[Finding]:
    """Kubeflow Pipelines keeps every run's artifacts in the stack's artifact store."""
    if config.kubeflow is None or not resolve(config.kubeflow)["pipelines"].enabled:
        return
    if "storage" not in type(config).model_fields:
        return  # this build has no mlplane:storage section to declare a store in
    if artifact_store_of(config) is None:
        yield Finding(
            (SECTION, "components", "pipelines", "enabled"),
            "Kubeflow Pipelines needs an artifact store, and mlplane:storage declares none",
            True,
            "declare an artifact store under mlplane:storage, or set components.pipelines.enabled: false",
        )


#: The cluster kind whose workload identity each DNS-01 provider's credentials come through.
DNS_PROVIDER_CLUSTER = {"cloud-dns": "gke", "route53": "eks", "azure-dns": "aks"}


@rule
def dns01_fits_the_cluster(config: "StackConfig") -> Iterator[Finding]:
    """DNS-01 credentials come through the cluster's workload identity: GKE, EKS (IRSA) or AKS."""
    dns = config.kubeflow.issuer.dns if config.kubeflow is not None else None
    if dns is None or DNS_PROVIDER_CLUSTER[dns.provider] == config.cluster.kind:
        return
    fitting = [p for p, kind in DNS_PROVIDER_CLUSTER.items() if kind == config.cluster.kind]
    yield Finding((SECTION, "issuer", "dns", "provider"),
                  f"{dns.provider} credentials come through {DNS_PROVIDER_CLUSTER[dns.provider]}'s workload identity, "
                  f"and this cluster is {config.cluster.kind}", dns.provider,
                  (f"provider {fitting[0]}" if fitting else "HTTP-01 (omit dns)") + ", kind: existing-secret with "
                  "a certificate you obtain yourself, or kind: self-signed")
