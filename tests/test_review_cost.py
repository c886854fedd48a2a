"""Monthly cost of accelerator pools, from the dated price table, and its change."""

from __future__ import annotations

import json

import pytest

from components.accelerators.catalog import MODELS, gke_machine_gpus
from infra.offline.cost import PRICES_FILE, plan_pools, pool_changes, price_table
from infra.offline.diff import diff_plans
from infra.offline.sections import cost_json, cost_markdown, cost_text

from .conftest import rendered
from .plans import component, plan

POOL = "mlplane:accelerators:AcceleratorPool"


def pool(name: str, **facts):
    base = {"backend": "gke", "region": "europe-west4", "vendor": "nvidia", "model": "l4",
            "machineType": "g2-standard-8", "acceleratorsPerNode": 1, "minNodes": 0, "maxNodes": 2, "spot": False}
    return component(POOL, f"pool-{name}", **{**base, **facts})


def hourly(backend: str, machine: str, region: str) -> list:
    return price_table()[backend][machine]["hourly"][region]


def test_the_table_is_dated_and_cites_its_sources() -> None:
    table = json.loads(PRICES_FILE.read_text())
    assert table["hours_per_month"] == 730 and table["currency"] == "USD"
    for backend in ("gke", "eks", "aks"):
        source = table["sources"][backend]
        assert source["pages"] and all(page.startswith("https://") for page in source["pages"])
        assert source["left_out"], backend
        if table[backend]:
            assert source["date"] and source["data"]
    # The figure the tests below compute with, as the cited source gives it.
    assert hourly("gke", "g2-standard-8", "europe-west4") == [0.897201806, 0.47082]


def test_gpu_counts_agree_with_the_catalog() -> None:
    table = price_table()
    for machine, entry in table["gke"].items():
        assert gke_machine_gpus(machine) == entry["gpus"], machine
    families = {family for model in MODELS for family in model.eks_families}
    assert {machine.split(".")[0] for machine in table["eks"]} <= families


def test_every_catalog_machine_type_is_priced_or_said_to_be_left_out() -> None:
    table = price_table()
    for model in MODELS:
        for prefix in model.gke_machines:
            priced = [m for m in table["gke"] if m.startswith(prefix)]
            assert priced or prefix == "n1-", (model.name, prefix)  # N1 + attached GPUs: left out, said so
        for family in model.eks_families:
            assert any(m.split(".")[0] == family for m in table["eks"]), family
    assert "N1" in table["sources"]["gke"]["left_out"]
    assert table["aks"] == {} and "AKS" in table["sources"]["aks"]["left_out"]


def test_cost_of_a_changed_pool_comes_from_the_table() -> None:
    old = plan(pool("l4", maxNodes=2, spot=False))
    new = plan(pool("l4", maxNodes=4, spot=True, sharing={"kind": "mps", "replicas": 4}))
    diff = diff_plans(old, new)
    (change,) = pool_changes(diff)
    on_demand, spot = hourly("gke", "g2-standard-8", "europe-west4")
    assert change.before.billed() == (0.0, pytest.approx(on_demand * 730 * 2))
    assert change.after.billed() == (0.0, pytest.approx(spot * 730 * 4))
    assert change.after.monthly(False) == (0.0, pytest.approx(on_demand * 730 * 4))
    assert change.delta() == pytest.approx(spot * 730 * 4 - on_demand * 730 * 2)
    # MPS x4: 16 workloads on 4 GPUs; a GPU each would take 12 more at the spot price.
    assert change.after.sharing_saves() == pytest.approx(spot * 730 * 4 * 3)

    text = cost_text(diff).plain
    assert f"${spot * 730 * 4:,.0f} spot (" in text and f"${on_demand * 730 * 4:,.0f} on-demand)" in text
    assert f"was $0 – ${on_demand * 730 * 2:,.0f} on-demand" in text
    assert f"+${spot * 730 * 4 - on_demand * 730 * 2:,.0f} at most" in text
    assert f"MPS ×4: 16 workloads on 4 GPUs; a GPU for each would cost ${spot * 730 * 12:,.0f} more" in text
    markdown = cost_markdown(diff)
    assert "| **l4** | g2-standard-8, 0–4 nodes × 1 GPU |" in markdown
    data = cost_json(diff)["cost"]["pools"][0]
    assert data["after"]["monthlySpot"] == [0.0, pytest.approx(spot * 730 * 4)]
    assert data["monthlyChange"] == pytest.approx(spot * 730 * 4 - on_demand * 730 * 2)


def test_a_zone_is_priced_as_its_region_and_eks_ranges_over_karpenters_choice() -> None:
    (zonal,) = plan_pools(plan(pool("z", region="europe-west4-b"))).values()
    assert zonal[1].rates[0].on_demand == hourly("gke", "g2-standard-8", "europe-west4")[0]
    eks = pool("e", backend="eks", region="eu-central-1", model="l4", machineType=None, acceleratorsPerNode=1)
    (_, cost), = plan_pools(plan(eks)).values()
    machines = {r.machine for r in cost.rates}
    assert machines == {m for m, e in price_table()["eks"].items() if m.startswith("g6.") and e["gpus"] == 1}
    from infra.offline.cost import describe_size

    assert describe_size(cost).startswith("Karpenter picks (g6 family), 0–2 nodes × 1 GPU")
    low, high = cost.monthly(False)
    assert low == 0 and high == pytest.approx(max(r.on_demand for r in cost.rates) * 730 * 2)
    assert cost.monthly(True) is None  # no spot prices for EC2 in the table
    (_, nowhere), = plan_pools(plan(pool("e", backend="eks", region="eu-west-1", machineType=None))).values()
    assert nowhere.missing.endswith("no price for region eu-west-1")  # the source lists no g6 there


def test_pools_without_prices_say_why_and_self_hosted_pools_count_gpus() -> None:
    aks = pool("a", backend="aks", region=None, machineType="Standard_NC24ads_A100_v4")
    n1 = pool("t4", model="t4", machineType="n1-standard-8")
    onprem = pool("o", backend="selfhosted", region=None, machineType=None, acceleratorsPerNode=4, nodes=3,
                  sharing={"kind": "time-slicing", "replicas": 2})
    text = cost_text(diff_plans(plan(), plan(aks, n1, onprem))).plain
    assert "pool a: Standard_NC24ads_A100_v4, 0–2 nodes × 1 GPU; no price: Standard_NC24ads_A100_v4 is not " \
           "in the price table (every AKS VM size" in text
    assert "no price: n1-standard-8 is not in the price table (N1 machine types" in text
    assert "pool o: 3 nodes × 4 GPUs = 12 GPUs; self-hosted: GPUs only" in text
    assert "time-slicing ×2: 24 workloads on 12 GPUs; a GPU for each would take 12 more GPUs" in text
    assert "$" not in text.split("pool o:")[1]
    by_label = pool("l", backend="selfhosted", region=None, machineType=None, acceleratorsPerNode=2)
    assert "pool l: nodes chosen by label, 2 GPUs each" in cost_text(diff_plans(plan(), plan(by_label))).plain


def test_the_gke_stack_states_its_pools_cost() -> None:
    pools = {cost.name: cost for _, cost in plan_pools(rendered("gke")).values()}
    assert set(pools) == {"l4-mps", "a100"}
    l4 = pools["l4-mps"]
    assert (l4.facts["machineType"], l4.facts["region"], l4.facts["spot"]) == ("g2-standard-8", "europe-west4", True)
    assert l4.billed()[1] == pytest.approx(hourly("gke", "g2-standard-8", "europe-west4")[1] * 730 * 4)
    assert pools["a100"].billed()[1] == pytest.approx(hourly("gke", "a2-highgpu-1g", "europe-west4")[0] * 730 * 2)
