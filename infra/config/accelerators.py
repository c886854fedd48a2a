"""``mlplane:accelerators``: the stack's accelerator pools and how devices are enabled.

The pools use one provider-neutral spec (:class:`components.accelerators.spec.PoolSpec`);
the cluster kind (``mlplane:cluster.kind``) picks the backend. Every check that depends
on the backend or spans pools runs here as a rule, before anything is built.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from mlplane.components.accelerators.catalog import MODELS
from mlplane.components.accelerators.spec import AcceleratorSettings, PoolSpec, pool_problems
from mlplane.components.renames import name_clashes
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

SECTION = "mlplane:accelerators"

#: The Python SDK each cloud backend imports, and the extra that installs it.
CLOUD_SDKS = {"gke": ("pulumi_gcp", "gcp"), "eks": ("pulumi_aws", "aws"), "aks": ("pulumi_azure_native", "azure")}


#: One GPU's price for an hour: a number, 0 or more (strict: a quoted "2.5" or a bool is refused).
GpuHourPrice = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]


class AcceleratorsConfig(AcceleratorSettings):
    """Accelerator pools (NVIDIA, AMD, Intel) and device enablement of a stack."""

    pools: tuple[PoolSpec, ...] = Field((), description="The accelerator pools, in the order work is placed.")
    gpu_hour_prices: dict[str, GpuHourPrice] = Field(
        default_factory=dict,
        description="Self-hosted clusters only: what one GPU costs you for an hour, per model (the catalog's "
        "model name, e.g. a100-80gb: 1.9), in the price table's currency (USD). The diff then states a pool's "
        "monthly cost from it; without it a self-hosted pool states its GPU count only.")


@rule
def gpu_hour_prices_name_known_models_on_self_hosted_clusters(config: "StackConfig") -> Iterator[Finding]:
    """Own GPU prices are for self-hosted clusters, and each names a model of the catalog."""
    accelerators = config.accelerators
    if accelerators is None or not accelerators.gpu_hour_prices:
        return
    if config.cluster.kind != "selfhosted":
        yield Finding((SECTION, "gpu_hour_prices"), f"own GPU prices are for self-hosted clusters; a "
                      f"{config.cluster.kind} cluster's pools are priced from the dated price table",
                      dict(accelerators.gpu_hour_prices), "no gpu_hour_prices on a cloud cluster")
        return
    known = sorted({m.name for m in MODELS})
    for model in accelerators.gpu_hour_prices:
        if model not in known:
            yield Finding((SECTION, "gpu_hour_prices", model), "not a GPU model mlplane knows", model,
                          ", ".join(known))


def sdk_install_command(extra: str) -> str:
    """The command that installs a cloud extra into the project's ``.venv`` from a checkout.

    mlplane is not on a package index: ``pip install 'mlplane[gcp]'`` finds nothing. The
    Pulumi CLI runs the program in ``.venv`` (Pulumi.yaml ``virtualenv``), where
    ``pulumi install`` put mlplane itself from requirements.txt (``-e .``).
    """
    return f".venv/bin/pip install -e '.[{extra}]'"


def sdk_missing(backend: str) -> tuple[str, str] | None:
    """``(module, extra)`` when the cloud SDK of ``backend`` is not installed, else None."""
    module, extra = CLOUD_SDKS[backend]
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, a broken install
        found = False
    return None if found else (module, extra)


def missing_sdk_finding(path: tuple[str, ...], backend: str, what: str) -> Finding | None:
    """A finding when ``what`` needs the cloud SDK of ``backend`` and it is not installed."""
    missing = sdk_missing(backend)
    if missing is None:
        return None
    module, extra = missing
    return Finding(path, f"{what} on a {backend} cluster needs the {module} package, which is not installed",
                   allowed=f"install it from the checkout: {sdk_install_command(extra)}")


@rule
def accelerator_pools_fit_the_cluster(config: "StackConfig") -> Iterator[Finding]:
    """Each pool is valid for the cluster kind; names and nodes are not shared."""
    accelerators = config.accelerators
    if accelerators is None:
        return
    backend = config.cluster.kind
    for index, key, held, first in name_clashes(accelerators.pools):
        yield Finding((SECTION, "pools", index, key), f"pool name used twice (also pools[{first}])", held,
                      "a unique name per pool, earlier names (formerly) included")
    node_owner: dict[str, str] = {}
    for index, pool in enumerate(accelerators.pools):
        base = (SECTION, "pools", index)
        for problem in pool_problems(pool, backend):
            yield Finding((*base, *problem.field), problem.message, problem.value, problem.allowed)
        for node in pool.nodes.names if pool.nodes is not None else ():
            if node in node_owner:
                yield Finding((*base, "nodes", "names"), f"node {node} is already in pool {node_owner[node]}",
                              node, "each node in one pool")
            node_owner.setdefault(node, pool.name)


@rule
def device_enablement_fits_the_cluster(config: "StackConfig") -> Iterator[Finding]:
    """GKE enables NVIDIA GPUs itself; MIG elsewhere needs the GPU Operator; EKS needs a node class."""
    accelerators = config.accelerators
    if accelerators is None:
        return
    backend = config.cluster.kind
    nvidia = accelerators.nvidia
    if backend == "gke" and nvidia.install is not None:
        yield Finding((SECTION, "nvidia", "install"), "GKE installs NVIDIA drivers and its own device plugin",
                      nvidia.install, "leave it out on GKE")
    if backend not in ("gke", "aks") and nvidia.mode != "gpu-operator":  # GKE and AKS partition MIG themselves
        for index, pool in enumerate(accelerators.pools):
            if pool.mig_profile is not None:
                yield Finding((SECTION, "pools", index, "mig_profile"), "partitioning GPUs with MIG needs the GPU "
                              "Operator's MIG manager", pool.mig_profile, "nvidia: {install: gpu-operator}")
    if nvidia.install_driver and nvidia.mode != "gpu-operator":
        yield Finding((SECTION, "nvidia", "install_driver"), "only the GPU Operator installs drivers", True,
                      "nvidia: {install: gpu-operator} or install_driver: false")
    if backend == "eks" and accelerators.pools and accelerators.eks is None:
        yield Finding((SECTION, "eks"), "pools on EKS need the Karpenter node class settings", None,
                      "eks: {node_role: KarpenterNodeRole-<cluster>}")
    if backend != "eks" and accelerators.eks is not None:
        yield Finding((SECTION, "eks"), f"only EKS clusters use Karpenter settings, this one is {backend}", "eks",
                      "leave it out")


@rule
def accelerator_backend_sdk_is_installed(config: "StackConfig") -> Iterator[Finding]:
    """GKE and AKS pools are cloud resources: their SDK extra must be installed."""
    accelerators = config.accelerators
    backend = config.cluster.kind
    if accelerators is None or not accelerators.pools or backend not in ("gke", "aks"):
        return
    finding = missing_sdk_finding((SECTION, "pools"), backend, "accelerator pools")
    if finding is not None:
        yield finding
