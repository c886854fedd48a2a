"""The accelerator models mlplane knows, and what each cloud calls them.

A pool names a vendor and a model; this table turns the model into a GKE accelerator
type, Karpenter's instance GPU name and families, or the AKS VM sizes that carry it.
A model a backend does not offer is refused while the config loads, with the models it
does offer. Pure data: no Pulumi, no cloud SDK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_A100_40_MIG = {"1g.5gb": 7, "2g.10gb": 3, "3g.20gb": 2, "4g.20gb": 1, "7g.40gb": 1}
_80GB_MIG = {"1g.10gb": 7, "2g.20gb": 3, "3g.40gb": 2, "4g.40gb": 1, "7g.80gb": 1}
#: H200's MIG profiles (NVIDIA Multi-Instance GPU User Guide, "Supported MIG Profiles", H200 141GB).
_H200_MIG = {"1g.18gb": 7, "2g.35gb": 3, "3g.71gb": 2, "4g.71gb": 1, "7g.141gb": 1}


@dataclass(frozen=True)
class AcceleratorModel:
    """One accelerator model and its names on each cloud.

    Attributes:
        vendor: ``nvidia``, ``amd`` or ``intel``.
        name: mlplane's name of the model (what a pool's ``model`` says).
        mig_profiles: NVIDIA MIG profiles and how many slices of a GPU each makes.
        gke_type: GKE's ``guest_accelerators.type`` (None: not on GKE).
        gke_machines: Prefixes of the GKE machine types that carry it.
        eks_gpu_name: Karpenter's ``karpenter.k8s.aws/instance-gpu-name`` value.
        eks_families: EC2 instance families that carry it.
        aks_sizes: AKS VM sizes that carry it, with their GPU count.
        memory: Memory per accelerator, as the vendor states it (e.g. ``141 GB HBM3e``).
        interconnect: How accelerators of a node talk to each other and the host.
        source: Where memory, interconnect and the cloud machine types are stated.
    """

    vendor: str
    name: str
    mig_profiles: dict[str, int] = field(default_factory=dict)
    gke_type: str | None = None
    gke_machines: tuple[str, ...] = ()
    eks_gpu_name: str | None = None
    eks_families: tuple[str, ...] = ()
    aks_sizes: dict[str, int] = field(default_factory=dict)
    memory: str | None = None
    interconnect: str | None = None
    source: str | None = None

    def offered_on(self, backend: str) -> bool:
        """Whether clusters of kind ``backend`` can have this model."""
        if backend == "gke":
            return self.gke_type is not None
        if backend == "eks":
            return self.eks_gpu_name is not None
        if backend == "aks":
            return bool(self.aks_sizes)
        return backend == "selfhosted"


MODELS: tuple[AcceleratorModel, ...] = (
    AcceleratorModel("nvidia", "t4", gke_type="nvidia-tesla-t4", gke_machines=("n1-",), eks_gpu_name="t4",
                     eks_families=("g4dn",), aks_sizes={"Standard_NC4as_T4_v3": 1, "Standard_NC8as_T4_v3": 1,
                                                        "Standard_NC16as_T4_v3": 1, "Standard_NC64as_T4_v3": 4}),
    AcceleratorModel("nvidia", "v100", gke_type="nvidia-tesla-v100", gke_machines=("n1-",), eks_gpu_name="v100",
                     eks_families=("p3",), aks_sizes={"Standard_NC6s_v3": 1, "Standard_NC12s_v3": 2,
                                                      "Standard_NC24s_v3": 4}),
    AcceleratorModel("nvidia", "l4", gke_type="nvidia-l4", gke_machines=("g2-",), eks_gpu_name="l4",
                     eks_families=("g6",)),
    AcceleratorModel("nvidia", "a10g", eks_gpu_name="a10g", eks_families=("g5",)),
    AcceleratorModel("nvidia", "l40s", eks_gpu_name="l40s", eks_families=("g6e",), memory="48 GB GDDR6 (ECC)",
                     interconnect="PCIe Gen4 x16, no NVLink",
                     source="NVIDIA L40S datasheet; AWS EC2 G6e instances (L40S Tensor Core GPUs)"),
    AcceleratorModel("nvidia", "a100-40gb", mig_profiles=_A100_40_MIG, gke_type="nvidia-tesla-a100",
                     gke_machines=("a2-highgpu-", "a2-megagpu-"), eks_gpu_name="a100", eks_families=("p4d",),
                     aks_sizes={"Standard_ND96asr_v4": 8}),
    AcceleratorModel("nvidia", "a100-80gb", mig_profiles=_80GB_MIG, gke_type="nvidia-a100-80gb",
                     gke_machines=("a2-ultragpu-",), eks_gpu_name="a100", eks_families=("p4de",),
                     aks_sizes={"Standard_NC24ads_A100_v4": 1, "Standard_NC48ads_A100_v4": 2,
                                "Standard_NC96ads_A100_v4": 4, "Standard_ND96amsr_A100_v4": 8}),
    AcceleratorModel("nvidia", "h100-80gb", mig_profiles=_80GB_MIG, gke_type="nvidia-h100-80gb",
                     gke_machines=("a3-highgpu-", "a3-megagpu-"), eks_gpu_name="h100", eks_families=("p5",),
                     aks_sizes={"Standard_NC40ads_H100_v5": 1, "Standard_NC80adis_H100_v5": 2,
                                "Standard_ND96isr_H100_v5": 8}),
    AcceleratorModel("nvidia", "h200-141gb", mig_profiles=_H200_MIG, gke_type="nvidia-h200-141gb",
                     gke_machines=("a3-ultragpu-",), eks_gpu_name="h200", eks_families=("p5e", "p5en"),
                     aks_sizes={"Standard_ND96isr_H200_v5": 8}, memory="141 GB HBM3e",
                     interconnect="NVLink 4 (900 GB/s per GPU), SXM",
                     source="NVIDIA H200 Tensor Core GPU datasheet; GKE GPUs (A3 Ultra: a3-ultragpu-8g, "
                            "nvidia-h200-141gb); AWS EC2 P5e/P5en instances; Azure ND H200 v5 series"),
    AcceleratorModel("nvidia", "b200", gke_type="nvidia-b200", gke_machines=("a4-highgpu-",), eks_gpu_name="b200",
                     eks_families=("p6-b200",), memory="180 GB HBM3e (1,440 GB per 8-GPU HGX B200 node)",
                     interconnect="NVLink 5 (1.8 TB/s per GPU), SXM",
                     source="NVIDIA HGX B200 datasheet; GKE GPUs (A4: a4-highgpu-8g, nvidia-b200); AWS EC2 "
                            "P6-B200 instances (p6-b200.48xlarge)"),
    AcceleratorModel("nvidia", "rtx-pro-6000", gke_type="nvidia-rtx-pro-6000", gke_machines=("g4-standard-",),
                     memory="96 GB GDDR7 (ECC)", interconnect="PCIe Gen5 x16, no NVLink",
                     source="NVIDIA RTX PRO 6000 Blackwell Server Edition datasheet; GKE GPUs (G4: g4-standard-48 "
                            "to -384, nvidia-rtx-pro-6000)"),
    AcceleratorModel("nvidia", "a40", memory="48 GB GDDR6 (ECC)",
                     interconnect="PCIe Gen4 x16; NVLink bridge between two GPUs (112.5 GB/s)",
                     source="NVIDIA A40 datasheet (no machine type of the three clouds carries it: self-hosted)"),
    AcceleratorModel("nvidia", "l40", memory="48 GB GDDR6 (ECC)", interconnect="PCIe Gen4 x16, no NVLink",
                     source="NVIDIA L40 datasheet (self-hosted)"),
    AcceleratorModel("amd", "mi300x", aks_sizes={"Standard_ND96isr_MI300X_v5": 8}),
    AcceleratorModel("amd", "mi325x", memory="256 GB HBM3E", interconnect="AMD Infinity Fabric, OAM",
                     source="AMD Instinct MI325X datasheet (self-hosted)"),
    AcceleratorModel("amd", "mi250x"),
    AcceleratorModel("amd", "mi250"),
    AcceleratorModel("amd", "mi210"),
    AcceleratorModel("amd", "mi100"),
    AcceleratorModel("intel", "max-1550"),
    AcceleratorModel("intel", "max-1100"),
    AcceleratorModel("intel", "flex-170"),
    AcceleratorModel("intel", "flex-140"),
    AcceleratorModel("intel", "arc-a770"),
    AcceleratorModel("intel", "arc-b580"),
)

_BY_KEY = {(m.vendor, m.name): m for m in MODELS}


def find_model(vendor: str, name: str) -> AcceleratorModel | None:
    """The catalog entry of ``vendor``/``name``, or None when mlplane does not know it."""
    return _BY_KEY.get((vendor, name))


def model_names(vendor: str, backend: str | None = None) -> list[str]:
    """The models of a vendor (optionally: those offered on a backend), in table order."""
    return [m.name for m in MODELS if m.vendor == vendor and (backend is None or m.offered_on(backend))]


_G2_GPUS = {"g2-standard-4": 1, "g2-standard-8": 1, "g2-standard-12": 1, "g2-standard-16": 1,
            "g2-standard-24": 2, "g2-standard-32": 1, "g2-standard-48": 4, "g2-standard-96": 8}
#: G4 (RTX PRO 6000): GKE docs, "GPU machine types", G4 machine series.
_G4_GPUS = {"g4-standard-48": 1, "g4-standard-96": 2, "g4-standard-192": 4, "g4-standard-384": 8}
#: A2, A3 and A4 machine types end in their GPU count (a3-ultragpu-8g, a4-highgpu-8g).
_GPUS_SUFFIX = re.compile(r"^a[234]-\w+-(\d+)g$")


def gke_machine_gpus(machine_type: str) -> int | None:
    """How many GPUs a GKE machine type comes with (None: attached freely, as on N1)."""
    if machine_type in _G2_GPUS or machine_type in _G4_GPUS:
        return {**_G2_GPUS, **_G4_GPUS}[machine_type]
    match = _GPUS_SUFFIX.match(machine_type)
    return int(match.group(1)) if match else None
