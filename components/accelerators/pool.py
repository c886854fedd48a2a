"""``AcceleratorPool``: one provider-neutral pool spec, made real by the cluster's backend."""

from __future__ import annotations

import importlib
from typing import Annotated, Any, Literal, Union

import pulumi
from pydantic import Field, model_validator

from mlplane.components.accelerators.spec import EksSettings, GkeSettings, PoolSpec, pool_problems, pool_scheduling
from mlplane.components.base import ArgsModel
from mlplane.components.scheduling import PoolScheduling


def pool_resource_name(name: str) -> str:
    """The Pulumi name of the ``AcceleratorPool`` of the stack's pool ``name``."""
    return f"pool-{name}"


class SelfHostedTarget(ArgsModel):
    """Existing nodes of a self-hosted cluster, patched through the Kubernetes API."""

    kind: Literal["selfhosted"] = Field(description="Self-hosted cluster.")
    gpu_hour_prices: dict[str, float] = Field(
        default_factory=dict, description="The stack's own price of one GPU for an hour, per model (USD).")


class GkeTarget(ArgsModel):
    """The GKE cluster that gets the node pool."""

    kind: Literal["gke"] = Field(description="GKE.")
    project: str = Field(description="Google Cloud project of the cluster.")
    location: str = Field(description="Region or zone of the cluster.")
    cluster: str = Field(description="GKE cluster name.")
    settings: GkeSettings = Field(default_factory=GkeSettings, description="GKE node pool settings.")


class EksTarget(ArgsModel):
    """The EKS cluster whose Karpenter gets the NodePool."""

    kind: Literal["eks"] = Field(description="EKS with Karpenter.")
    cluster: str = Field(description="EKS cluster name.")
    region: str | None = Field(None, description="AWS region of the cluster (the region whose prices apply).")
    settings: EksSettings = Field(description="Karpenter node class settings.")


class AksTarget(ArgsModel):
    """The AKS cluster that gets the agent pool."""

    kind: Literal["aks"] = Field(description="AKS.")
    resource_group: str = Field(description="Resource group of the cluster.")
    cluster: str = Field(description="AKS cluster name.")
    location: str | None = Field(None, description="Azure region of the cluster (the region whose prices apply).")


PoolTarget = Annotated[Union[SelfHostedTarget, GkeTarget, EksTarget, AksTarget], Field(discriminator="kind")]


class AcceleratorPoolArgs(ArgsModel):
    """Arguments of :class:`AcceleratorPool`."""

    spec: PoolSpec = Field(description="The pool, provider-neutral.")
    target: PoolTarget = Field(description="The cluster that gets the pool, by kind.")

    @model_validator(mode="after")
    def _fits_target(self) -> "AcceleratorPoolArgs":
        problems = pool_problems(self.spec, self.target.kind)
        if problems:
            raise ValueError("; ".join(f"{'.'.join(p.field)}: {p.message} (got {p.value!r})" for p in problems))
        return self


def pool_facts(args: AcceleratorPoolArgs) -> dict[str, Any]:
    """The backend-neutral facts of a pool: backend, region, machine, GPUs, nodes, spot, sharing."""
    spec, target = args.spec, args.target
    region = {"gke": getattr(target, "location", None), "eks": getattr(target, "region", None),
              "aks": getattr(target, "location", None)}.get(target.kind)
    return {
        "backend": target.kind,
        "region": region,
        "vendor": spec.vendor,
        "model": spec.model,
        "machineType": spec.machine_type,
        "acceleratorsPerNode": spec.accelerators_per_node,
        "minNodes": spec.min_nodes,
        "maxNodes": spec.max_nodes,
        # Self-hosted pools named node by node; None where nodes are chosen by labels.
        "nodes": len(spec.nodes.names) if spec.nodes is not None and spec.nodes.names else None,
        "spot": spec.spot,
        "sharing": {"kind": spec.sharing.kind, "replicas": spec.sharing.replicas} if spec.sharing else None,
        "migProfile": spec.mig_profile,
        # A self-hosted stack's own price of one of its GPUs for an hour (None: not given).
        **({"gpuHourPrice": target.gpu_hour_prices[spec.model]}
           if target.kind == "selfhosted" and spec.model in target.gpu_hour_prices else {}),
    }


class AcceleratorPool(pulumi.ComponentResource):
    """An accelerator pool: node pool, Karpenter NodePool, agent pool or patched nodes.

    Attributes:
        scheduling: The pool's scheduling facts (resource name, node selector,
            tolerations) that work is placed with.
    """

    scheduling: PoolScheduling

    def __init__(self, name: str, args: AcceleratorPoolArgs, opts: pulumi.ResourceOptions | None = None):
        # The pool's facts are the component's inputs, so a plan (and its diff) can say
        # what a pool costs and how many GPUs it has, whatever the backend's resources.
        super().__init__("mlplane:accelerators:AcceleratorPool", name, pool_facts(args), opts)
        # Only the backend this cluster needs is imported (and with it, its cloud SDK).
        backend = importlib.import_module(f"mlplane.components.accelerators.{args.target.kind}")
        backend.declare(self, name, args)
        self.scheduling = pool_scheduling(args.spec, args.target.kind)
        self.register_outputs({"resource_name": self.scheduling.resource_name,
                               "node_selector": self.scheduling.node_selector})
