"""Cluster prerequisites the plan does not install: declared per stack and listed by the preview."""

from __future__ import annotations

import pytest

from mlplane.infra.cli import main
from mlplane.infra.prerequisites import prerequisites

from .conftest import STACKS, load_stack

POST_RENDERER = "mlplane's Helm post-renderer"
KUSTOMIZE_PLUGIN = "mlplane's kustomize plugin"
#: Each shipped stack's prerequisites, by name, in order.
_NP = "NetworkPolicy enforcement"
EXPECTED = {
    "dev": [POST_RENDERER, KUSTOMIZE_PLUGIN, "local-path-provisioner", "a default StorageClass",
            f"{_NP} (kind's kindnet v0.24+, or k3s' kube-router)"],
    "onprem": [POST_RENDERER, KUSTOMIZE_PLUGIN, "local-path-provisioner", "csi-driver-nfs",
               *(f"taints of node {n}" for n in ("gpu-a100-01", "gpu-a100-02", "gpu-l4-01", "gpu-l4-02",
                                                 "gpu-mi300-01")),
               "taints of nodes labelled feature.node.kubernetes.io/pci-0380_8086.present=true",
               "a default StorageClass", f"{_NP} (a CNI that implements it)"],
    "gke": [POST_RENDERER, KUSTOMIZE_PLUGIN, "Compute Engine persistent disk CSI driver", "a default StorageClass",
            f"{_NP} (GKE network policy or Dataplane V2)",
            "the GKE metadata server on every node pool (Workload Identity Federation for GKE)"],
    "eks": [POST_RENDERER, KUSTOMIZE_PLUGIN, "Amazon EBS CSI driver", "Karpenter", "a default StorageClass",
            f"{_NP} (Amazon VPC CNI network policy agent)", "AWS Load Balancer Controller"],
    "aks": [POST_RENDERER, KUSTOMIZE_PLUGIN, "Azure Disk CSI driver", "a default StorageClass", f"{_NP} (Azure network policy engine)"],
}


def test_every_stack_is_covered() -> None:
    assert sorted(EXPECTED) == sorted(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_declares_what_its_classes_pools_and_gateway_need(stack: str) -> None:
    items = prerequisites(load_stack(stack))
    assert [item.name for item in items] == EXPECTED[stack]
    config = load_stack(stack)
    provisioners = {cls.provisioner for cls in config.storage.classes}
    # Every class's provisioner is checked by name (a CSI driver object or a class using it).
    for provisioner in provisioners:
        assert any(provisioner in item.check for item in items), provisioner


def test_a_driver_two_classes_need_is_listed_once() -> None:
    config = load_stack("gke")  # two gce-pd classes
    items = [i for i in prerequisites(config)
             if i.name not in ("a default StorageClass", POST_RENDERER, KUSTOMIZE_PLUGIN) and not i.name.startswith(_NP)
             and "metadata server" not in i.name]
    assert len(items) == 1
    assert items[0].needed_by.count("mlplane:storage.classes[") == 2
    assert items[0].check == "kubectl get csidriver pd.csi.storage.gke.io"


def test_onprem_checks_the_nfs_driver_object() -> None:
    nfs = next(i for i in prerequisites(load_stack("onprem")) if i.name == "csi-driver-nfs")
    assert nfs.check == "kubectl get csidriver nfs.csi.k8s.io"
    assert "mlplane:storage.classes[1] (nfs-shared" in nfs.needed_by


def test_eks_checks_karpenters_and_the_load_balancer_controllers_crds() -> None:
    checks = {i.name: i.check for i in prerequisites(load_stack("eks"))}
    assert checks["Karpenter"] == "kubectl get crd nodepools.karpenter.sh ec2nodeclasses.karpenter.k8s.aws"
    assert checks["AWS Load Balancer Controller"] == "kubectl get crd targetgroupbindings.elbv2.k8s.aws"


def test_eks_checks_that_the_vpc_cni_enforces_network_policies() -> None:
    # The VPC CNI ignores NetworkPolicies unless its add-on sets enableNetworkPolicy, which runs
    # the aws-eks-nodeagent container with --enable-network-policy=true.
    item = next(i for i in prerequisites(load_stack("eks")) if i.name.startswith(_NP))
    assert "aws-eks-nodeagent" in item.check and "--enable-network-policy=true" in item.check
    assert "enableNetworkPolicy" in item.install


@pytest.mark.parametrize("stack", STACKS)
def test_every_cluster_kind_checks_network_policy_enforcement(stack: str) -> None:
    names = [i.name for i in prerequisites(load_stack(stack))]
    assert sum(name.startswith(_NP) for name in names) == 1


@pytest.mark.slow
def test_preview_lists_the_prerequisites_with_their_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "--stack", "onprem"]) == 0
    out = capsys.readouterr().out
    assert "Prerequisites of stack onprem (not installed by mlplane; check each before `pulumi up`):" in out
    assert "  csi-driver-nfs: for mlplane:storage.classes[1] (nfs-shared, provisioner nfs.csi.k8s.io)\n" in out
    assert "    check:   kubectl get csidriver nfs.csi.k8s.io\n" in out


def test_gke_requires_the_gke_metadata_server_on_every_node_pool() -> None:
    """Profile egress to 169.254.169.254 stays open on GKE only because of this prerequisite."""
    from mlplane.infra.prerequisites import GKE_METADATA_SERVER
    item = next(i for i in prerequisites(load_stack("gke")) if i.name == GKE_METADATA_SERVER)
    assert "workloadIdentityConfig.workloadPool" in item.check and "grep -vqx GKE_METADATA" in item.check
    assert "ml-platform --location europe-west4 --project acme-ml-platform" in item.check
    for stack in ("eks", "aks", "onprem", "dev"):
        assert GKE_METADATA_SERVER not in [i.name for i in prerequisites(load_stack(stack))], stack
