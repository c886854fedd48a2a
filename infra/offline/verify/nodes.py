"""The nodes a real cluster would have, made by the harness (an allow-listed change).

No kubelet registers nodes on this control plane, so the harness creates one Node object per
node of every declared pool, plus CPU nodes, with the labels, taints and capacity the platform
itself (the cloud, Karpenter, the device plugins) gives them. The table below is taken from
each platform's documentation, cited per entry; mlplane's own selector code is never consulted.
What a pool declares reaches the nodes only the way the platform applies it (a self-hosted pool's taints are a checked prerequisite the cluster's
owner sets, so its nodes carry them): a GKE node pool's
``nodeConfig.labels``/``taints``, an AKS agent pool's ``nodeLabels``/``nodeTaints``, a Karpenter
NodePool's ``spec.template``, a self-hosted pool's node names (the NodePatch resources of the
plan then label and taint them, as on the real cluster).

Sources:
- Kubelet labels ``kubernetes.io/hostname``, ``kubernetes.io/os``, ``kubernetes.io/arch``:
  https://kubernetes.io/docs/reference/labels-annotations-taints/
- GKE: ``cloud.google.com/gke-nodepool``, ``cloud.google.com/gke-accelerator``; GPU nodes get the
  taint ``nvidia.com/gpu=present:NoSchedule`` and ``nvidia.com/gpu`` capacity; GPU sharing adds
  ``cloud.google.com/gke-gpu-sharing-strategy`` and ``cloud.google.com/gke-max-shared-clients-per-gpu``:
  https://cloud.google.com/kubernetes-engine/docs/how-to/gpus,
  https://cloud.google.com/kubernetes-engine/docs/how-to/timesharing-gpus
- AKS: ``kubernetes.azure.com/agentpool`` and ``agentpool`` name the pool; ``nodeTaints`` are
  ``key=value:Effect``: https://learn.microsoft.com/azure/aks/use-labels,
  https://learn.microsoft.com/azure/aks/use-node-taints
- Karpenter: a node carries its NodePool's ``spec.template.metadata.labels`` and
  ``spec.template.spec.taints``, ``karpenter.sh/nodepool``, and the well-known labels its
  ``requirements`` pin: https://karpenter.sh/docs/concepts/nodepools/,
  https://karpenter.sh/docs/concepts/scheduling/#well-known-labels
- EKS managed node groups label nodes ``eks.amazonaws.com/nodegroup``:
  https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html
- Device plugins advertise ``nvidia.com/gpu`` (NVIDIA k8s-device-plugin README; time-slicing
  multiplies the count by ``replicas``, or advertises ``nvidia.com/gpu.shared`` with
  ``renameByDefault``), ``amd.com/gpu`` (ROCm k8s-device-plugin README), ``gpu.intel.com/i915``
  or ``gpu.intel.com/xe`` (intel-device-plugins-for-kubernetes, GPU plugin README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.verify.changes import Change
from mlplane.infra.offline.verify.client import Kube

CPU_NODES = 3
CPU_CAPACITY = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi"}
GPU_HOST_CAPACITY = {"cpu": "96", "memory": "1024Gi", "pods": "110", "ephemeral-storage": "1Ti"}
#: The CPU pool's labels per cluster kind (see the module's sources).
CPU_POOL_LABELS = {
    "local": {},
    "selfhosted": {},
    "gke": {"cloud.google.com/gke-nodepool": "default-pool"},
    "eks": {"eks.amazonaws.com/nodegroup": "system"},
    "aks": {"kubernetes.azure.com/agentpool": "system", "agentpool": "system"},
}
VENDOR_RESOURCE = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu", "intel": "gpu.intel.com/i915"}
_GCP_EFFECT = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule", "NO_EXECUTE": "NoExecute"}


@dataclass
class NodeSpec:
    """One node to create."""

    name: str
    pool: str
    labels: dict[str, str]
    taints: list[dict[str, str]] = field(default_factory=list)
    capacity: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def manifest(self) -> dict[str, Any]:
        """The Node object (spec; the status goes through the status subresource)."""
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  **self.labels}
        return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name, "labels": labels},
                "spec": {"taints": self.taints} if self.taints else {}}


def _gpu_capacity(resource: str, count: int) -> dict[str, str]:
    return {**GPU_HOST_CAPACITY, resource: str(count)}


def _gke(plan: Plan) -> list[NodeSpec]:
    found = []
    for pool in plan.of_type("gcp:container/nodePool:NodePool"):
        config, name = pool.inputs.get("nodeConfig") or {}, pool.inputs.get("name") or pool.name
        labels = {**(config.get("labels") or {}), "cloud.google.com/gke-nodepool": name}
        taints = [{"key": t["key"], "value": t.get("value", ""), "effect": _GCP_EFFECT.get(t["effect"], t["effect"])}
                  for t in config.get("taints") or []]
        capacity = dict(GPU_HOST_CAPACITY)
        for accelerator in config.get("guestAccelerators") or []:
            labels["cloud.google.com/gke-accelerator"] = accelerator["type"]
            count = int(accelerator.get("count", 1))
            sharing = accelerator.get("gpuSharingConfig") or {}
            if sharing:
                labels["cloud.google.com/gke-gpu-sharing-strategy"] = str(sharing.get("gpuSharingStrategy", "")).lower()
                clients = int(sharing.get("maxSharedClientsPerGpu", 1))
                labels["cloud.google.com/gke-max-shared-clients-per-gpu"] = str(clients)
                count *= clients
            capacity["nvidia.com/gpu"] = str(count)
            if not any(t["key"] == "nvidia.com/gpu" for t in taints):
                taints.append({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"})
        found.append(NodeSpec(f"gke-{name}-1", name, labels, taints, capacity, f"GKE node pool {pool.name}"))
    return found


def _aks(plan: Plan, per_node: dict[str, int]) -> list[NodeSpec]:
    found = []
    for pool in plan.of_type("azure-native:containerservice:AgentPool"):
        name = pool.inputs.get("agentPoolName") or pool.name
        labels = {**(pool.inputs.get("nodeLabels") or {}), "kubernetes.azure.com/agentpool": name, "agentpool": name}
        taints = []
        for text in pool.inputs.get("nodeTaints") or []:
            key_value, effect = text.rsplit(":", 1)
            key, _, value = key_value.partition("=")
            taints.append({"key": key, "value": value, "effect": effect})
        capacity = _gpu_capacity("nvidia.com/gpu", per_node.get(name, 1))
        found.append(NodeSpec(f"aks-{name}-vmss000000", name, labels, taints, capacity, f"AKS agent pool {pool.name}"))
    return found


def _karpenter(plan: Plan, per_node: dict[str, int]) -> list[NodeSpec]:
    found = []
    for pool in plan.of_type("kubernetes:karpenter.sh/v1:NodePool"):
        name = pool.inputs["metadata"]["name"]
        template = (pool.inputs.get("spec") or {}).get("template") or {}
        labels = {**((template.get("metadata") or {}).get("labels") or {}), "karpenter.sh/nodepool": name}
        gpus = per_node.get(name, 1)
        for requirement in (template.get("spec") or {}).get("requirements") or []:
            if requirement.get("operator") == "In" and requirement.get("values"):
                labels[requirement["key"]] = requirement["values"][0]  # Karpenter picks one; the first here
                if requirement["key"] == "karpenter.k8s.aws/instance-gpu-count":
                    gpus = int(requirement["values"][0])
        taints = [dict(t) for t in (template.get("spec") or {}).get("taints") or []]
        found.append(NodeSpec(f"karpenter-{name}-1", name, labels, taints, _gpu_capacity("nvidia.com/gpu", gpus),
                              f"Karpenter NodePool {name}"))
    return found


def _selfhosted(pools: list[Any]) -> list[NodeSpec]:
    found = []
    for pool in pools:
        resource = VENDOR_RESOURCE.get(pool.vendor, f"{pool.vendor}.com/gpu")
        if pool.vendor == "intel" and getattr(pool, "intel_driver", None):
            resource = f"gpu.intel.com/{pool.intel_driver}"
        count = pool.accelerators_per_node * (pool.sharing.replicas if pool.sharing is not None else 1)
        selection = pool.nodes
        names = list(selection.names) if selection is not None else []
        labels = dict(selection.labels) if selection is not None else {}
        # The pool's taints are a checked prerequisite on these existing nodes
        # (infra/prerequisites.py, node_taint_prerequisites): the cluster has them, so the node does.
        taints = [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.effective_taints]
        for name in names or [f"{pool.name}-1"]:
            found.append(NodeSpec(name, pool.name, labels, taints, _gpu_capacity(resource, count),
                                  f"self-hosted pool {pool.name} (existing node; device plugin capacity)"))
    return found


def declared_nodes(kind: str, pools: list[Any], plan: Plan) -> list[NodeSpec]:
    """Every node to create for a stack: the CPU pool, then each accelerator pool's.

    Args:
        kind: The cluster kind (local, selfhosted, gke, eks, aks).
        pools: The stack's accelerator pools (``PoolSpec``), as declared.
        plan: The expanded plan (the cloud node pools and Karpenter NodePools it declares).
    """
    cpu = [NodeSpec(f"cpu-{i}", "cpu", dict(CPU_POOL_LABELS.get(kind, {})), [], dict(CPU_CAPACITY),
                    f"{kind} CPU pool") for i in range(1, CPU_NODES + 1)]
    per_node = {p.name: p.accelerators_per_node * (p.sharing.replicas if p.sharing is not None else 1) for p in pools}
    accelerators = {"gke": lambda: _gke(plan), "aks": lambda: _aks(plan, per_node),
                    "eks": lambda: _karpenter(plan, per_node), "selfhosted": lambda: _selfhosted(pools)}
    return cpu + (accelerators[kind]() if kind in accelerators else [])


def create_nodes(kube: Kube, nodes: list[NodeSpec]) -> list[Change]:
    """Create each node, then set its capacity and a Ready condition through the status subresource."""
    changes = []
    for node in nodes:
        kube.request("POST", "/api/v1/nodes", node.manifest())
        status = {"status": {"capacity": node.capacity, "allocatable": node.capacity,
                             "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                             "message": "made by mlplane verify (no kubelet)"}]}}
        kube.request("PATCH", f"/api/v1/nodes/{node.name}/status", status,
                     content_type="application/merge-patch+json")
        # The TaintNodesByCondition admission plugin taints every new node not-ready; the node
        # lifecycle controller, which does not run here (control-plane.sh: a node without a
        # kubelet would be tainted unreachable), lifts it once Ready. Lift it as that controller would.
        kube.request("PATCH", f"/api/v1/nodes/{node.name}", {"spec": {"taints": node.taints or None}},
                     content_type="application/merge-patch+json")
        taints = ", ".join(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in node.taints) or "none"
        changes.append(Change("node-created", node.name, f"{node.source}; taints {taints}; "
                              f"capacity {', '.join(f'{k}={v}' for k, v in sorted(node.capacity.items()))}"))
    return changes
