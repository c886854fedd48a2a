"""GKE backend: a ``pulumi_gcp`` node pool with guest accelerators.

GKE installs the NVIDIA driver (``gpu_driver_installation_config``) and runs its own
device plugin, which shares GPUs by ``gpu_sharing_config`` (time-sharing or MPS) and
partitions them by ``gpu_partition_size`` (MIG). GKE taints GPU nodes with
``nvidia.com/gpu=present:NoSchedule`` itself, so that default taint is not repeated.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from mlplane.components.accelerators.catalog import find_model
from mlplane.components.accelerators.spec import pool_node_labels

if TYPE_CHECKING:
    from mlplane.components.accelerators.pool import AcceleratorPool, AcceleratorPoolArgs

_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
_GKE_GPU_TAINT = "nvidia.com/gpu"
#: A GKE zone (``europe-west4-a``); any other location is a region.
_ZONE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")
#: GKE spreads a regional cluster's node pools over three zones of its region unless told
#: otherwise (cloud.google.com/kubernetes-engine/docs/concepts/regional-clusters: "provisions
#: nodes in three us-east1 zones" by default; its default pool is "nine nodes ... three per zone").
REGIONAL_ZONES = 3


def initial_node_count(min_nodes: int, location: str) -> int:
    """The node pool's ``initial_node_count`` that starts it with at least ``min_nodes`` nodes in total.

    pulumi-gcp ``container.NodePool`` (schema of ``gcp:container/nodePool:NodePool``):
    ``initialNodeCount`` is "The initial number of nodes for the pool. In regional or
    multi-zonal clusters, this is the number of nodes per zone. Changing this will force
    recreation of the resource." A zonal pool starts with ``min_nodes``; a regional one
    with ``ceil(min_nodes / 3)`` in each of its three zones (1 for 3, 2 for 4: a
    regional pool's size is a multiple of its zones; the autoscaler, whose
    ``total_min_node_count`` is ``min_nodes``, removes idle extra nodes).
    """
    if _ZONE.match(location):
        return min_nodes
    return math.ceil(min_nodes / REGIONAL_ZONES)


def declare(pool: "AcceleratorPool", name: str, args: "AcceleratorPoolArgs") -> None:
    """Declare the node pool."""
    spec, target = args.spec, args.target
    model = find_model(spec.vendor, spec.model)
    assert model is not None and model.gke_type is not None  # checked by pool_problems
    container = gcp.container
    sharing = None
    if spec.sharing is not None:
        sharing = container.NodePoolNodeConfigGuestAcceleratorGpuSharingConfigArgs(
            gpu_sharing_strategy="MPS" if spec.sharing.kind == "mps" else "TIME_SHARING",
            max_shared_clients_per_gpu=spec.sharing.replicas,
        )
    accelerator = container.NodePoolNodeConfigGuestAcceleratorArgs(
        type=model.gke_type,
        count=spec.accelerators_per_node,
        gpu_driver_installation_config=container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
            gpu_driver_version=target.settings.driver_version,
        ),
        gpu_sharing_config=sharing,
        gpu_partition_size=spec.mig_profile,
    )
    taints = [container.NodePoolNodeConfigTaintArgs(key=t.key, value=t.value or "true", effect=_EFFECTS[t.effect])
              for t in spec.effective_taints if t.key != _GKE_GPU_TAINT]
    container.NodePool(
        f"{name}-node-pool",
        name=spec.node_name,
        project=target.project,
        location=target.location,
        cluster=target.cluster,
        initial_node_count=initial_node_count(spec.min_nodes, target.location),
        autoscaling=container.NodePoolAutoscalingArgs(
            total_min_node_count=spec.min_nodes, total_max_node_count=spec.max_nodes, location_policy="ANY",
        ),
        management=container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
        node_config=container.NodePoolNodeConfigArgs(
            machine_type=spec.machine_type,
            spot=spec.spot,
            disk_size_gb=spec.disk_size_gb,
            disk_type="pd-balanced",
            image_type="COS_CONTAINERD",
            labels=pool_node_labels(spec, "gke"),
            taints=taints or None,
            guest_accelerators=[accelerator],
            oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
            # Pods get Google credentials only through Workload Identity, never the node's.
            workload_metadata_config=container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        ),
        # The pool keeps its name, so a replacement must delete the old pool first: created
        # first, the new pool's name is still taken (pulumi/pulumi#1620, a GKE node pool
        # replacement failing so). Its nodes are gone until the new pool's are up.
        # initialNodeCount only matters at creation and forces recreation when it changes
        # (pulumi-gcp's schema, above): ignored afterwards, a changed min_nodes updates the
        # autoscaler's total_min_node_count in place instead of replacing the pool.
        opts=pulumi.ResourceOptions(parent=pool, delete_before_replace=True, ignore_changes=["initial_node_count"]),
    )
