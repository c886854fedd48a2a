"""Accelerator pools per backend, device enablement, and bad input refused at load time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from mlplane.components.accelerators.pool import AcceleratorPoolArgs
from mlplane.components.accelerators.spec import PoolSpec, pool_problems, pool_scheduling
from mlplane.infra.cli import main
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.infra.prerequisites import prerequisites

from .conftest import ROOT, rendered

CLUSTERS: dict[str, dict[str, Any]] = {
    "local": {"kind": "local"},
    "selfhosted": {"kind": "selfhosted"},
    "gke": {"kind": "gke", "project": "p", "location": "europe-west4", "name": "c"},
    "eks": {"kind": "eks", "region": "eu-west-1", "name": "c"},
    "aks": {"kind": "aks", "resource_group": "rg", "name": "c"},
}
L4_SELFHOSTED = {"name": "gpu", "vendor": "nvidia", "model": "l4", "accelerators_per_node": 1,
                 "nodes": {"names": ["n1"]}}


def stack_file(tmp_path: Path, cluster: str, accelerators: dict[str, Any] | None = None,
               **sections: Any) -> Path:
    config: dict[str, Any] = {"mlplane:cluster": CLUSTERS[cluster]}
    if accelerators is not None:
        config["mlplane:accelerators"] = accelerators
    config.update({f"mlplane:{key}": value for key, value in sections.items()})
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def render_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], path: Path) -> str:
    out = tmp_path / "out"
    assert main(["render", "--config-file", str(path), "--out", str(out)]) == 2
    assert not out.exists()  # nothing written: refused before anything was registered
    return capsys.readouterr().err


def render(tmp_path: Path, path: Path) -> Plan:
    from mlplane.infra.offline.plan import load_plan

    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "ok")]) == 0
    return load_plan(tmp_path / "ok")


def chart_values(plan: Plan, name: str) -> dict[str, Any]:
    return plan.named(name).inputs["values"]


def of_type(plan: Plan, suffix: str) -> list[PlanResource]:
    return [r for r in plan if r.type.endswith(suffix)]


# --- self-hosted (onprem) ------------------------------------------------------------------


def test_selfhosted_nodes_are_patched_with_pool_labels_only() -> None:
    plan = rendered("onprem")
    patches = {r.inputs["metadata"]["name"]: r.inputs for r in of_type(plan, ":NodePatch")}
    assert sorted(patches) == ["gpu-a100-01", "gpu-a100-02", "gpu-l4-01", "gpu-l4-02", "gpu-mi300-01"]
    l4 = patches["gpu-l4-01"]
    assert l4["metadata"]["labels"] == {"mlplane.dev/accelerator-pool": "nvidia-l4-shared",
                                        "mlplane.dev/accelerator-vendor": "nvidia",
                                        "nvidia.com/device-plugin.config": "nvidia-l4-shared"}
    # Taints are an atomic list under server-side apply: a prerequisite, not a patch (test_node_taints.py).
    assert all("spec" not in patch for patch in patches.values())
    assert "nvidia.com/device-plugin.config" not in patches["gpu-a100-01"]["metadata"]["labels"]


def test_nvidia_device_plugin_config_carries_time_slicing() -> None:
    plan = rendered("onprem")
    chart = plan.named("devices-nvidia").inputs
    assert (chart["chart"], chart["version"]) == ("nvidia-device-plugin", "0.18.2")
    values = chart["values"]
    assert values["config"]["default"] == "default"
    shared = yaml.safe_load(values["config"]["map"]["nvidia-l4-shared"])
    assert shared["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert shared["sharing"]["timeSlicing"]["renameByDefault"] is True
    assert "sharing" not in yaml.safe_load(values["config"]["map"]["default"])
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert [t["matchExpressions"][0]["values"] for t in terms] == [["nvidia-a100"], ["nvidia-l4-shared"]]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]


def test_amd_and_intel_plugins_run_on_their_pools_in_a_privileged_namespace() -> None:
    plan = rendered("onprem")
    namespace = plan.named("accelerator-devices-ns").inputs["metadata"]
    assert namespace["name"] == "mlplane-accelerators"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    amd = plan.named("devices-amd").inputs
    assert amd["metadata"]["namespace"] == "mlplane-accelerators"
    pod = amd["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "docker.io/rocm/k8s-device-plugin:1.31.0.7"
    term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term == [{"matchExpressions": [{"key": "mlplane.dev/accelerator-pool", "operator": "In",
                                           "values": ["amd-mi300x"]}]}]
    intel = plan.named("devices-intel-intel-max").inputs["spec"]["template"]["spec"]
    assert intel["nodeSelector"] == {"feature.node.kubernetes.io/pci-0380_8086.present": "true"}
    assert plan.named("devices-nfd").inputs["chart"] == "node-feature-discovery"


def test_intel_sharing_sets_shared_dev_num(tmp_path: Path) -> None:
    pool = {"name": "flex", "vendor": "intel", "model": "flex-170", "accelerators_per_node": 2,
            "intel_driver": "xe", "sharing": {"kind": "time-slicing", "replicas": 3}, "nodes": {"names": ["n1"]}}
    plan = render(tmp_path, stack_file(tmp_path, "selfhosted", {"pools": [pool]}))
    container = plan.named("devices-intel-flex").inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["-shared-dev-num=3"]
    config = load_stack_file(stack_file(tmp_path, "selfhosted", {"pools": [pool]}), stack="test")
    taints = next(i for i in prerequisites(config) if i.name == "taints of node n1")
    assert taints.install == "kubectl taint node n1 gpu.intel.com/xe=present:NoSchedule --overwrite"


def test_gpu_operator_reads_the_pool_configs_from_a_config_map(tmp_path: Path) -> None:
    pool = {**L4_SELFHOSTED, "model": "a100-80gb", "mig_profile": "1g.10gb",
            "sharing": {"kind": "time-slicing", "replicas": 2}}
    plan = render(tmp_path, stack_file(tmp_path, "selfhosted", {"nvidia": {"install": "gpu-operator",
                                                                           "install_driver": True},
                                                                "pools": [pool]}))
    config_map = plan.named("devices-nvidia-configs").inputs
    config = yaml.safe_load(config_map["data"]["gpu"])
    assert config["flags"]["migStrategy"] == "single"
    assert config["sharing"]["timeSlicing"]["resources"][0]["replicas"] == 2
    values = chart_values(plan, "devices-nvidia")
    assert plan.named("devices-nvidia").inputs["chart"] == "gpu-operator"
    assert values["devicePlugin"]["config"] == {"name": "nvidia-device-plugin-configs", "default": "default"}
    assert (values["driver"]["enabled"], values["nfd"]["enabled"]) == (True, True)  # operator brings NFD
    with pytest.raises(KeyError):
        plan.named("devices-nfd")
    labels = plan.named("pool-gpu-node-n1").inputs["metadata"]["labels"]
    assert labels["nvidia.com/mig.config"] == "all-1g.10gb"


# --- GKE -----------------------------------------------------------------------------------


def test_gke_node_pools_with_mps_sharing_and_driver_installation() -> None:
    plan = rendered("gke")
    l4 = plan.named("pool-l4-mps-node-pool").inputs
    assert (l4["project"], l4["location"], l4["cluster"], l4["name"]) == (
        "acme-ml-platform", "europe-west4", "ml-platform", "l4-mps")
    accelerator = l4["nodeConfig"]["guestAccelerators"][0]
    assert accelerator["type"] == "nvidia-l4" and accelerator["count"] == 1
    assert accelerator["gpuSharingConfig"] == {"gpuSharingStrategy": "MPS", "maxSharedClientsPerGpu": 4}
    assert accelerator["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "DEFAULT"}
    assert l4["nodeConfig"]["machineType"] == "g2-standard-8" and l4["nodeConfig"]["spot"] is True
    assert l4["autoscaling"]["totalMaxNodeCount"] == 4
    assert l4["nodeConfig"]["labels"]["mlplane.dev/accelerator-pool"] == "l4-mps"
    a100 = plan.named("pool-a100-node-pool").inputs["nodeConfig"]
    assert a100["guestAccelerators"][0]["type"] == "nvidia-tesla-a100"
    assert "gpuSharingConfig" not in a100["guestAccelerators"][0]
    # GKE runs its own device plugin: nothing to install.
    assert not [r for r in plan if r.name.startswith("devices")]


def test_gke_mig_partition_and_time_sharing(tmp_path: Path) -> None:
    pool = {"name": "a100", "vendor": "nvidia", "model": "a100-40gb", "accelerators_per_node": 1,
            "machine_type": "a2-highgpu-1g", "mig_profile": "1g.5gb",
            "sharing": {"kind": "time-slicing", "replicas": 2}}
    plan = render(tmp_path, stack_file(tmp_path, "gke", {"pools": [pool]}))
    accelerator = plan.named("pool-a100-node-pool").inputs["nodeConfig"]["guestAccelerators"][0]
    assert accelerator["gpuPartitionSize"] == "1g.5gb"
    assert accelerator["gpuSharingConfig"]["gpuSharingStrategy"] == "TIME_SHARING"


# --- EKS -----------------------------------------------------------------------------------


def test_eks_karpenter_node_pool_selects_gpu_instances() -> None:
    plan = rendered("eks")
    node_pool = plan.named("pool-l4-node-pool").inputs
    assert (node_pool["apiVersion"], node_pool["kind"]) == ("karpenter.sh/v1", "NodePool")
    template = node_pool["spec"]["template"]
    requirements = {r["key"]: r["values"] for r in template["spec"]["requirements"]}
    assert requirements["karpenter.k8s.aws/instance-gpu-name"] == ["l4"]
    assert requirements["karpenter.k8s.aws/instance-gpu-manufacturer"] == ["nvidia"]
    assert requirements["karpenter.k8s.aws/instance-family"] == ["g6"]
    assert requirements["karpenter.sh/capacity-type"] == ["spot"]
    assert template["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert template["metadata"]["labels"]["nvidia.com/device-plugin.config"] == "l4"
    assert node_pool["spec"]["limits"] == {"nvidia.com/gpu": "8"}
    a100 = {r["key"]: r["values"] for r in plan.named("pool-a100-node-pool").inputs["spec"]["template"]["spec"]
            ["requirements"]}
    assert a100["node.kubernetes.io/instance-type"] == ["p4d.24xlarge"]
    assert a100["karpenter.k8s.aws/instance-gpu-count"] == ["8"]
    node_class = plan.named("pool-l4-node-class").inputs
    assert node_class["spec"]["role"] == "KarpenterNodeRole-ml-platform"
    assert node_class["spec"]["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "ml-platform"}}]
    assert template["spec"]["nodeClassRef"]["name"] == node_class["metadata"]["name"]
    shared = yaml.safe_load(chart_values(plan, "devices-nvidia")["config"]["map"]["l4"])
    assert shared["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 2}]


# --- AKS -----------------------------------------------------------------------------------


def test_aks_agent_pools_of_gpu_vms() -> None:
    plan = rendered("aks")
    a100 = plan.named("pool-a100-agent-pool")
    inputs = a100.inputs
    assert (inputs["agentPoolName"], inputs["resourceGroupName"], inputs["resourceName"]) == (
        "a100", "ml-platform-rg", "ml-platform")
    assert (inputs["vmSize"], inputs["mode"], inputs["minCount"], inputs["maxCount"]) == (
        "Standard_NC24ads_A100_v4", "User", 0, 4)
    assert inputs["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert inputs["scaleSetPriority"] == "Regular"
    assert a100.ignore_changes == ("count",)  # the autoscaler owns it
    t4 = plan.named("pool-t4shared-agent-pool").inputs
    assert (t4["scaleSetPriority"], t4["scaleSetEvictionPolicy"]) == ("Spot", "Delete")
    assert t4["nodeLabels"]["nvidia.com/device-plugin.config"] == "t4shared"


SPOT_TOLERATION = {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Exists", "effect": "NoSchedule"}


def test_aks_spot_pool_declares_and_tolerates_the_taint_aks_adds() -> None:
    """AKS taints Spot nodes itself: declared on the agent pool (no drift), tolerated by the
    device plugin (else no GPU is advertised) and by work placed on the pool (else Pending)."""
    plan = rendered("aks")
    assert plan.named("pool-t4shared-agent-pool").inputs["nodeTaints"] == [
        "nvidia.com/gpu=present:NoSchedule", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"]
    assert "kubernetes.azure.com/scalesetpriority=spot:NoSchedule" not in \
        plan.named("pool-a100-agent-pool").inputs["nodeTaints"]  # on-demand: no such taint
    assert SPOT_TOLERATION in chart_values(plan, "devices-nvidia")["tolerations"]
    spot = PoolSpec.model_validate({"name": "t4", "vendor": "nvidia", "model": "t4", "accelerators_per_node": 1,
                                    "machine_type": "Standard_NC8as_T4_v3", "spot": True})
    assert SPOT_TOLERATION in pool_scheduling(spot, "aks").tolerations
    # Only AKS is documented to taint spot capacity itself; other backends get no extra toleration.
    assert SPOT_TOLERATION not in pool_scheduling(spot, "gke").tolerations


# --- bad input, refused while the config loads ---------------------------------------------

BAD_POOLS = [
    ("selfhosted", {**L4_SELFHOSTED, "vendor": "qualcomm"},
     "pools[0].vendor: unknown accelerator vendor (got 'qualcomm'; allowed: nvidia, amd, intel)"),
    ("selfhosted", {**L4_SELFHOSTED, "model": "rtx-9090"},
     "pools[0].model: unknown nvidia model (got 'rtx-9090'; allowed: t4, v100, l4,"),
    ("selfhosted", {**L4_SELFHOSTED, "vendor": "amd", "model": "mi300x", "sharing": {"kind": "mps", "replicas": 2}},
     "pools[0].sharing.kind: amd GPUs do not support mps sharing (got 'mps'; allowed: no sharing for amd"),
    ("gke", {"name": "a100", "vendor": "nvidia", "model": "a100-40gb", "accelerators_per_node": 1,
             "machine_type": "a2-highgpu-1g", "mig_profile": "1g.5gb", "sharing": {"kind": "mps", "replicas": 2}},
     "pools[0].sharing.kind: MPS cannot share MIG partitions (got 'mps'"),
    ("gke", {"name": "l4", "vendor": "nvidia", "model": "l4", "accelerators_per_node": 1,
             "machine_type": "g2-standard-8", "min_nodes": 3, "max_nodes": 1},
     "pools[0].min_nodes: is more than max_nodes (1) (got 3; allowed: 0 to 1)"),
    ("selfhosted", {**L4_SELFHOSTED, "accelerators_per_node": 0},
     "pools[0].accelerators_per_node: must be at least 1"),
    ("local", L4_SELFHOSTED, "pools[0].name: a local cluster has no accelerator pools (CPU only)"),
    ("gke", {"name": "l4", "vendor": "nvidia", "model": "l4", "accelerators_per_node": 1,
             "machine_type": "a2-highgpu-1g"},
     "pools[0].machine_type: l4 GPUs come with other machine types (got 'a2-highgpu-1g'; allowed: g2-*)"),
    ("gke", {"name": "v", "vendor": "nvidia", "model": "a10g", "accelerators_per_node": 1,
             "machine_type": "g2-standard-8"},
     "pools[0].model: nvidia a10g is not offered on gke clusters (got 'a10g'; allowed: t4, v100, l4,"),
    ("aks", {"name": "gpu-pool-number-one", "vendor": "nvidia", "model": "t4", "accelerators_per_node": 1,
             "machine_type": "Standard_NC8as_T4_v3"},
     "pools[0].name: AKS agent pool names are at most 12 lower-case letters and digits"),
    ("aks", {"name": "t4", "vendor": "nvidia", "model": "t4", "accelerators_per_node": 2,
             "machine_type": "Standard_NC8as_T4_v3"},
     "pools[0].accelerators_per_node: Standard_NC8as_T4_v3 has 1 GPU(s) (got 2; allowed: 1)"),
    ("selfhosted", {**L4_SELFHOSTED, "model": "a100-80gb", "mig_profile": "1g.10gb"},
     "pools[0].mig_profile: partitioning GPUs with MIG needs the GPU Operator's MIG manager"),
    ("selfhosted", {**L4_SELFHOSTED, "nodes": None}, "pools[0].nodes: a self-hosted pool must say which nodes"),
]


@pytest.mark.parametrize(("cluster", "pool", "expected"), BAD_POOLS, ids=[e[2][:48] for e in BAD_POOLS])
def test_bad_pool_exits_2_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               cluster: str, pool: dict[str, Any], expected: str) -> None:
    pool = {k: v for k, v in pool.items() if v is not None}
    err = render_error(tmp_path, capsys, stack_file(tmp_path, cluster, {"pools": [pool]}))
    assert "Pulumi.t.yaml:" in err and f"mlplane:accelerators.{expected}" in err


def test_line_numbers_point_at_the_bad_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = stack_file(tmp_path, "selfhosted", {"pools": [{**L4_SELFHOSTED, "vendor": "qualcomm"}]})
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "qualcomm" in text)
    assert f"Pulumi.t.yaml:{line}: mlplane:accelerators.pools[0].vendor" in render_error(tmp_path, capsys, path)


def test_duplicate_pools_and_shared_nodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_error(tmp_path, capsys, stack_file(tmp_path, "selfhosted", {"pools": [L4_SELFHOSTED, L4_SELFHOSTED]}))
    assert "pools[1].name: pool name used twice (also pools[0])" in err
    assert "pools[1].nodes.names: node n1 is already in pool gpu" in err


def test_eks_pools_need_karpenter_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pool = {"name": "l4", "vendor": "nvidia", "model": "l4", "accelerators_per_node": 1}
    err = render_error(tmp_path, capsys, stack_file(tmp_path, "eks", {"pools": [pool]}))
    assert "mlplane:accelerators.eks: pools on EKS need the Karpenter node class settings" in err


def test_nvidia_install_is_refused_on_gke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_error(tmp_path, capsys, stack_file(tmp_path, "gke", {"nvidia": {"install": "gpu-operator"}}))
    assert "mlplane:accelerators.nvidia.install: GKE installs NVIDIA drivers and its own device plugin" in err


@pytest.mark.parametrize(("cluster", "module", "extra"), [("gke", "pulumi_gcp", "gcp"),
                                                          ("aks", "pulumi_azure_native", "azure")])
def test_missing_cloud_sdk_names_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch, cluster: str, module: str,
                                           extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails, as when not installed
    source = (ROOT / f"Pulumi.{cluster}.yaml").read_text()
    path = tmp_path / f"Pulumi.{cluster}.yaml"
    path.write_text(source)
    err = render_error(tmp_path, capsys, path)
    assert (f"mlplane:accelerators.pools: accelerator pools on a {cluster} cluster needs the {module} package, "
            f"which is not installed (allowed: install it from the checkout: .venv/bin/pip install -e '.[{extra}]')") in err


def test_pool_args_validate_at_construction() -> None:
    spec = PoolSpec(name="gpu", vendor="amd", model="mi300x", accelerators_per_node=8,
                    sharing={"kind": "time-slicing", "replicas": 2})
    assert [p.field for p in pool_problems(spec, "aks")] == [("sharing", "kind"), ("machine_type",)]
    with pytest.raises(ValidationError, match="amd GPUs do not support time-slicing"):
        AcceleratorPoolArgs(spec=spec, target={"kind": "aks", "resource_group": "rg", "cluster": "c"})


def test_cpu_only_stacks_never_import_a_cloud_sdk() -> None:
    code = ("import sys; from tests.conftest import rendered; rendered('dev'); rendered('onprem'); "
            "print(sorted(m for m in ('pulumi_gcp', 'pulumi_aws', 'pulumi_azure_native') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"')) == []
