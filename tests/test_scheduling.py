"""The scheduling contract: requests placed on pools, injected into pods, refused clearly."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mlplane.components.pod_security import ComputeResources
from mlplane.components.scheduling import AcceleratorRequest, PoolScheduling, SchedulingError, place, pools_for, ranked
from mlplane.infra.layers.capacity import capacity_facts

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
    # A vendor request goes to the on-demand A100 pool, never the spot, shared l4-mps first in the file.
    assert place(AcceleratorRequest(vendor="nvidia", count=1), pools("gke"), stack="gke").pool == "a100"


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
    # onprem has no spot pools: the first unshared fitting pool in stack-file order, else the first shared one.
    best = next((p for p in fitting if p.sharing == "none"), fitting[0])
    assert placement.pool == best.name
    assert placement.limits() == {best.resource_name: str(count)}


# --- which pool a request naming none gets: on-demand, unshared, file order ----------------


def pool(name: str, *, spot: bool = False, sharing: str = "none", per_container: int = 1,
         vendor: str = "nvidia") -> PoolScheduling:
    """A pool with only the facts the choice reads varied."""
    resource = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu", "intel": "gpu.intel.com/i915"}[vendor]
    return PoolScheduling(name=name, vendor=vendor, model="m", resource_name=resource,
                          node_selector={"mlplane.dev/accelerator-pool": name}, tolerations=(),
                          accelerators_per_node=per_container, per_node=per_container,
                          max_per_container=1 if sharing != "none" else per_container,
                          sharing=sharing, spot=spot)  # type: ignore[arg-type]


def chosen(request: AcceleratorRequest, *stack_pools: PoolScheduling) -> str:
    return place(request, stack_pools, stack="s").pool


GPU = AcceleratorRequest(vendor="nvidia", count=1)


def test_a_request_naming_no_pool_prefers_on_demand_over_an_earlier_spot_pool() -> None:
    assert chosen(GPU, pool("spot", spot=True), pool("od")) == "od"
    assert chosen(GPU, pool("od1"), pool("spot", spot=True), pool("od2")) == "od1"  # then file order
    # Spot is skipped even when it is unshared and the on-demand pool is shared.
    assert chosen(GPU, pool("spot", spot=True), pool("od-mps", sharing="mps")) == "od-mps"


def test_a_request_naming_no_pool_prefers_a_whole_gpu_over_an_earlier_shared_pool() -> None:
    assert chosen(GPU, pool("ts", sharing="time-slicing"), pool("mps", sharing="mps"), pool("whole")) == "whole"
    # Only shared pools fit: a slice, the first in the file.
    assert chosen(GPU, pool("ts", sharing="time-slicing"), pool("mps", sharing="mps")) == "ts"
    # Two GPUs: shared pools give one slice per container, so only an unshared pool can fit anyway.
    two = AcceleratorRequest(vendor="nvidia", count=2)
    assert chosen(two, pool("one"), pool("ts", sharing="time-slicing"), pool("four", per_container=4)) == "four"


def test_only_spot_pools_fitting_is_refused_with_how_to_accept_preemption() -> None:
    with pytest.raises(SchedulingError) as caught:
        place(GPU, (pool("od-amd", vendor="amd"), pool("l4-mps", spot=True, sharing="mps"), pool("t4", spot=True)),
              stack="s")
    message = str(caught.value)
    assert message.startswith("accelerator request {vendor: nvidia, count: 1} cannot be placed on stack 's': "
                              "work that names no pool runs on on-demand capacity, and only spot (preemptible) "
                              "pools fit it: t4 (")  # the preferred spot pool first: unshared before shared
    assert "l4-mps (nvidia m, nvidia.com/gpu x1 per node, mps)" in message
    assert "od-amd" not in message  # not a fitting pool
    assert "accelerator: {pool: t4}" in message and "gcp.use_preemptible_nodepool()" in message
    # An on-demand pool that is too small does not make spot acceptable either.
    with pytest.raises(SchedulingError, match="only spot"):
        place(AcceleratorRequest(vendor="nvidia", count=4), (pool("od"), pool("big", spot=True, per_container=4)),
              stack="s")


def test_a_named_pool_is_taken_as_it_is_spot_or_shared() -> None:
    stack_pools = (pool("od"), pool("l4-mps", spot=True, sharing="mps"))
    assert chosen(AcceleratorRequest(pool="l4-mps"), *stack_pools) == "l4-mps"
    assert chosen(AcceleratorRequest(vendor="nvidia", pool="l4-mps"), *stack_pools) == "l4-mps"
    assert chosen(AcceleratorRequest(pool="l4-mps"), pool("l4-mps", spot=True)) == "l4-mps"  # the only pool


def test_ranked_orders_unshared_first_then_file_order_and_keeps_spot() -> None:
    stack_pools = (pool("mps", sharing="mps"), pool("s", spot=True), pool("w"), pool("amd", vendor="amd"),
                   pool("ts", sharing="time-slicing", spot=True))
    assert [p.name for p in ranked(GPU, stack_pools)] == ["s", "w", "mps", "ts"]
    assert ranked(AcceleratorRequest(vendor="intel"), stack_pools) == []


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["none", "time-slicing", "mps"]), st.integers(1, 4)),
                min_size=1, max_size=6),
       st.integers(1, 4))
def test_the_choice_is_the_best_on_demand_pool_or_a_refusal(facts: list[tuple[bool, str, int]], count: int) -> None:
    stack_pools = tuple(pool(f"p{i}", spot=spot, sharing=sharing, per_container=n)
                        for i, (spot, sharing, n) in enumerate(facts))
    request = AcceleratorRequest(vendor="nvidia", count=count)
    fits = [p for p in stack_pools if count <= p.max_per_container]
    on_demand = [p for p in fits if not p.spot]
    if not on_demand:
        with pytest.raises(SchedulingError, match="only spot" if fits else "which has pools"):
            place(request, stack_pools, stack="s")
        return
    placed = place(request, stack_pools, stack="s").pool
    best = next((p for p in on_demand if p.sharing == "none"), on_demand[0])
    assert placed == best.name
