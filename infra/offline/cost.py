"""What accelerator pools cost a month, and what a change to them costs.

Prices come from the dated table ``components/accelerators/gpu_prices.json`` (list
prices per node and hour, on-demand and spot, with their sources and dates); a month
is 730 hours. A pool costs between its minimum and maximum node count. Sharing a GPU
(time-slicing or MPS, ``replicas`` workloads a GPU) is compared with giving each of
those workloads a GPU of its own. Self-hosted pools state their GPU count, and money only
where the stack gives its own price of a GPU-hour for the model
(``mlplane:accelerators.gpu_hour_prices``): no cloud's list price concerns them.
A price no source gives is unknown, never 0: the pool says why. Spot prices move with
the market, so each is stated with the date of its source's snapshot.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mlplane.components.accelerators.catalog import MODELS, AcceleratorModel, find_model
from mlplane.infra.offline.diff import PlanDiff
from mlplane.infra.offline.plan import Plan, PlanResource

POOL_TYPE = "mlplane:accelerators:AcceleratorPool"
PRICES_FILE = Path(__file__).resolve().parents[2] / "components" / "accelerators" / "gpu_prices.json"
_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")


@cache
def price_table() -> dict[str, Any]:
    """The dated price table (see its ``sources``)."""
    return json.loads(PRICES_FILE.read_text(encoding="utf-8"))


def price_source(backend: str, spot: bool = False) -> dict[str, Any]:
    """Where a backend's on-demand (or spot) figures come from: data, repository, path, commit, date.

    A backend's ``spot`` entry overrides its source for spot figures where they come
    from another snapshot (EKS); otherwise on-demand and spot share one source.
    """
    source = dict(price_table()["sources"].get(backend, {}))
    override = source.pop("spot", None) or {}
    return {**source, **override} if spot else source


def spot_as_of(backend: str) -> str | None:
    """The date of a backend's spot figures (None: it has none)."""
    return price_source(backend, spot=True).get("date")


def unknown_reason(backend: str, machine: str) -> str | None:
    """Why the table gives no price for ``machine`` (None: it says nothing of it)."""
    table = price_table()
    entry = table.get(backend, {}).get(machine)
    if entry is not None:
        return entry.get("unknown")
    return next((why for prefix, why in table.get("unknown", {}).get(backend, {}).items()
                 if machine.startswith(prefix)), None)


def catalog_gaps(models: tuple[AcceleratorModel, ...] = MODELS) -> list[str]:
    """The catalog's GPU machine types that the price table neither prices nor says it cannot.

    GKE machine types are known to the catalog by prefix, EKS instance types by family
    and AKS VM sizes by name; each must have a price in the table or a stated reason why
    its price is unknown.
    """
    table, gaps = price_table(), []
    for model in models:
        gaps += [f"gke {prefix}*" for prefix in model.gke_machines
                 if not any(m.startswith(prefix) for m in table["gke"]) and unknown_reason("gke", prefix) is None]
        gaps += [f"eks {family}" for family in model.eks_families
                 if not any(m.split(".")[0] == family for m in table["eks"])]
        gaps += [f"aks {size}" for size in model.aks_sizes
                 if not ((entry := table["aks"].get(size)) and (entry["hourly"] or entry.get("unknown")))]
    return gaps


@dataclass(frozen=True)
class Rate:
    """Hourly list prices of one node: on-demand and spot (None: not in the table)."""

    machine: str
    on_demand: float
    spot: float | None


@dataclass(frozen=True)
class PoolCost:
    """One pool's size and price.

    Attributes:
        name: The pool's name (its component's name without ``pool-``).
        facts: The pool's recorded facts (backend, machine, nodes, GPUs, spot, sharing).
        rates: The node's prices; several when Karpenter chooses among instance types.
        missing: Why there is no price (None when priced or self-hosted).
    """

    name: str
    facts: dict[str, Any]
    rates: tuple[Rate, ...]
    missing: str | None

    @property
    def gpus_per_node(self) -> int:
        return int(self.facts.get("acceleratorsPerNode") or 0)

    @property
    def node_range(self) -> tuple[int, int | None]:
        if self.facts.get("backend") == "selfhosted":
            nodes = self.facts.get("nodes")
            return (nodes, nodes) if nodes is not None else (0, None)
        return int(self.facts.get("minNodes") or 0), int(self.facts.get("maxNodes") or 0)

    @property
    def replicas(self) -> int:
        sharing = self.facts.get("sharing") or {}
        return int(sharing.get("replicas") or 1)

    def monthly(self, spot: bool) -> tuple[float, float] | None:
        """(at the fewest nodes, at the most), cheapest rate to dearest; None without a price."""
        hours = price_table()["hours_per_month"]
        prices = [r.spot if spot else r.on_demand for r in self.rates]
        if not prices or any(p is None for p in prices):
            return None
        low_nodes, high_nodes = self.node_range
        return min(prices) * hours * low_nodes, max(prices) * hours * (high_nodes or 0)

    def billed(self) -> tuple[float, float] | None:
        """The monthly range at the price type the pool uses (spot or on-demand)."""
        return self.monthly(bool(self.facts.get("spot")))

    def sharing_saves(self) -> float | None:
        """What giving each sharing workload its own GPU would cost more a month, at most nodes."""
        billed = self.billed()
        if self.replicas <= 1 or billed is None:
            return None
        return billed[1] * (self.replicas - 1)


def _region(facts: dict[str, Any]) -> str | None:
    region = facts.get("region")
    if not isinstance(region, str):
        return None
    match = _ZONE.match(region)  # a GKE zone (europe-west4-a) is priced as its region
    return match.group(1) if match else region


def _pool_cost(resource: PlanResource) -> PoolCost:
    facts = resource.inputs
    name = resource.name.removeprefix("pool-")
    backend = facts.get("backend")
    if backend is None:
        return PoolCost(name, facts, (), "the plan records no pool facts (rendered by an older mlplane)")
    if backend == "selfhosted":
        price = facts.get("gpuHourPrice")
        if price is None:
            return PoolCost(name, facts, (), None)
        if facts.get("nodes") is None:
            return PoolCost(name, facts, (), "its nodes are chosen by labels, so how many is unknown")
        per_node = float(price) * int(facts.get("acceleratorsPerNode") or 0)
        return PoolCost(name, facts, (Rate("own GPU-hour price", per_node, None),), None)
    table = price_table()
    machines: dict[str, Any] = table.get(backend, {})
    region = _region(facts)
    machine = facts.get("machineType")
    if machine:
        candidates = [machine]
    elif backend == "eks":
        # Karpenter picks among the model's families with this GPU count.
        model = find_model(str(facts.get("vendor")), str(facts.get("model")))
        families = model.eks_families if model else ()
        candidates = [m for m, entry in machines.items()
                      if m.split(".")[0] in families and entry["gpus"] == facts.get("acceleratorsPerNode")]
    else:
        candidates = []
    if not candidates:
        return PoolCost(name, facts, (), f"no {backend} machine type for it is in the price table")
    if machine and (why := unknown_reason(backend, machine)) and not machines.get(machine, {}).get("hourly"):
        return PoolCost(name, facts, (), f"{machine}: {why}")
    if machine and machine not in machines:
        return PoolCost(name, facts, (), f"{machine} is not in the price table")
    if region is None:
        # AKS pools know their region only from the stack's cluster location.
        key = "mlplane:cluster.location" if backend == "aks" else "the cluster's region"
        return PoolCost(name, facts, (), f"no region to price it in ({key} is not set)")
    # Karpenter's candidates that the region lacks are not among its choices there.
    rates = [Rate(m, hourly[0], hourly[1]) for m in candidates
             if (hourly := machines[m]["hourly"].get(region)) is not None]
    if not rates:
        return PoolCost(name, facts, (), f"{', '.join(candidates)}: no price for region {region}"
                        + _spelling_hint(region, candidates, machines))
    return PoolCost(name, facts, tuple(rates), None)


def plan_pools(plan: Plan | None) -> dict[str, tuple[PlanResource, PoolCost]]:
    """The plan's pools by URN, with their costs."""
    if plan is None:
        return {}
    return {r.urn: (r, _pool_cost(r)) for r in plan if r.type == POOL_TYPE}


@dataclass(frozen=True)
class PoolChange:
    """A pool before and after (None where it does not exist)."""

    name: str
    before: PoolCost | None
    after: PoolCost | None

    @property
    def changed(self) -> bool:
        return (self.before.facts if self.before else None) != (self.after.facts if self.after else None)

    def deltas(self) -> tuple[float, float] | None:
        """``(floor, ceiling)``: the change of what is paid every month (at the fewest nodes)
        and of the most a month can cost (at the most nodes), at the billed price type;
        None where a side has no price."""
        sides = []
        for side in (self.before, self.after):
            if side is None:
                sides.append((0.0, 0.0))
                continue
            billed = side.billed()
            if billed is None:
                return None
            sides.append(billed)
        return sides[1][0] - sides[0][0], sides[1][1] - sides[0][1]

    def delta(self) -> float | None:
        """Change of the most a month at the billed price type (None where a side has no price)."""
        deltas = self.deltas()
        return None if deltas is None else deltas[1]


def pool_changes(diff: PlanDiff) -> list[PoolChange]:
    """Every pool of either plan, matched through renames (aliases)."""
    old, new = plan_pools(diff.old_plan), plan_pools(diff.new_plan)
    changes, matched = [], set()
    for urn, (resource, cost) in new.items():
        previous = old.get(urn) or next((old[a] for a in resource.aliases if a in old), None)
        if previous is not None:
            matched.add(previous[0].urn)
        changes.append(PoolChange(cost.name, previous[1] if previous else None, cost))
    changes += [PoolChange(cost.name, cost, None) for urn, (_, cost) in old.items() if urn not in matched]
    return sorted(changes, key=lambda c: c.name)


def money(value: float) -> str:
    """``$1,234`` (whole dollars)."""
    return f"-${abs(value):,.0f}" if value < 0 else f"${value:,.0f}"


def money_range(values: tuple[float, float] | None) -> str:
    """``$0 – $2,493`` or ``—`` without a price."""
    if values is None:
        return "—"
    low, high = values
    return money(low) if round(low) == round(high) else f"{money(low)} – {money(high)}"


def describe_size(cost: PoolCost) -> str:
    """``g2-standard-8, 0–4 nodes × 1 GPU`` (GPU count for self-hosted pools)."""
    low, high = cost.node_range
    gpus = cost.gpus_per_node
    if cost.facts.get("backend") == "selfhosted":
        if high is None:
            return f"nodes chosen by label, {gpus} GPU{'s' if gpus != 1 else ''} each"
        return f"{high} node{'s' if high != 1 else ''} × {gpus} GPU{'s' if gpus != 1 else ''} = {high * gpus} GPUs"
    families = ", ".join(model.eks_families) if (model := find_model(str(cost.facts.get("vendor")),
                                                                     str(cost.facts.get("model")))) else ""
    machine = cost.facts.get("machineType") or f"Karpenter picks ({families or 'any'} family)"
    nodes = f"{low}" if low == high else f"{low}–{high}"
    return f"{machine}, {nodes} nodes × {gpus} GPU{'s' if gpus != 1 else ''}"


def describe_sharing(cost: PoolCost) -> str | None:
    """``MPS ×4: 16 workloads on 4 GPUs; a GPU each would cost $4,204 more a month``."""
    sharing = cost.facts.get("sharing")
    if not sharing:
        return None
    low, high = cost.node_range
    gpus = (high or 0) * cost.gpus_per_node
    kind = "MPS" if sharing.get("kind") == "mps" else "time-slicing"
    text = f"{kind} ×{cost.replicas}: {gpus * cost.replicas} workloads on {gpus} GPUs"
    saves = cost.sharing_saves()
    if saves is not None:
        text += f"; a GPU for each would cost {money(saves)} more a month"
    elif cost.facts.get("backend") == "selfhosted" and gpus:
        text += f"; a GPU for each would take {gpus * (cost.replicas - 1)} more GPUs"
    return text


def _spelling_hint(region: str, candidates: list[str], machines: dict[str, Any]) -> str:
    """`` (the table spells it ...)`` when the table prices these machines in a region written
    differently only in case, spaces or hyphens (``PolandCentral``, ``Poland Central``), else ``""``.

    The table's region keys are the sources' spellings; a region written another way is not
    guessed into a price, but said, so a figure is not lost to spelling.
    """
    def folded(text: str) -> str:
        return re.sub(r"[\s_-]+", "", text).lower()

    known = sorted({key for m in candidates for key in machines[m]["hourly"] if folded(key) == folded(region)})
    return f" (the price table spells it {known[0]})" if known else ""
