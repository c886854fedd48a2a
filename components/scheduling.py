"""The scheduling contract: how work asks for accelerators and gets placed on a pool.

Every accelerator pool of a stack publishes its scheduling facts as a
:class:`PoolScheduling`: the extended resource its nodes advertise
(``nvidia.com/gpu``, ``nvidia.com/gpu.shared``, ``amd.com/gpu``, ``gpu.intel.com/i915``,
``gpu.intel.com/xe``), the node selector that lands a pod on the pool's nodes, and the
tolerations of the pool's taints. Work anywhere in mlplane (pipeline steps, serving
endpoints, notebooks) asks for an :class:`AcceleratorRequest` (a vendor or a pool, and a
count) and :func:`place` turns it into a :class:`Placement` whose limits, node selector
and tolerations are injected into the pod. A request that no pool can satisfy raises
:class:`SchedulingError` (a ``ValueError``) naming the request, the stack and the pools
it has, so the config loader reports it as bad input before anything is registered.

This module is pure (no Pulumi): :func:`pools_for` computes the pools' facts from a
validated stack config, so pipelines and serving endpoints can be checked while the
config loads.

Example (a pipeline step or serving endpoint)::

    from mlplane.components.scheduling import AcceleratorRequest, place, pools_for

    pools = pools_for(config)                       # at config-load time
    placement = place(AcceleratorRequest(vendor="nvidia", count=1), pools,
                      stack=config.source.stack)    # SchedulingError if unsatisfiable
    container["resources"] = resources.to_k8s(extra_limits=placement.limits())
    pod_spec = placement.apply_to_pod_spec(pod_spec)  # node selector and tolerations

Choosing a pool: a request naming a pool gets that pool (if its vendor, when also named,
matches and it can hand out ``count``), spot or shared as it is: naming it is the consent.
A request naming only a vendor gets, among the pools of that vendor that can hand out
``count`` units to one container (:func:`ranked`), an **on-demand** pool, unshared ones
before shared (time-slicing, MPS) ones, then in the stack file's order. It never gets a
spot pool: as in KFP on GKE, where a step that did not ask for preemptible capacity
never reaches preemptible nodes, preemption is opted into, by naming the pool or, for a
KFP v1 step, with ``gcp.use_preemptible_nodepool`` (which names a spot pool chosen by
:func:`ranked`); when only spot pools fit, :func:`place` refuses and says how to opt in.
Shared pools hand out one slice per container.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import Field, model_validator

from mlplane.components.base import ArgsModel

Vendor = Literal["nvidia", "amd", "intel"]
SharingMode = Literal["none", "time-slicing", "mps"]

#: The vendors mlplane knows, in the order messages list them.
VENDORS: tuple[str, ...] = ("nvidia", "amd", "intel")

#: The label mlplane puts on every pool's nodes; its value is the pool's *first* name, kept
#: across renames (``formerly``), so the nodes and the cloud's node pool are never replaced.
POOL_LABEL = "mlplane.dev/accelerator-pool"


class SchedulingError(ValueError):
    """A request for accelerators that no pool of the stack can satisfy."""


class AcceleratorRequest(ArgsModel):
    """What a piece of work asks for: accelerators of a vendor, or of a named pool."""

    vendor: Vendor | None = Field(
        None, description="Accelerator vendor (nvidia, amd, intel); without a pool: an on-demand pool of that vendor, "
        "unshared ones first (spot pools only when named)."
    )
    pool: str | None = Field(
        None, description="Name of the accelerator pool to run on (from mlplane:accelerators.pools); taken as it "
        "is, spot or shared: naming it accepts preemption or a slice."
    )
    count: int = Field(1, ge=1, description="How many accelerators (or slices of a shared pool) one container gets.")

    @model_validator(mode="after")
    def _vendor_or_pool(self) -> "AcceleratorRequest":
        if self.vendor is None and self.pool is None:
            raise ValueError("name a vendor (nvidia, amd, intel) or a pool, or both")
        return self

    def describe(self) -> str:
        """The request as users write it, e.g. ``{vendor: nvidia, count: 2}``."""
        parts = [f"vendor: {self.vendor}"] if self.vendor else []
        parts += [f"pool: {self.pool}"] if self.pool else []
        return "{" + ", ".join([*parts, f"count: {self.count}"]) + "}"


@dataclass(frozen=True, eq=True)
class PoolScheduling:
    """The scheduling facts one accelerator pool publishes.

    Attributes:
        name: The pool's name in the stack file.
        vendor: ``nvidia``, ``amd`` or ``intel``.
        model: The accelerator model (``l4``, ``a100-80gb``, ``mi300x``, ...).
        resource_name: The extended resource a container requests and limits.
        node_selector: Labels that select the pool's nodes (and only them).
        tolerations: Kubernetes toleration dicts for the pool's taints.
        accelerators_per_node: Physical accelerators on each node.
        per_node: Units of ``resource_name`` each node advertises (slices when shared
            or partitioned).
        max_per_container: Most units one container may get (1 on shared pools).
        sharing: ``none``, ``time-slicing`` or ``mps``.
        backend: The cluster kind that makes the pool (``gke``, ``eks``, ...).
        spot: Whether the pool's nodes are spot (preemptible) capacity.
        formerly: The pool's earlier names, oldest first (``formerly`` in the stack).
    """

    name: str
    vendor: str
    model: str
    resource_name: str
    node_selector: dict[str, str]
    tolerations: tuple[dict[str, str], ...]
    accelerators_per_node: int
    per_node: int
    max_per_container: int
    sharing: SharingMode = "none"
    backend: str = "selfhosted"
    spot: bool = False
    formerly: tuple[str, ...] = ()

    __hash__ = None  # type: ignore[assignment]  # holds a dict; compare, do not hash

    def answers_to(self, name: str) -> bool:
        """Whether ``name`` is this pool's name, now or before a rename.

        Work written before a rename (a KFP v1 file selecting ``mlplane.dev/accelerator-pool``
        by the old name, which is what the nodes still carry) keeps its pool.
        """
        return name == self.name or name in self.formerly

    def describe(self) -> str:
        """One line for messages: ``l4 (nvidia l4, nvidia.com/gpu x1 per node)``."""
        shared = f", {self.sharing}" if self.sharing != "none" else ""
        return f"{self.name} ({self.vendor} {self.model}, {self.resource_name} x{self.per_node} per node{shared})"

    def refusal(self, request: AcceleratorRequest) -> str | None:
        """Why this pool cannot satisfy ``request``, or None when it can."""
        if request.pool is not None and not self.answers_to(request.pool):
            return "not the requested pool"
        if request.vendor is not None and request.vendor != self.vendor:
            return f"is {self.vendor}, not {request.vendor}"
        if request.count > self.max_per_container:
            why = "a shared pool gives one slice per container" if self.sharing != "none" else "per node"
            return f"gives at most {self.max_per_container} {self.resource_name} to one container ({why})"
        return None


@dataclass(frozen=True)
class Placement:
    """Where and with what a request runs: inject all of it into the pod.

    Attributes:
        pool: The chosen pool's name.
        resource_name: The extended resource to request and limit.
        count: How many units.
        node_selector: Labels the pod must select.
        tolerations: Tolerations the pod must carry.
        names: Every name the pool answers to (its name and earlier names): a pod that
            selects the pool by :data:`POOL_LABEL` with one of them gets the pool's own
            selector instead.
    """

    pool: str
    resource_name: str
    count: int
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, str], ...] = ()
    names: tuple[str, ...] = ()

    __hash__ = None  # type: ignore[assignment]

    def limits(self) -> dict[str, str]:
        """The extra limits for ``ComputeResources.to_k8s(extra_limits=...)``."""
        return {self.resource_name: str(self.count)}

    def apply_to_pod_spec(self, pod_spec: Mapping[str, Any], container: str | None = None) -> dict[str, Any]:
        """Return a copy of ``pod_spec`` with the placement injected.

        Merges the node selector, adds the tolerations the spec lacks, and sets the
        accelerator request and limit (equal, as Kubernetes requires for extended
        resources) on one container.

        Args:
            pod_spec: A Kubernetes PodSpec as a dict (camelCase keys).
            container: The container that uses the accelerators; default: the first.

        Returns:
            The new pod spec; ``pod_spec`` is not changed.

        Raises:
            SchedulingError: The spec selects other values for the pool's labels, or
                has no such container.
        """
        spec = copy.deepcopy(dict(pod_spec))
        selector = dict(spec.get("nodeSelector") or {})
        if selector.get(POOL_LABEL) in {self.pool, *self.names}:
            # The pod names this pool by mlplane's label, by its current or an earlier name;
            # the pool's own selector says what its nodes carry (the first name, or, for a
            # pool of labelled existing nodes, those labels and not mlplane's).
            del selector[POOL_LABEL]
        for key, value in self.node_selector.items():
            if key in selector and selector[key] != value:
                raise SchedulingError(
                    f"pod already selects {key}={selector[key]!r}, but pool {self.pool!r} needs {key}={value!r}"
                )
            selector[key] = value
        if selector:
            spec["nodeSelector"] = selector
        tolerations = list(spec.get("tolerations") or [])
        tolerations += [dict(t) for t in self.tolerations if t not in tolerations]
        if tolerations:
            spec["tolerations"] = tolerations
        containers = spec.get("containers") or []
        target = next((c for c in containers if container is None or c.get("name") == container), None)
        if target is None:
            raise SchedulingError(f"no container {container!r} in the pod spec" if container
                                  else "the pod spec has no containers")
        resources = target.setdefault("resources", {})
        for part in ("requests", "limits"):
            resources.setdefault(part, {})[self.resource_name] = str(self.count)
        return spec


def ranked(request: AcceleratorRequest, pools: Sequence[PoolScheduling]) -> list[PoolScheduling]:
    """The pools that can satisfy ``request``, the preferred first.

    Unshared pools come before shared (time-slicing, MPS) ones, so a request for a
    whole accelerator gets one when the stack has a pool that gives it, and a slice only
    when every fitting pool is shared; otherwise the stack file's order. Spot and
    on-demand pools are not told apart here: :func:`place` keeps a request naming no
    pool off spot pools, and ``gcp.use_preemptible_nodepool`` ranks only spot pools.

    Args:
        request: What the work asks for.
        pools: The stack's pools, in the stack file's order.

    Returns:
        The fitting pools, best first (empty when none fits).
    """
    fitting = [pool for pool in pools if pool.refusal(request) is None]
    return sorted(fitting, key=lambda pool: pool.sharing != "none")  # stable: file order within each kind


def place(request: AcceleratorRequest, pools: Sequence[PoolScheduling], *, stack: str) -> Placement:
    """Choose the pool for ``request`` and say what to inject.

    A named pool is taken as it is (spot or shared); otherwise the first on-demand pool
    of :func:`ranked` (unshared before shared), never a spot pool.

    Args:
        request: What the work asks for.
        pools: The stack's pools, in the stack file's order (see :func:`pools_for`).
        stack: The stack name, for the error message.

    Returns:
        The placement: resource name and count, node selector, tolerations.

    Raises:
        SchedulingError: No pool can satisfy the request (the message names the
            request, the stack and every pool with why it does not fit), or the request
            names no pool and only spot pools fit (the message names them and how to
            accept preemption).
    """
    fitting = ranked(request, pools)
    chosen = fitting if request.pool is not None else [pool for pool in fitting if not pool.spot]
    if chosen:
        pool = chosen[0]
        return Placement(pool=pool.name, resource_name=pool.resource_name, count=request.count,
                         node_selector=dict(pool.node_selector), tolerations=tuple(pool.tolerations),
                         names=(pool.name, *pool.formerly))
    if fitting:  # only spot pools fit a request that names none
        raise SchedulingError(
            f"accelerator request {request.describe()} cannot be placed on stack {stack!r}: work that names no "
            f"pool runs on on-demand capacity, and only spot (preemptible) pools fit it: "
            f"{'; '.join(pool.describe() for pool in fitting)}. To accept preemption, name the pool "
            f"(accelerator: {{pool: {fitting[0].name}}}; a KFP v1 step: gcp.use_preemptible_nodepool()), "
            f"or declare an on-demand pool (spot: false) that fits")
    if not pools:
        have = "no accelerator pools (CPU only)"
    else:
        relevant = [p for p in pools if request.pool is None or p.answers_to(request.pool)]
        have = "pools: " + "; ".join(
            f"{p.describe()}: {p.refusal(request)}" for p in relevant
        ) if relevant else "no pool named " + repr(request.pool) + "; pools: " + ", ".join(p.name for p in pools)
    raise SchedulingError(f"accelerator request {request.describe()} cannot be placed on stack {stack!r}, "
                          f"which has {have}")


def pool_label_problem(selector: Mapping[str, str], pools: Sequence[PoolScheduling]) -> str | None:
    """Why a pod without an accelerator request that selects :data:`POOL_LABEL` matches no node.

    A pod with a request gets its pool's selector from :meth:`Placement.apply_to_pod_spec`;
    one without keeps the value it wrote, which must be what the nodes carry: a pool's
    first name (renames keep it), and only on pools whose nodes mlplane labels.

    Returns:
        The problem with the way out, or None when some pool's nodes carry the value (or
        the pod does not select the label).
    """
    value = selector.get(POOL_LABEL)
    if value is None or any(p.node_selector.get(POOL_LABEL) == value for p in pools):
        return None
    pool = next((p for p in pools if p.answers_to(value)), None)
    if pool is None:
        return (f"selects {POOL_LABEL}={value}, which no node carries: the stack has no pool of that name "
                f"(pools: {', '.join(p.name for p in pools) or 'none'})")
    carried = pool.node_selector.get(POOL_LABEL)
    where = (f"its nodes carry {POOL_LABEL}={carried} (the pool's first name, kept across renames)" if carried
             else f"its nodes are the ones labelled {pool.node_selector} (mlplane does not label them)")
    return (f"selects {POOL_LABEL}={value}, which no node carries: {where}. Ask for the pool's accelerators "
            f"(accelerator: {{pool: {pool.name}}}, or a KFP v1 set_gpu_limit), and the pool's own selector is used; "
            f"or select {', '.join(f'{k}={v}' for k, v in pool.node_selector.items())}")


class _StackLike(Protocol):
    cluster: Any  # has .kind
    accelerators: Any  # has .pools, or is None


def pools_for(config: _StackLike) -> tuple[PoolScheduling, ...]:
    """The scheduling facts of every pool a stack config declares, in its order.

    Pure: no Pulumi, no cloud. Works on a validated ``StackConfig`` (anything with
    ``cluster.kind`` and ``accelerators``); a stack without pools (``dev``) has none.
    """
    settings = getattr(config, "accelerators", None)
    if settings is None:
        return ()
    from mlplane.components.accelerators.spec import pool_scheduling  # the spec imports this module

    return tuple(pool_scheduling(pool, config.cluster.kind) for pool in settings.pools)
