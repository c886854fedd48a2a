"""The sections a report shows beside the changes: accelerator cost, the graph of the change."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from mlplane.infra.offline.cost import (PoolChange, PoolCost, describe_sharing, describe_size, money, money_range,
                                pool_changes, price_source, price_table, spot_as_of)
from mlplane.infra.offline.diff import PlanDiff
from mlplane.infra.offline.graph import graph_markdown

__all__ = ["cost_json", "cost_markdown", "cost_text", "graph_markdown", "json_report", "markdown_report"]


def _costs(changes: list[PoolChange]) -> list[PoolCost]:
    return [cost for change in changes for cost in (change.before, change.after) if cost is not None]


def _cloud_backends(changes: list[PoolChange]) -> list[str]:
    """The clouds (with dated list prices) that the pools of either plan are on."""
    return sorted({str(c.facts.get("backend")) for c in _costs(changes)} & set(price_table()["sources"]))


def _sources_line(changes: list[PoolChange]) -> str:
    """Where the figures come from: the dated list prices of the clouds the pools are on, or
    the stack's own GPU-hour prices (a self-hosted stack is told no cloud's dates)."""
    table = price_table()
    pools = _costs(changes)
    backends = _cloud_backends(changes)
    said = f"{table['currency']} a month of {table['hours_per_month']} h"
    if backends:
        listed = ", ".join(f"{b.upper()} {price_source(b).get('date') or 'none'}" for b in backends)
        spot = ", ".join(f"{b.upper()} {spot_as_of(b)}" for b in backends if spot_as_of(b))
        said += f"; list prices as of {listed}"
        if spot:
            said += f"; spot prices, which move with the market, as of {spot}"
        said += " (components/accelerators/gpu_prices.json)"
    if any(c.facts.get("backend") == "selfhosted" for c in pools):
        own = any(c.facts.get("gpuHourPrice") is not None for c in pools)
        said += ("; self-hosted pools at the stack's own GPU-hour prices" if own else
                 "; self-hosted pools state GPUs only") + " (mlplane:accelerators.gpu_hour_prices)"
    return said


def _spot_name(cost: PoolCost) -> str:
    """``spot as of 2025-11-30``: a spot figure is a dated snapshot, never a fixed price."""
    return f"spot as of {spot_as_of(str(cost.facts.get('backend')))}"


def _price_cell(cost: PoolCost | None) -> str:
    if cost is None:
        return "(none)"
    if cost.facts.get("backend") == "selfhosted":
        price = cost.facts.get("gpuHourPrice")
        if price is None:
            return "self-hosted: GPUs only"
        if cost.missing:
            return f"price unknown: {cost.missing}"
        return f"{money_range(cost.monthly(False))} at your ${price:,.2f} a GPU-hour"
    if cost.missing:
        return f"price unknown: {cost.missing}"
    on_demand, spot = cost.monthly(False), cost.monthly(True)
    on_demand_text = f"{money_range(on_demand)} on-demand"
    spot_text = f"{money_range(spot)} {_spot_name(cost)}" if spot is not None else "spot price unknown"
    if cost.facts.get("spot"):
        return f"{spot_text} ({on_demand_text})"
    return f"{on_demand_text} ({spot_text})"


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + money(value)


def _delta(change: PoolChange) -> str:
    """``+$1,200 a month from now on; up to +$4,800 a month`` (floor first, then ceiling).

    The floor is paid every month (the fewest nodes run always); the ceiling is what the
    most nodes would cost, paid only while work keeps them up.
    """
    if not change.changed:
        return ""
    deltas = change.deltas()
    if deltas is None:
        return "cost change unknown"
    floor, ceiling = (round(d) for d in deltas)
    if not floor and not ceiling:
        return "no cost change"
    parts = [f"{_signed(floor)} a month from now on"] if floor else []
    if ceiling and ceiling != floor:
        parts.append(f"up to {_signed(ceiling)} a month at the most" if ceiling > 0
                     else f"the most a month falls by {money(-ceiling)}")
    return "; ".join(parts)


def cost_text(diff: PlanDiff) -> Text | None:
    """The cost section for the terminal, or None when neither plan has pools."""
    changes = pool_changes(diff)
    if not changes:
        return None
    out = Text()
    out.append(f"Accelerator pools ({_sources_line(changes)}):\n", style="bold")
    for change in changes:
        cost = change.after or change.before
        assert cost is not None
        mark = "+" if change.before is None else "-" if change.after is None else "~" if change.changed else " "
        out.append(f"  {mark} pool {change.name}: ", style="bold" if change.changed else "")
        out.append(f"{describe_size(cost)}; {_price_cell(change.after) if change.after else 'removed'}")
        delta = _delta(change)
        if delta:
            out.append(f"; was {_price_cell(change.before)}" if change.before and change.after else "")
            out.append(f"; {delta}", style="yellow")
        out.append("\n")
        sharing = describe_sharing(cost)
        if sharing:
            out.append(f"      {sharing}\n", style="dim")
    return out


def cost_markdown(diff: PlanDiff) -> str:
    """The cost section as a Markdown table ("" when neither plan has pools)."""
    changes = pool_changes(diff)
    if not changes:
        return ""
    lines = ["#### Accelerator pools", "", f"_{_sources_line(changes)}_", "",
             "| pool | size | a month, after | before | change | sharing |", "|---|---|---|---|---|---|"]
    for change in changes:
        cost = change.after or change.before
        assert cost is not None
        name = f"**{change.name}**" if change.changed else change.name
        before = _price_cell(change.before) if change.changed else "same"
        lines.append(f"| {name} | {describe_size(cost)} | {_price_cell(change.after)} | {before} | "
                     f"{_delta(change)} | {describe_sharing(cost) or ''} |")
    return "\n".join(lines) + "\n"


def _cost_json(cost: PoolCost | None) -> dict[str, Any] | None:
    if cost is None:
        return None
    on_demand, spot = cost.monthly(False), cost.monthly(True)
    backend = str(cost.facts.get("backend"))
    return {
        "spotAsOf": spot_as_of(backend) if spot is not None else None,
        "facts": cost.facts,
        "machines": [{"machine": r.machine, "onDemandHourly": r.on_demand, "spotHourly": r.spot} for r in cost.rates],
        "monthlyOnDemand": list(on_demand) if on_demand else None,
        "monthlySpot": list(spot) if spot else None,
        "sharingSavesMonthly": cost.sharing_saves(),
        "priceUnknown": cost.missing,
    }


def cost_json(diff: PlanDiff) -> dict[str, Any] | None:
    """``{"cost": {...}}`` for the JSON diff (None when neither plan has pools)."""
    changes = pool_changes(diff)
    if not changes:
        return None
    table = price_table()
    return {"cost": {
        "currency": table["currency"], "hoursPerMonth": table["hours_per_month"],
        "sources": {b: {"date": source.get("date"), "spotDate": spot_as_of(b), "repository": source.get("repository"),
                        "path": source.get("path"), "commit": source.get("commit")}
                    for b in _cloud_backends(changes) for source in (price_source(b),)},
        "pools": [{"pool": c.name, "changed": c.changed, "before": _cost_json(c.before),
                   "after": _cost_json(c.after), "monthlyChange": c.delta() if c.changed else 0.0,
                   "floorChange": (c.deltas() or (None, None))[0] if c.changed else 0.0,
                   "ceilingChange": (c.deltas() or (None, None))[1] if c.changed else 0.0}
                  for c in changes],
    }}


def markdown_report(diff: PlanDiff, budget: int | None = None, note: str = "") -> str:
    """The whole pull-request comment of one diff: summary, dangers, cost, graph, changes, note.

    Args:
        diff: The diff.
        budget: The most characters in all (default: what one comment holds); see
            :func:`infra.offline.report.format_markdown` for what is left out first.
        note: A closing line (what the diff was compared with).

    Raises:
        BudgetTooSmall: ``budget`` cannot hold the report's title, summary and note.
    """
    from mlplane.infra.offline.report import format_markdown

    return format_markdown(diff, [("cost", cost_markdown(diff)), ("graph", graph_markdown(diff))],
                           budget=budget, note=note)


def json_report(diff: PlanDiff) -> str:
    """The JSON diff with the pools' cost."""
    from mlplane.infra.offline.report import format_json

    return format_json(diff, cost_json(diff))
