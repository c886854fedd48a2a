"""The scheduling contract: requests placed on pools, injected into pods, refused clearly."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from components.pod_security import ComputeResources
from components.scheduling import AcceleratorRequest, PoolScheduling, SchedulingError, place, pools_for
from infra.layers.capacity import capacity_facts

from .conftest import load_stack

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def pools(stack: str) -> tuple[PoolScheduling, ...]:
    return pools_for(load_stack(stack))


def test_a_request_names_a_vendor_or_a_pool() -> None:
    with pytest.raises(ValidationError, match="name a vendor"):
        AcceleratorRequest(count=1)
    with pytest.raises(ValidationError):
        AcceleratorRequest(vendor="nvidia", count=0)
    with pytest.raises(ValidationError):
        AcceleratorRequest(vendor="tpu", count=1)  # type: ignore[arg-type]
    assert AcceleratorRequest(vendor="amd", pool="x", count=2).describe() == "{vendor: amd, pool: x, count: 2}"


def test_nvidia_placement_injects_limits_selector_and_toleration() -> None:
    placement = place(AcceleratorRequest(vendor="nvidia", count=8), pools("onprem"), stack="onprem")
    assert placement.pool == "nvidia-a100"
    assert placement.limits() == {"nvidia.com/gpu": "8"}
    assert placement.node_selector == {"mlplane.dev/accelerator-pool": "nvidia-a100"}
    assert placement.tolerations == (GPU_TOLERATION,)
    resources = ComputeResources().to_k8s(extra_limits=placement.limits())
    assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == "8"


def test_shared_nvidia_pool_hands_out_renamed_slices_one_per_container() -> None:
    all_pools = pools("onprem")
    shared = next(p for p in all_pools if p.name == "nvidia-l4-shared")
    assert (shared.resource_name, shared.sharing, shared.per_node) == ("nvidia.com/gpu.shared", "time-slicing", 16)
    placement = place(AcceleratorRequest(pool="nvidia-l4-shared", count=1), all_pools, stack="onprem")
    assert placement.limits() == {"nvidia.com/gpu.shared": "1"}
    with pytest.raises(SchedulingError, match="one slice per container"):
        place(AcceleratorRequest(pool="nvidia-l4-shared", count=2), all_pools, stack="onprem")


def test_amd_placement() -> None:
    placement = place(AcceleratorRequest(vendor="amd", count=2), pools("onprem"), stack="onprem")
    assert (placement.pool, placement.limits()) == ("amd-mi300x", {"amd.com/gpu": "2"})
    assert placement.node_selector == {"mlplane.dev/accelerator-pool": "amd-mi300x"}
    assert placement.tolerations == ({"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)


def test_intel_placement_selects_the_pools_own_labels() -> None:
    placement = place(AcceleratorRequest(vendor="intel", count=1), pools("onprem"), stack="onprem")
    assert placement.limits() == {"gpu.intel.com/i915": "1"}
    # Chosen by label: work selects the label the nodes already carry.
    assert placement.node_selector == {"feature.node.kubernetes.io/pci-0380_8086.present": "true"}
    assert placement.tolerations[0]["key"] == "gpu.intel.com/i915"


def test_gke_shared_pool_selects_gkes_sharing_labels() -> None:
    placement = place(AcceleratorRequest(pool="l4-mps", count=1), pools("gke"), stack="gke")
    assert placement.limits() == {"nvidia.com/gpu": "1"}  # GKE's plugin keeps the name
    assert placement.node_selector == {
        "mlplane.dev/accelerator-pool": "l4-mps",
        "cloud.google.com/gke-accelerator": "nvidia-l4",
        "cloud.google.com/gke-gpu-sharing-strategy": "mps",
        "cloud.google.com/gke-max-shared-clients-per-gpu": "4",
    }
    # A vendor request skips the shared pool when it needs more than a slice.
    assert place(AcceleratorRequest(vendor="nvidia", count=1), pools("gke"), stack="gke").pool == "l4-mps"


def test_unsatisfiable_request_names_request_stack_and_pools() -> None:
    with pytest.raises(SchedulingError) as caught:
        place(AcceleratorRequest(vendor="amd", count=1), pools("gke"), stack="gke")
    message = str(caught.value)
    assert message.startswith("accelerator request {vendor: amd, count: 1} cannot be placed on stack 'gke'")
    assert "l4-mps (nvidia l4, nvidia.com/gpu x4 per node, mps): is nvidia, not amd" in message
    assert "a100 (nvidia a100-40gb, nvidia.com/gpu x1 per node): is nvidia, not amd" in message


def test_too_many_accelerators_for_any_node_is_refused() -> None:
    with pytest.raises(SchedulingError, match="gives at most 1 nvidia.com/gpu to one container"):
        place(AcceleratorRequest(pool="a100", count=2), pools("gke"), stack="gke")


def test_unknown_pool_and_cpu_only_stack() -> None:
    with pytest.raises(SchedulingError, match="no pool named 'h100'; pools: nvidia-a100, nvidia-l4-shared"):
        place(AcceleratorRequest(pool="h100", count=1), pools("onprem"), stack="onprem")
    with pytest.raises(SchedulingError, match="stack 'dev', which has no accelerator pools \\(CPU only\\)"):
        capacity_facts(load_stack("dev")).place(AcceleratorRequest(vendor="nvidia", count=1))


def test_vendor_and_pool_must_agree() -> None:
    with pytest.raises(SchedulingError, match="is nvidia, not amd"):
        place(AcceleratorRequest(vendor="amd", pool="nvidia-a100", count=1), pools("onprem"), stack="onprem")


def test_apply_to_pod_spec_injects_into_one_container_and_keeps_the_rest() -> None:
    placement = place(AcceleratorRequest(vendor="nvidia", count=1), pools("onprem"), stack="onprem")
    pod = {"nodeSelector": {"disk": "ssd"}, "tolerations": [GPU_TOLERATION],
           "containers": [{"name": "sidecar", "image": "s:1"},
                          {"name": "train", "image": "t:1", "resources": {"limits": {"cpu": "2"}}}]}
    before = copy.deepcopy(pod)
    out = placement.apply_to_pod_spec(pod, container="train")
    assert out["nodeSelector"] == {"disk": "ssd", "mlplane.dev/accelerator-pool": "nvidia-a100"}
    assert out["tolerations"] == [GPU_TOLERATION]  # not duplicated
    assert out["containers"][1]["resources"] == {"limits": {"cpu": "2", "nvidia.com/gpu": "1"},
                                                 "requests": {"nvidia.com/gpu": "1"}}
    assert "resources" not in out["containers"][0]
    assert pod == before  # the input is not changed
    with pytest.raises(SchedulingError, match="already selects"):
        placement.apply_to_pod_spec({"nodeSelector": {"mlplane.dev/accelerator-pool": "other"},
                                     "containers": [{"name": "c"}]})
    with pytest.raises(SchedulingError, match="no container 'x'"):
        placement.apply_to_pod_spec(pod, container="x")


@given(vendor=st.sampled_from(["nvidia", "amd", "intel"]), count=st.integers(1, 40))
def test_a_placement_always_fits_its_pool(vendor: str, count: int) -> None:
    all_pools = pools("onprem")
    request = AcceleratorRequest(vendor=vendor, count=count)
    fitting = [p for p in all_pools if p.vendor == vendor and count <= p.max_per_container]
    if not fitting:
        with pytest.raises(SchedulingError):
            place(request, all_pools, stack="onprem")
        return
    placement = place(request, all_pools, stack="onprem")
    assert placement.pool == fitting[0].name  # the first fitting pool in stack-file order
    assert placement.limits() == {fitting[0].resource_name: str(count)}
