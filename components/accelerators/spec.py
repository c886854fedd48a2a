"""The provider-neutral accelerator pool spec, its checks and its scheduling facts.

One :class:`PoolSpec` describes a pool on any kind of cluster; the backends
(``selfhosted``, ``gke``, ``eks``, ``aks``) turn it into node patches, node pools,
Karpenter NodePools or agent pools. Everything here is pure: :func:`pool_problems` finds
what a backend cannot do with a spec (the config rules and the component args both use
it), :func:`pool_scheduling` computes the facts work is placed with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, Field, model_validator

from mlplane.components.accelerators.catalog import find_model, gke_machine_gpus, model_names
from mlplane.components.base import HelmValues, ArgsModel
from mlplane.components.charts import ChartSource
from mlplane.core.naming import check_dns_label, is_dns_subdomain
from mlplane.components.pod_security import check_image
from mlplane.components.renames import RenameHistory
# POOL_LABEL (defined beside the scheduling contract) is re-exported where pools' labels are made.
from mlplane.components.scheduling import POOL_LABEL as POOL_LABEL
from mlplane.components.scheduling import VENDORS, PoolScheduling

#: Label with the pool's vendor; the vendor's device plugin selects it.
VENDOR_LABEL = "mlplane.dev/accelerator-vendor"
#: NVIDIA device plugin: the node label that picks a named config (time-slicing, MPS).
NVIDIA_CONFIG_LABEL = "nvidia.com/device-plugin.config"
#: GPU Operator MIG manager: the node label that picks a MIG layout.
NVIDIA_MIG_LABEL = "nvidia.com/mig.config"
#: The NVIDIA device plugin config that nodes without a pool config use.
NVIDIA_DEFAULT_CONFIG = "default"

#: Cluster kinds that can have accelerator pools, and the one that cannot.
BACKENDS = ("selfhosted", "gke", "eks", "aks")
#: Most clients GKE lets share one GPU (time-sharing and MPS).
GKE_MAX_SHARED_CLIENTS = 48

DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
Image = Annotated[str, AfterValidator(check_image)]

_QUALIFIED_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                             r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")


def check_label_key(value: str) -> str:
    """Validate a label or taint key (``prefix/name``)."""
    if not _QUALIFIED_NAME.match(value):
        raise ValueError("must be a label key like example.com/name (at most 63 characters after the prefix)")
    return value


def check_label_value(value: str) -> str:
    """Validate a label or taint value (at most 63 characters, alphanumeric ends)."""
    if not isinstance(value, str) or not _LABEL_VALUE.match(value):
        raise ValueError("must be a label value: at most 63 letters, digits, '-', '_' or '.', "
                         "starting and ending with a letter or digit")
    return value


def check_node_name(value: str) -> str:
    """Validate a node name (a DNS-1123 subdomain, as Kubernetes requires)."""
    if not is_dns_subdomain(value):
        raise ValueError("must be a node name: lower-case letters, digits, '-' and '.'")
    return value


LabelKey = Annotated[str, AfterValidator(check_label_key)]
NodeName = Annotated[str, AfterValidator(check_node_name)]
LabelValue = Annotated[str, AfterValidator(check_label_value)]


class TimeSlicing(ArgsModel):
    """Time-slicing: several containers take turns on each accelerator."""

    kind: Literal["time-slicing"] = Field(description="Time-slicing (NVIDIA, Intel; GKE: TIME_SHARING).")
    replicas: int = Field(ge=2, description="How many containers share one accelerator (GKE: max_shared_clients_per_gpu).")


class Mps(ArgsModel):
    """NVIDIA Multi-Process Service: containers run on one GPU at the same time."""

    kind: Literal["mps"] = Field(description="NVIDIA MPS (GKE: MPS).")
    replicas: int = Field(ge=2, description="How many containers share one GPU (GKE: max_shared_clients_per_gpu).")


Sharing = Annotated[Union[TimeSlicing, Mps], Field(discriminator="kind", description="How containers share accelerators.")]


class Taint(ArgsModel):
    """A node taint; work placed on the pool gets the matching toleration."""

    key: LabelKey = Field(description="Taint key, e.g. nvidia.com/gpu.")
    value: LabelValue = Field("", description="Taint value (optional).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(
        "NoSchedule", description="What the taint does to pods without the toleration."
    )

    def toleration(self) -> dict[str, str]:
        """The Kubernetes toleration that tolerates this taint (any value of the key)."""
        return {"key": self.key, "operator": "Exists", "effect": self.effect}


class NodeSelection(ArgsModel):
    """Self-hosted clusters: which existing nodes form the pool."""

    names: tuple[NodeName, ...] = Field((), description="Node names; mlplane labels and taints each of them.")
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        description="Or: labels the nodes already carry; mlplane selects them but cannot label or taint them.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> "NodeSelection":
        if bool(self.names) == bool(self.labels):
            raise ValueError("select the pool's nodes either by `names` or by `labels` (exactly one)")
        return self


class PoolSpec(RenameHistory):
    """One accelerator pool, the same on every kind of cluster."""

    name: DnsLabel = Field(description="Pool name; work may ask for it, and it names the cloud node pool.")
    vendor: str = Field(description="Accelerator vendor: nvidia, amd or intel.")
    model: str = Field(description="Accelerator model, e.g. l4, a100-80gb, mi300x, max-1550 (see docs/accelerators.md).")
    accelerators_per_node: int = Field(description="Accelerators on each node (1 or more).")
    machine_type: str | None = Field(
        None, description="Machine type where the cloud needs one: GKE machine type (g2-standard-8), AKS VM size "
        "(Standard_NC24ads_A100_v4), or an EC2 instance type on EKS (default: the model's instance families).",
    )
    min_nodes: int = Field(0, ge=0, description="Fewest nodes (clouds; Karpenter on EKS starts nodes on demand: 0).")
    max_nodes: int = Field(1, ge=1, description="Most nodes (clouds).")
    spot: bool = Field(False, description="Use spot / preemptible capacity (clouds).")
    disk_size_gb: int = Field(200, ge=50, description="Boot disk size of each node in GB (clouds); images are large.")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, description="Extra node labels.")
    taints: tuple[Taint, ...] | None = Field(
        None, description="Node taints. Default: the vendor's resource name, NoSchedule (nvidia.com/gpu:NoSchedule).",
    )
    sharing: Sharing | None = Field(None, description="GPU sharing: time-slicing or MPS, with replicas.")
    mig_profile: str | None = Field(
        None, description="NVIDIA MIG: partition every GPU into this profile (e.g. 1g.10gb); models that support MIG.",
    )
    intel_driver: Literal["i915", "xe"] | None = Field(
        None, description="Intel: the kernel driver of the GPUs, which names the resource (gpu.intel.com/i915 or /xe). "
        "Default: i915.",
    )
    nodes: NodeSelection | None = Field(None, description="Self-hosted clusters: the existing nodes of the pool.")

    @property
    def node_name(self) -> str:
        """The name on the cluster and cloud (node pool, labels): its first name, kept across renames."""
        return self.data_name

    @property
    def base_resource(self) -> str:
        """The vendor's resource name for a whole device, before any sharing rename."""
        if self.vendor == "amd":
            return "amd.com/gpu"
        if self.vendor == "intel":
            return f"gpu.intel.com/{self.intel_driver or 'i915'}"
        return "nvidia.com/gpu"

    @property
    def effective_taints(self) -> tuple[Taint, ...]:
        """The pool's taints: as given, or the vendor's default taint."""
        if self.taints is not None:
            return self.taints
        return (Taint(key=self.base_resource, value="present", effect="NoSchedule"),)


#: The taint AKS itself puts on every Spot node pool's nodes (MicrosoftDocs/azure-aks-docs,
#: articles/aks/spot-node-pool.md at 31e1f80a, "Limitations": "A Spot node pool has the
#: ``kubernetes.azure.com/scalesetpriority:spot`` label, the
#: ``kubernetes.azure.com/scalesetpriority=spot:NoSchedule`` taint"; the same page's
#: ``az aks nodepool show`` lists it under ``nodeTaints``).
AKS_SPOT_TAINT = Taint(key="kubernetes.azure.com/scalesetpriority", value="spot", effect="NoSchedule")


def node_taints(spec: "PoolSpec", backend: str) -> tuple[Taint, ...]:
    """The taints the pool's nodes carry on ``backend``: the pool's own, plus the cloud's.

    An AKS Spot pool also carries :data:`AKS_SPOT_TAINT`, which AKS adds whether or not it
    is declared: the agent pool declares it (no drift between the plan and Azure), and
    work placed on the pool, and the device plugins, tolerate it (else they wait Pending).
    """
    taints = spec.effective_taints
    if backend == "aks" and spec.spot and AKS_SPOT_TAINT not in taints:
        taints += (AKS_SPOT_TAINT,)
    return taints


@dataclass(frozen=True)
class PoolProblem:
    """One thing a backend cannot do with a pool spec.

    Attributes:
        field: Key path inside the pool, e.g. ``("sharing", "kind")``.
        message: What is wrong.
        value: The offending value.
        allowed: What would be accepted.
    """

    field: tuple[str, ...]
    message: str
    value: Any
    allowed: str | None = None


def pool_problems(spec: PoolSpec, backend: str) -> list[PoolProblem]:
    """Everything wrong with ``spec`` on a cluster of kind ``backend`` (empty: fine).

    Args:
        spec: The pool.
        backend: The cluster kind (``local``, ``selfhosted``, ``gke``, ``eks``, ``aks``).

    Returns:
        The problems, each with the field, the value and what is allowed.
    """
    if backend not in BACKENDS:
        return [PoolProblem(("name",), f"a {backend} cluster has no accelerator pools (CPU only)", spec.name,
                            "no pools; use a selfhosted, gke, eks or aks cluster")]
    problems: list[PoolProblem] = []
    if spec.vendor not in VENDORS:
        return [PoolProblem(("vendor",), "unknown accelerator vendor", spec.vendor, ", ".join(VENDORS))]
    model = find_model(spec.vendor, spec.model)
    if model is None:
        return [PoolProblem(("model",), f"unknown {spec.vendor} model", spec.model,
                            ", ".join(model_names(spec.vendor)))]
    if not model.offered_on(backend):
        problems.append(PoolProblem(("model",), f"{spec.vendor} {spec.model} is not offered on {backend} clusters",
                                    spec.model, ", ".join(model_names(spec.vendor, backend)) or "none"))
    if spec.accelerators_per_node < 1:
        problems.append(PoolProblem(("accelerators_per_node",), "must be at least 1 (a pool without accelerators "
                                    "is not an accelerator pool)", spec.accelerators_per_node, "1 or more"))
    if spec.min_nodes > spec.max_nodes:
        problems.append(PoolProblem(("min_nodes",), f"is more than max_nodes ({spec.max_nodes})", spec.min_nodes,
                                    f"0 to {spec.max_nodes}"))
    problems += _sharing_problems(spec, model.mig_profiles, backend)
    if spec.intel_driver is not None and spec.vendor != "intel":
        problems.append(PoolProblem(("intel_driver",), "only Intel pools have an Intel driver", spec.intel_driver,
                                    "leave it out"))
    problems += _BACKEND_CHECKS[backend](spec, model)
    return problems


def _sharing_problems(spec: PoolSpec, mig_profiles: dict[str, int], backend: str) -> list[PoolProblem]:
    problems = []
    sharing = spec.sharing
    if sharing is not None:
        supported = {"nvidia": ("time-slicing", "mps"), "intel": ("time-slicing",), "amd": ()}[spec.vendor]
        if sharing.kind not in supported:
            problems.append(PoolProblem(("sharing", "kind"), f"{spec.vendor} GPUs do not support {sharing.kind} "
                                        "sharing", sharing.kind, ", ".join(supported) or "no sharing for "
                                        f"{spec.vendor} (leave sharing out)"))
        if sharing.kind == "mps" and spec.mig_profile is not None:
            problems.append(PoolProblem(("sharing", "kind"), "MPS cannot share MIG partitions", sharing.kind,
                                        "time-slicing with MIG, or MPS without mig_profile"))
        if backend == "gke" and sharing.replicas > GKE_MAX_SHARED_CLIENTS:
            problems.append(PoolProblem(("sharing", "replicas"), "GKE shares a GPU among at most "
                                        f"{GKE_MAX_SHARED_CLIENTS} clients", sharing.replicas,
                                        f"2 to {GKE_MAX_SHARED_CLIENTS}"))
    if spec.mig_profile is not None:
        if spec.vendor != "nvidia" or not mig_profiles:
            problems.append(PoolProblem(("mig_profile",), f"{spec.vendor} {spec.model} has no MIG",
                                        spec.mig_profile, "leave it out (MIG: NVIDIA A100, H100)"))
        elif spec.mig_profile not in mig_profiles:
            problems.append(PoolProblem(("mig_profile",), f"not a MIG profile of {spec.model}", spec.mig_profile,
                                        ", ".join(mig_profiles)))
    return problems


def _cloud_only(spec: PoolSpec, backend: str) -> list[PoolProblem]:
    if spec.nodes is not None:
        return [PoolProblem(("nodes",), f"{backend} makes the pool's nodes; `nodes` selects existing self-hosted "
                            "nodes", "nodes", "leave it out")]
    return []


def _selfhosted_checks(spec: PoolSpec, model: Any) -> list[PoolProblem]:
    problems = []
    if spec.nodes is None:
        problems.append(PoolProblem(("nodes",), "a self-hosted pool must say which nodes it has", None,
                                    "nodes: {names: [...]} or nodes: {labels: {...}}"))
    elif spec.nodes.labels and (spec.sharing is not None or spec.mig_profile is not None):
        problems.append(PoolProblem(("nodes", "labels"), "sharing and MIG need mlplane to label the nodes "
                                    "(the device plugin config is chosen by node label)", spec.nodes.labels,
                                    "select the nodes by `names`"))
    for key in ("machine_type",):
        if getattr(spec, key) is not None:
            problems.append(PoolProblem((key,), "self-hosted nodes exist already; there is no machine type",
                                        getattr(spec, key), "leave it out"))
    if spec.spot:
        problems.append(PoolProblem(("spot",), "self-hosted nodes are not spot capacity", True, "false"))
    return problems


def _gke_checks(spec: PoolSpec, model: Any) -> list[PoolProblem]:
    problems = _cloud_only(spec, "gke")
    if spec.machine_type is None:
        problems.append(PoolProblem(("machine_type",), "GKE node pools need a machine type", None,
                                    " or ".join(f"{p}*" for p in model.gke_machines) or "a GPU machine type"))
        return problems
    if model.gke_machines and not spec.machine_type.startswith(model.gke_machines):
        problems.append(PoolProblem(("machine_type",), f"{spec.model} GPUs come with other machine types",
                                    spec.machine_type, " or ".join(f"{p}*" for p in model.gke_machines)))
    gpus = gke_machine_gpus(spec.machine_type)
    if gpus is not None and gpus != spec.accelerators_per_node:
        problems.append(PoolProblem(("accelerators_per_node",), f"{spec.machine_type} has {gpus} GPU(s)",
                                    spec.accelerators_per_node, str(gpus)))
    return problems


def _eks_checks(spec: PoolSpec, model: Any) -> list[PoolProblem]:
    problems = _cloud_only(spec, "eks")
    advertised = resource_name(spec, "eks")
    if advertised not in KARPENTER_RESOURCES:
        problems.append(PoolProblem(("vendor",), f"Karpenter cannot start nodes for {advertised} (its instance "
                                    "types have no such capacity), so work asking for it would stay Pending",
                                    spec.vendor, ", ".join(sorted(KARPENTER_RESOURCES))))
    if spec.min_nodes != 0:
        problems.append(PoolProblem(("min_nodes",), "Karpenter starts GPU nodes when work needs them; it keeps "
                                    "no minimum", spec.min_nodes, "0"))
    if spec.machine_type is not None and model.eks_families and \
            spec.machine_type.split(".", 1)[0] not in model.eks_families:
        problems.append(PoolProblem(("machine_type",), f"{spec.model} GPUs come with other instance types",
                                    spec.machine_type, " or ".join(f"{f}.*" for f in model.eks_families)))
    return problems


_AKS_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")


def _aks_checks(spec: PoolSpec, model: Any) -> list[PoolProblem]:
    problems = _cloud_only(spec, "aks")
    if not _AKS_POOL_NAME.match(spec.node_name):  # the agent pool keeps the first name
        problems.append(PoolProblem(("formerly", 0) if spec.formerly else ("name",), "AKS agent pool names are at "
                                    "most 12 lower-case letters and digits, starting with a letter", spec.node_name,
                                    "e.g. gpua100"))
    if spec.machine_type is None or spec.machine_type not in model.aks_sizes:
        problems.append(PoolProblem(("machine_type",), f"AKS needs a VM size that carries {spec.model} GPUs",
                                    spec.machine_type, ", ".join(model.aks_sizes) or "none"))
    elif model.aks_sizes[spec.machine_type] != spec.accelerators_per_node:
        gpus = model.aks_sizes[spec.machine_type]
        problems.append(PoolProblem(("accelerators_per_node",), f"{spec.machine_type} has {gpus} GPU(s)",
                                    spec.accelerators_per_node, str(gpus)))
    return problems


_BACKEND_CHECKS = {"selfhosted": _selfhosted_checks, "gke": _gke_checks, "eks": _eks_checks, "aks": _aks_checks}


def labels_node_selection(spec: PoolSpec, backend: str) -> bool:
    """Whether the pool's nodes are chosen by labels mlplane cannot set (self-hosted, by label)."""
    return backend == "selfhosted" and spec.nodes is not None and bool(spec.nodes.labels)


def uses_device_plugin_config(spec: PoolSpec, backend: str) -> bool:
    """Whether the pool needs its own NVIDIA device plugin config (sharing or MIG, not on GKE)."""
    return spec.vendor == "nvidia" and backend != "gke" and (spec.sharing is not None or spec.mig_profile is not None)


def pool_node_labels(spec: PoolSpec, backend: str) -> dict[str, str]:
    """The labels mlplane puts on the pool's nodes (GKE, EKS, AKS, self-hosted by name).

    The pool and vendor labels, the user's labels, and for NVIDIA pools with sharing or
    MIG the labels that pick the device plugin config and the MIG layout.
    """
    labels = {POOL_LABEL: spec.node_name, VENDOR_LABEL: spec.vendor, **spec.labels}
    if uses_device_plugin_config(spec, backend):
        labels[NVIDIA_CONFIG_LABEL] = spec.node_name
        if spec.mig_profile is not None and backend != "aks":  # AKS partitions through gpu_instance_profile
            labels[NVIDIA_MIG_LABEL] = f"all-{spec.mig_profile}"
    return labels


def pool_node_selector(spec: PoolSpec, backend: str) -> dict[str, str]:
    """The node selector that lands a pod on the pool's nodes."""
    if labels_node_selection(spec, backend):
        assert spec.nodes is not None
        return dict(spec.nodes.labels)
    selector = {POOL_LABEL: spec.node_name}
    if backend == "gke":
        model = find_model(spec.vendor, spec.model)
        if model is not None and model.gke_type:
            selector["cloud.google.com/gke-accelerator"] = model.gke_type
        if spec.sharing is not None:
            # GKE's own device plugin shares GPUs; its docs select on these labels.
            strategy = "mps" if spec.sharing.kind == "mps" else "time-sharing"
            selector["cloud.google.com/gke-gpu-sharing-strategy"] = strategy
            selector["cloud.google.com/gke-max-shared-clients-per-gpu"] = str(spec.sharing.replicas)
    return selector


#: The extended resources Karpenter's EC2 instance types have capacity for: it starts a
#: node only for pods whose requests fit one (aws/karpenter-provider-aws,
#: pkg/providers/instancetype/types.go: ``computeCapacity`` lists nvidia.com/gpu,
#: amd.com/gpu, aws.amazon.com/neuron, habana.ai/gaudi, vpc.amazonaws.com/efa and
#: vpc.amazonaws.com/pod-eni; ``nvidiaGPUs`` counts the physical NVIDIA GPUs).
KARPENTER_RESOURCES = frozenset({"nvidia.com/gpu", "amd.com/gpu", "aws.amazon.com/neuron", "habana.ai/gaudi",
                                 "vpc.amazonaws.com/efa", "vpc.amazonaws.com/pod-eni"})


def renames_shared_resource(spec: PoolSpec, backend: str) -> bool:
    """Whether the device plugin advertises the pool's slices as ``nvidia.com/gpu.shared``.

    It does (``renameByDefault``), so work that needs a whole GPU never lands on a slice,
    except where that name would strand the work: GKE's own plugin keeps
    ``nvidia.com/gpu`` and tells shared nodes apart by label; on EKS Karpenter starts
    nodes only for resources it knows (:data:`KARPENTER_RESOURCES`), so a pod asking for
    ``nvidia.com/gpu.shared`` would stay Pending with no node made for it; and on AKS the
    cluster autoscaler scales a pool up from zero nodes with a template node whose only
    GPU resource is ``nvidia.com/gpu`` (kubernetes/autoscaler
    ``cluster-autoscaler/cloudprovider/azure/azure_template.go``: ``buildNodeFromTemplate``).
    There the pool's own node selector and taint already keep whole-GPU work off the slices.
    """
    return spec.vendor == "nvidia" and spec.sharing is not None and backend not in ("gke", "eks", "aks")


def resource_name(spec: PoolSpec, backend: str) -> str:
    """The extended resource the pool's nodes advertise (see :func:`renames_shared_resource`)."""
    if renames_shared_resource(spec, backend):
        return "nvidia.com/gpu.shared"
    return spec.base_resource


def pool_scheduling(spec: PoolSpec, backend: str) -> PoolScheduling:
    """The scheduling facts of a valid pool (see :func:`pool_problems`)."""
    model = find_model(spec.vendor, spec.model)
    slices = model.mig_profiles.get(spec.mig_profile, 1) if (model and spec.mig_profile) else 1
    replicas = spec.sharing.replicas if spec.sharing is not None else 1
    per_node = spec.accelerators_per_node * slices * replicas
    return PoolScheduling(
        name=spec.name,
        vendor=spec.vendor,
        model=spec.model,
        resource_name=resource_name(spec, backend),
        node_selector=pool_node_selector(spec, backend),
        tolerations=tuple(t.toleration() for t in node_taints(spec, backend)),
        accelerators_per_node=spec.accelerators_per_node,
        per_node=per_node,
        max_per_container=1 if spec.sharing is not None else per_node,
        sharing=spec.sharing.kind if spec.sharing is not None else "none",
        backend=backend,
        spot=spec.spot,
        formerly=tuple(spec.formerly),
    )


def nvidia_plugin_config(spec: PoolSpec | None, backend: str = "selfhosted") -> dict[str, Any]:
    """The NVIDIA device plugin config file for a pool (None: the default config).

    Time-slicing and MPS rename the resource (``nvidia.com/gpu.shared``) where
    :func:`renames_shared_resource` says so; time-slicing refuses requests for more than
    one slice, which would not give more compute.
    """
    config: dict[str, Any] = {"version": "v1", "flags": {"migStrategy": "none"}}
    if spec is None:
        return config
    if spec.mig_profile is not None:
        config["flags"]["migStrategy"] = "single"
    if spec.sharing is not None:
        resources = [{"name": "nvidia.com/gpu", "replicas": spec.sharing.replicas}]
        rename = renames_shared_resource(spec, backend)
        if spec.sharing.kind == "time-slicing":
            config["sharing"] = {"timeSlicing": {"renameByDefault": rename, "failRequestsGreaterThanOne": True,
                                                 "resources": resources}}
        else:
            config["sharing"] = {"mps": {"renameByDefault": rename, "resources": resources}}
    return config


# --- cluster-wide device enablement settings (part of mlplane:accelerators) ----------------

NVIDIA_DEVICE_PLUGIN_CHART = ChartSource(chart="nvidia-device-plugin", version="0.18.2",
                                         repository="https://nvidia.github.io/k8s-device-plugin")
NVIDIA_GPU_OPERATOR_CHART = ChartSource(chart="gpu-operator", version="v25.3.0",
                                        repository="https://helm.ngc.nvidia.com/nvidia")
NFD_CHART = ChartSource(chart="node-feature-discovery", version="0.17.3",
                        repository="https://kubernetes-sigs.github.io/node-feature-discovery/charts")


class NvidiaSettings(ArgsModel):
    """How NVIDIA GPUs are enabled on the cluster (not on GKE, which does it itself)."""

    install: Literal["device-plugin", "gpu-operator"] | None = Field(
        None, description="device-plugin (NVIDIA's k8s-device-plugin chart; drivers are on the nodes) or "
        "gpu-operator (also drivers, container toolkit, MIG manager). Default: device-plugin; on GKE leave it out: "
        "GKE installs drivers and its own device plugin.",
    )
    chart: ChartSource | None = Field(None, description="Override the chart (default: pinned per `install`).")
    install_driver: bool = Field(
        False, description="gpu-operator only: install the NVIDIA driver as a container (self-hosted nodes without "
        "one). EKS and AKS GPU images ship the driver.",
    )
    values: HelmValues = Field(default_factory=dict, description="Extra chart values (merged over mlplane's).")

    @property
    def mode(self) -> str:
        """``device-plugin`` or ``gpu-operator``."""
        return self.install or "device-plugin"

    @property
    def effective_chart(self) -> ChartSource:
        """The chart to install."""
        if self.chart is not None:
            return self.chart
        return NVIDIA_GPU_OPERATOR_CHART if self.mode == "gpu-operator" else NVIDIA_DEVICE_PLUGIN_CHART


class PluginImage(ArgsModel):
    """A device plugin that mlplane runs as its own DaemonSet."""

    image: Image = Field(description="The plugin's image, pinned.")


class GkeSettings(ArgsModel):
    """GKE node pools."""

    driver_version: Literal["DEFAULT", "LATEST"] = Field(
        "DEFAULT", description="NVIDIA driver GKE installs on GPU nodes (gpu_driver_installation_config).",
    )


class EksSettings(ArgsModel):
    """EKS: the Karpenter EC2NodeClass of the GPU pools (Karpenter itself must be installed)."""

    node_role: str = Field(min_length=1, description="IAM role of Karpenter's nodes (e.g. KarpenterNodeRole-<cluster>).")
    discovery_tag: str | None = Field(
        None, description="Value of the karpenter.sh/discovery tag on the cluster's subnets and security groups. "
        "Default: the cluster name.",
    )
    ami_alias: str = Field(
        "al2023@latest", pattern=r"^(al2023|bottlerocket)@[A-Za-z0-9.\-]+$",
        description="EKS-optimized AMI family@version (the NVIDIA variant is chosen for GPU instances); pin a "
        "version (al2023@v20250505) in production: `latest` drifts nodes on every AMI release.",
    )


class AcceleratorSettings(ArgsModel):
    """Device enablement and backend settings shared by the pools of a stack."""

    nvidia: NvidiaSettings = Field(default_factory=NvidiaSettings, description="NVIDIA device enablement.")
    amd: PluginImage = Field(default_factory=lambda: PluginImage(image="docker.io/rocm/k8s-device-plugin:1.31.0.7"),
                             description="AMD ROCm device plugin.")
    intel: PluginImage = Field(default_factory=lambda: PluginImage(image="intel/intel-gpu-plugin:0.32.0"),
                               description="Intel GPU device plugin.")
    node_feature_discovery: bool | None = Field(
        None, description="Install node-feature-discovery (hardware labels). Default: on self-hosted clusters with "
        "pools, unless the GPU Operator brings its own.",
    )
    gke: GkeSettings = Field(default_factory=GkeSettings, description="GKE: settings of the GPU node pools.")
    eks: EksSettings | None = Field(None, description="EKS: Karpenter node class (required for pools on EKS).")


def wants_nfd(settings: AcceleratorSettings, backend: str, has_pools: bool) -> bool:
    """Whether to install the standalone node-feature-discovery chart."""
    if settings.node_feature_discovery is not None:
        return settings.node_feature_discovery
    return backend == "selfhosted" and has_pools and settings.nvidia.mode != "gpu-operator"
