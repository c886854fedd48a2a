"""EKS backend: a Karpenter ``NodePool`` and ``EC2NodeClass`` (karpenter.sh/v1, karpenter.k8s.aws/v1).

Karpenter (installed with the cluster) starts GPU instances when pods need them and
removes them when they are empty. The NodePool selects instances by GPU manufacturer,
name, count and instance family (or one instance type); its limit caps the pool at
``max_nodes`` nodes' worth of accelerators. The EKS-optimized AMI for GPU instances
ships the NVIDIA driver; mlplane adds the device plugin (``devices.py``). The NodePool is a
custom resource that Karpenter reads as it is: a changed ``limits`` (``max_nodes``) is an
update of the object, never a new pool; Karpenter keeps no minimum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from mlplane.components.accelerators.catalog import find_model
from mlplane.components.accelerators.spec import pool_node_labels
from mlplane.core.naming import k8s_name

if TYPE_CHECKING:
    from mlplane.components.accelerators.pool import AcceleratorPool, AcceleratorPoolArgs


def _requirement(key: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": list(values)}


def declare(pool: "AcceleratorPool", name: str, args: "AcceleratorPoolArgs") -> None:
    """Declare the EC2NodeClass and the NodePool that uses it."""
    spec, target = args.spec, args.target
    model = find_model(spec.vendor, spec.model)
    assert model is not None and model.eks_gpu_name is not None  # checked by pool_problems
    settings = target.settings
    tag = {"karpenter.sh/discovery": settings.discovery_tag or target.cluster}
    object_name = k8s_name(spec.node_name)
    root_device = "/dev/xvdb" if settings.ami_alias.startswith("bottlerocket") else "/dev/xvda"
    node_class = k8s.apiextensions.CustomResource(
        f"{name}-node-class",
        api_version="karpenter.k8s.aws/v1",
        kind="EC2NodeClass",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=object_name),
        spec={
            "role": settings.node_role,
            "amiSelectorTerms": [{"alias": settings.ami_alias}],
            "subnetSelectorTerms": [{"tags": tag}],
            "securityGroupSelectorTerms": [{"tags": tag}],
            "blockDeviceMappings": [{"deviceName": root_device, "ebs": {
                "volumeSize": f"{spec.disk_size_gb}Gi", "volumeType": "gp3", "encrypted": True,
                "deleteOnTermination": True}}],
            # Hop limit 1: pods cannot borrow the node's IAM role; they use IRSA.
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        },
        opts=pulumi.ResourceOptions(parent=pool),
    )
    requirements = [
        _requirement("karpenter.k8s.aws/instance-gpu-manufacturer", spec.vendor),
        _requirement("karpenter.k8s.aws/instance-gpu-name", model.eks_gpu_name),
        _requirement("karpenter.k8s.aws/instance-gpu-count", str(spec.accelerators_per_node)),
        _requirement("karpenter.sh/capacity-type", "spot" if spec.spot else "on-demand"),
        _requirement("kubernetes.io/arch", "amd64"),
        _requirement("kubernetes.io/os", "linux"),
        _requirement("node.kubernetes.io/instance-type", spec.machine_type) if spec.machine_type
        else _requirement("karpenter.k8s.aws/instance-family", *model.eks_families),
    ]
    taints = [{"key": t.key, "effect": t.effect, **({"value": t.value} if t.value else {})}
              for t in spec.effective_taints]
    k8s.apiextensions.CustomResource(
        f"{name}-node-pool",
        api_version="karpenter.sh/v1",
        kind="NodePool",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=object_name),
        spec={
            "template": {
                "metadata": {"labels": pool_node_labels(spec, "eks")},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": object_name},
                    "requirements": requirements,
                    "taints": taints,
                    "expireAfter": "720h",
                },
            },
            "limits": {spec.base_resource: str(spec.max_nodes * spec.accelerators_per_node)},
            # Only empty GPU nodes are removed: consolidation would evict running training.
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m"},
        },
        opts=pulumi.ResourceOptions(parent=pool, depends_on=[node_class]),
    )
