"""``mlplane:cluster``: which cluster the plan targets and how to reach it."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import AfterValidator, Field

from mlplane.components.base import ArgsModel
from mlplane.core.naming import check_dns_label

DnsLabel = Annotated[str, AfterValidator(check_dns_label)]


def check_context(value: str) -> str:
    """A kubeconfig context name: not empty (empty would mean "the current context"), one line."""
    if not value or any(not c.isprintable() for c in value):
        raise ValueError("must be a kubeconfig context name: not empty, printable characters only")
    return value


def check_kubeconfig(value: str) -> str:
    """A kubeconfig path: not empty, printable, and ``~`` only as the current user's home (``~/...``)."""
    if not value or any(not c.isprintable() for c in value):
        raise ValueError("must be a file path: not empty, printable characters only")
    if value.startswith("~") and value != "~" and not value.startswith("~/"):
        raise ValueError("only ~/ (the current user's home) is expanded; write ~/path, or a path without ~")
    return value


Context = Annotated[str, AfterValidator(check_context)]
KubeconfigPath = Annotated[str, AfterValidator(check_kubeconfig)]


class _ClusterBase(ArgsModel):
    context: Context | None = Field(
        None,
        description="kubeconfig context of the cluster. Default: per kind (see each kind).",
    )
    kubeconfig: KubeconfigPath | None = Field(
        None,
        description=(
            "Path to a kubeconfig file, relative to the stack file's folder. Default: the "
            "KUBECONFIG environment variable, else ~/.kube/config."
        ),
    )
    workload_namespace: DnsLabel = Field(
        "mlplane",
        description="Namespace where pipelines, serving endpoints and web apps run unless they name their own.",
    )

    @property
    def effective_context(self) -> str | None:
        """The kubeconfig context to use: the configured one or the kind's convention."""
        return self.context


class LocalCluster(_ClusterBase):
    """A cluster on the developer's machine (kind, k3d, minikube): CPU only, no cloud."""

    kind: Literal["local"] = Field(description="A local cluster (kind, k3d, minikube).")
    context: Context | None = Field(
        "kind-mlplane",
        description="kubeconfig context; `kind create cluster --name mlplane` makes `kind-mlplane`.",
    )


class SelfHostedCluster(_ClusterBase):
    """An existing cluster the platform team runs itself (bare metal, VMs, on premises)."""

    kind: Literal["selfhosted"] = Field(description="An existing self-hosted cluster.")


class GkeCluster(_ClusterBase):
    """An existing GKE cluster; mlplane adds node pools and the platform to it."""

    kind: Literal["gke"] = Field(description="Google Kubernetes Engine.")
    project: str = Field(description="Google Cloud project id of the cluster.", min_length=1)
    location: str = Field(description="Region or zone of the cluster, e.g. europe-west4.", min_length=1)
    name: DnsLabel = Field(description="Name of the GKE cluster.")

    @property
    def effective_context(self) -> str:
        """The context `gcloud container clusters get-credentials` creates, unless set."""
        return self.context or f"gke_{self.project}_{self.location}_{self.name}"


class EksCluster(_ClusterBase):
    """An existing EKS cluster; mlplane adds Karpenter node pools and the platform."""

    kind: Literal["eks"] = Field(description="Amazon Elastic Kubernetes Service.")
    region: str = Field(description="AWS region of the cluster, e.g. eu-west-1.", min_length=1)
    name: DnsLabel = Field(description="Name of the EKS cluster.")

    @property
    def effective_context(self) -> str:
        """The context name to use: the configured one or the cluster name."""
        return self.context or self.name


class AksCluster(_ClusterBase):
    """An existing AKS cluster; mlplane adds agent pools and the platform to it."""

    kind: Literal["aks"] = Field(description="Azure Kubernetes Service.")
    resource_group: str = Field(description="Azure resource group of the cluster.", min_length=1)
    name: DnsLabel = Field(description="Name of the AKS cluster.")
    location: str | None = Field(
        None, min_length=1,
        description="Azure region of the cluster, e.g. polandcentral: the region whose prices a plan states for "
                    "its GPU pools (mlplane does not create the cluster, so nothing else uses it).")

    @property
    def effective_context(self) -> str:
        """The context `az aks get-credentials` creates, unless set."""
        return self.context or self.name


ClusterConfig = Annotated[
    Union[LocalCluster, SelfHostedCluster, GkeCluster, EksCluster, AksCluster],
    Field(discriminator="kind", description="The cluster the plan targets, by kind."),
]
