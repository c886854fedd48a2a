"""The capacity layer: accelerator pools, device plugins, storage and the artifact store.

:func:`capacity_facts` computes what later layers need from the config alone (pure, so
pipelines and serving endpoints are checked while the config loads);
:func:`declare_capacity` declares the resources and returns the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pulumi

from mlplane.components.accelerators.devices import DeviceEnablement, DeviceEnablementArgs
from mlplane.infra.config.sources import absolute_sources
from mlplane.components.accelerators.pool import AcceleratorPool, AcceleratorPoolArgs, pool_resource_name
from mlplane.components.namespace import PlatformNamespace, PlatformNamespaceArgs
from mlplane.components.scheduling import AcceleratorRequest, Placement, PoolScheduling, place, pools_for
from mlplane.components.storage.artifacts import ArtifactStore, ArtifactStoreArgs
from mlplane.components.storage.classes import StorageClasses, StorageClassesArgs
from mlplane.components.storage.rules import claim_protected, one_node_claim
from mlplane.components.storage.spec import ArtifactStoreFacts, artifact_store_facts
from mlplane.components.renames import aliases
from mlplane.components.storage.volume import Volume, VolumeArgs, volume_resource_name
from mlplane.components.platform.namespaces import profile_role
from mlplane.infra.config import StackConfig
from mlplane.infra.config.workbenches import workbench_namespaces
from mlplane.infra.layers.context import StackContext
from mlplane.infra.layers.platform import KUBEFLOW_NAMESPACE, PlatformFacts

#: Namespace of the device plugins (Pod Security: privileged; see docs/accelerators.md).
DEVICES_NAMESPACE = "mlplane-accelerators"


@dataclass(frozen=True)
class VolumeFacts:
    """A model or data volume that work can mount.

    Attributes:
        claim_name: The PersistentVolumeClaim's name.
        namespace: Its namespace (the workload namespace).
        size: Requested size (a Kubernetes quantity).
        storage_class: Its StorageClass.
        access_modes: Its access modes.
        one_node: Whether it attaches to one node only (components/storage/rules.py:
            ``one_node_claim``): its pods must never overlap on two nodes.
    """

    claim_name: str
    namespace: str
    size: str
    storage_class: str
    access_modes: tuple[str, ...]
    one_node: bool = False

    def pod_volume(self, name: str | None = None, read_only: bool = False) -> dict[str, Any]:
        """The pod ``volumes`` entry for this claim."""
        return {"name": name or self.claim_name,
                "persistentVolumeClaim": {"claimName": self.claim_name, "readOnly": read_only}}


@dataclass(frozen=True)
class CapacityFacts:
    """What the capacity layer publishes to later layers.

    Attributes:
        stack: The stack name (for messages).
        pools: Each accelerator pool's scheduling facts, in the stack file's order:
            resource name, node selector, tolerations, per-node capacity, sharing.
        storage_classes: Names of the StorageClasses mlplane created.
        default_storage_class: The one marked default, if any.
        volumes: Model and data volumes by name.
        artifacts: How work reaches the artifact store (URI scheme and bucket or
            endpoint, the ServiceAccount that has access, how pods get credentials);
            None when the stack has no artifact store.
        devices_namespace: Namespace of the device plugins, or None without pools.
        storage_resources: The declared volumes and artifact store (with its
            ServiceAccount); work that mounts or reads them depends on these.
    """

    stack: str
    pools: tuple[PoolScheduling, ...] = ()
    storage_classes: tuple[str, ...] = ()
    default_storage_class: str | None = None
    volumes: dict[str, VolumeFacts] = field(default_factory=dict)
    artifacts: ArtifactStoreFacts | None = None
    devices_namespace: str | None = None
    storage_resources: tuple[pulumi.Resource, ...] = ()

    __hash__ = None  # type: ignore[assignment]

    def place(self, request: AcceleratorRequest) -> Placement:
        """Place an accelerator request on this stack's pools (see :func:`components.scheduling.place`).

        Raises:
            SchedulingError: No pool can satisfy it.
        """
        return place(request, self.pools, stack=self.stack)


def capacity_facts(config: StackConfig) -> CapacityFacts:
    """The capacity layer's facts, from the validated config alone (no Pulumi)."""
    cluster, storage = config.cluster, config.storage
    namespace = cluster.workload_namespace
    pools = pools_for(config)
    # GKE installs NVIDIA drivers and its own device plugin: no device plugins there.
    devices = DEVICES_NAMESPACE if pools and cluster.kind != "gke" else None
    if storage is None:
        return CapacityFacts(stack=config.source.stack, pools=pools,
                             devices_namespace=devices)
    region = getattr(cluster, "region", None)
    return CapacityFacts(
        stack=config.source.stack,
        pools=pools,
        storage_classes=tuple(c.name for c in storage.classes),
        default_storage_class=next((c.name for c in storage.classes if c.default), None),
        volumes={v.name: VolumeFacts(v.claim_name, v.namespace or namespace, v.size, v.storage_class, v.access_modes,
                                     one_node_claim(v.access_modes, v.storage_class, storage.classes))
                 for v in storage.volumes},
        artifacts=artifact_store_facts(storage.artifacts, namespace=namespace, region=region)
        if storage.artifacts is not None else None,
        devices_namespace=devices,
    )


def _pool_target(config: StackConfig) -> dict[str, Any]:
    cluster, settings = config.cluster, config.accelerators
    assert settings is not None
    if cluster.kind == "gke":
        return {"kind": "gke", "project": cluster.project, "location": cluster.location, "cluster": cluster.name,
                "settings": settings.gke}
    if cluster.kind == "eks":
        return {"kind": "eks", "cluster": cluster.name, "region": cluster.region, "settings": settings.eks}
    if cluster.kind == "aks":
        return {"kind": "aks", "resource_group": cluster.resource_group, "cluster": cluster.name,
                "location": cluster.location}
    return {"kind": "selfhosted", "gpu_hour_prices": dict(config.accelerators.gpu_hour_prices)
            if config.accelerators is not None else {}}


def declare_capacity(ctx: StackContext, platform: PlatformFacts) -> CapacityFacts:
    """Declare pools, device plugins, storage classes, volumes and the artifact store.

    Args:
        ctx: The stack's config and Kubernetes provider.
        platform: The platform layer's facts (volumes and the artifact store's
            ServiceAccount live in its workload namespace).

    Returns:
        The capacity facts (the same as :func:`capacity_facts`).
    """
    config = ctx.config
    facts = capacity_facts(config)
    accelerators = config.accelerators
    if accelerators is not None and accelerators.pools:
        target = _pool_target(config)
        for pool in accelerators.pools:
            AcceleratorPool(pool_resource_name(pool.name), AcceleratorPoolArgs(spec=pool, target=target),
                            ctx.opts(aliases=aliases(pool.formerly, pool_resource_name)))
    if facts.devices_namespace is not None:
        assert accelerators is not None
        devices = PlatformNamespace(
            "accelerator-devices",
            PlatformNamespaceArgs(namespace=DEVICES_NAMESPACE, pod_security="privileged"),
            ctx.opts(),
        )
        DeviceEnablement(
            "devices",
            DeviceEnablementArgs(namespace=DEVICES_NAMESPACE, backend=config.cluster.kind,
                                 settings=accelerators, pools=accelerators.pools,
                                 chart_sources=absolute_sources(config).charts if config.kubeflow else {}),
            ctx.opts(depends_on=[devices]),
        )
    storage = config.storage
    if storage is None:
        return facts
    workloads: list[pulumi.Resource] = [platform.namespaces["workloads"]]
    classes = StorageClasses("storage-classes", StorageClassesArgs(classes=storage.classes), ctx.opts()) \
        if storage.classes else None
    after = [*workloads, *([classes] if classes is not None else [])]
    made: list[pulumi.Resource] = []
    for volume in storage.volumes:
        # A profile's claim waits for the profile's namespace (the platform layer made it).
        home = [platform.namespaces[profile_role(volume.namespace)]] \
            if volume.namespace not in (None, platform.workload_namespace) else []
        made.append(Volume(volume_resource_name(volume.name),
               VolumeArgs(spec=volume, namespace=volume.namespace or platform.workload_namespace,
                          protect=claim_protected(volume.protect, storage.protect)),
               ctx.opts(depends_on=[*after, *home], aliases=aliases(volume.formerly, volume_resource_name))))
    if storage.artifacts is not None:
        cluster = config.cluster
        # Profiles whose notebooks use the store get its identity too (their namespaces first).
        profiles = workbench_namespaces(config)
        store_after = [*after, *(platform.namespaces[profile_role(p)] for p in profiles)]
        made.append(ArtifactStore("artifacts", ArtifactStoreArgs(
            store=storage.artifacts, workload_namespace=platform.workload_namespace, protect=storage.protect,
            project=getattr(cluster, "project", None), region=getattr(cluster, "region", None),
            resource_group=getattr(cluster, "resource_group", None),
            allow_ingress_from=(KUBEFLOW_NAMESPACE,), other_namespaces=profiles,
        ), ctx.opts(depends_on=store_after)))
    return replace(facts, storage_resources=tuple(made))
