"""AKS backend: a ``pulumi_azure_native`` agent pool of GPU VMs.

AKS installs the NVIDIA driver on GPU node images; mlplane adds the device plugin
(``devices.py``). MIG is AKS's own ``gpu_instance_profile``. The cluster autoscaler owns
the node count, so ``count`` is ignored after creation: Azure requires it when the pool is
created (pulumi/pulumi-azure-native#2943: "Required parameter properties.count is missing"),
and a changed count on an autoscaled pool would be refused (pulumi/pulumi-azure#780). The
autoscaler's ``minCount`` and ``maxCount`` update in place (`az aks nodepool update
--update-cluster-autoscaler --min-count --max-count`; neither is among the agent pool's
create-only fields in ``infra/offline/replace_rules.py``), so a changed minimum or maximum
never replaces the pool (tests/test_pool_scaling.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_azure_native.containerservice as containerservice

from mlplane.components.accelerators.spec import node_taints, pool_node_labels

if TYPE_CHECKING:
    from mlplane.components.accelerators.pool import AcceleratorPool, AcceleratorPoolArgs


def declare(pool: "AcceleratorPool", name: str, args: "AcceleratorPoolArgs") -> None:
    """Declare the agent pool."""
    spec, target = args.spec, args.target
    spot = {"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete", "spot_max_price": -1} \
        if spec.spot else {"scale_set_priority": "Regular"}
    mig = {"gpu_instance_profile": "MIG" + spec.mig_profile.split(".", 1)[0]} if spec.mig_profile else {}
    containerservice.AgentPool(
        f"{name}-agent-pool",
        agent_pool_name=spec.node_name,
        resource_group_name=target.resource_group,
        resource_name_=target.cluster,
        mode="User",
        os_type="Linux",
        vm_size=spec.machine_type,
        os_disk_size_gb=spec.disk_size_gb,
        count=spec.min_nodes,
        enable_auto_scaling=True,
        min_count=spec.min_nodes,
        max_count=spec.max_nodes,
        node_labels=pool_node_labels(spec, "aks"),
        node_taints=[f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}"
                     for t in node_taints(spec, "aks")],
        **spot,
        **mig,
        # An agent pool's VM size, OS disk or priority cannot change in place (pulumi/pulumi-azure-native
        # PR #2774: "not allowed to update those properties within an existing agent pool"), and
        # the pool keeps its name: created first, Azure would update the old pool and the delete
        # that follows would remove it (pulumi/pulumi-azure#182). So the old pool goes first.
        opts=pulumi.ResourceOptions(parent=pool, ignore_changes=["count"], delete_before_replace=True),
    )
