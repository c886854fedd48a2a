"""Monthly cost of accelerator pools, from the dated price table, and its change."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from mlplane.components.accelerators.catalog import MODELS, AcceleratorModel, gke_machine_gpus
from mlplane.infra.offline.cost import (PRICES_FILE, catalog_gaps, describe_size, money, plan_pools, pool_changes,
                                price_source, price_table, spot_as_of, unknown_reason)
from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.sections import cost_json, cost_markdown, cost_text

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
        for spot in (False, True):
            source = price_source(backend, spot)
            assert source["pages"] and all(page.startswith("https://") for page in source["pages"])
            assert source["left_out"], backend
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", source["date"]), (backend, spot)
            assert source["data"] and source["repository"].count("/") == 1 and source["path"], (backend, spot)
            assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), (backend, spot)
        # Spot prices are a dated snapshot: the table says they move.
        assert "spot" in table["sources"][backend]["spot"]["volatile"].lower()
    assert spot_as_of("eks") == "2025-11-30" != price_source("eks")["date"]  # EKS spot: another snapshot
    # Figures the tests below compute with, as the cited sources give them.
    assert hourly("gke", "g2-standard-8", "europe-west4") == [0.897201806, 0.47082]
    assert hourly("eks", "g5.xlarge", "us-east-1") == [1.006, 0.39388]  # spot: vantage's spot_avg
    assert hourly("aks", "Standard_NC24ads_A100_v4", "polandcentral") == [4.775, 0.88242]


def test_gpu_counts_agree_with_the_catalog() -> None:
    table = price_table()
    for machine, entry in table["gke"].items():
        assert gke_machine_gpus(machine) == entry["gpus"], machine
    families = {family for model in MODELS for family in model.eks_families}
    assert {machine.split(".")[0] for machine in table["eks"]} <= families
    sizes = {size: gpus for model in MODELS for size, gpus in model.aks_sizes.items()}
    assert {size: entry["gpus"] for size, entry in table["aks"].items()} == sizes


def test_every_catalog_machine_type_is_priced_or_explicitly_unknown() -> None:
    assert catalog_gaps() == []
    table = price_table()
    assert unknown_reason("gke", "n1-standard-8").startswith("N1 machine types with attached T4 or V100 GPUs")
    unknown = {size for size, entry in table["aks"].items() if not entry["hourly"]}
    assert unknown == {"Standard_NC6s_v3", "Standard_NC12s_v3", "Standard_NC24s_v3", "Standard_ND96asr_v4",
                       "Standard_NC40ads_H100_v5", "Standard_NC80adis_H100_v5", "Standard_ND96isr_MI300X_v5",
                       "Standard_ND96isr_H200_v5"}
    assert all(table["aks"][size]["unknown"] for size in unknown)
    # A figure a source lacks is null (unknown), never 0.
    figures = [f for backend in ("gke", "eks", "aks") for e in table[backend].values()
               for pair in e["hourly"].values() for f in pair]
    assert 0 not in figures and None in figures


def test_a_machine_type_the_catalog_gains_without_a_price_is_a_gap() -> None:
    # A model the table knows nothing of (the catalog's b200 is in it, with why its price is unknown).
    grown = MODELS + (AcceleratorModel("nvidia", "gb300", gke_machines=("a4x-maxgpu-",), eks_families=("p6e",),
                                       aks_sizes={"Standard_ND128isr_GB300_v6": 4}),)
    assert catalog_gaps(grown) == ["gke a4x-maxgpu-*", "eks p6e", "aks Standard_ND128isr_GB300_v6"]


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
    assert f"${spot * 730 * 4:,.0f} spot as of 2026-07-30 ($0 – ${on_demand * 730 * 4:,.0f} on-demand)" in text
    assert f"was $0 – ${on_demand * 730 * 2:,.0f} on-demand" in text
    # The minimum stays 0: nothing is paid every month; the most a month changes.
    assert f"; up to +${spot * 730 * 4 - on_demand * 730 * 2:,.0f} a month at the most\n" in text
    assert "from now on" not in text
    assert f"MPS ×4: 16 workloads on 4 GPUs; a GPU for each would cost ${spot * 730 * 12:,.0f} more" in text
    # Only the dates of the clouds the pools are on.
    assert "list prices as of GKE 2026-07-30; spot prices, which move with the market, as of GKE 2026-07-30" in text
    assert "AKS" not in text and "EKS" not in text
    markdown = cost_markdown(diff)
    assert "| **l4** | g2-standard-8, 0–4 nodes × 1 GPU |" in markdown
    data = cost_json(diff)["cost"]
    assert list(data["sources"]) == ["gke"]  # the clouds of these pools only
    assert data["pools"][0]["after"]["monthlySpot"] == [0.0, pytest.approx(spot * 730 * 4)]
    assert data["pools"][0]["after"]["spotAsOf"] == "2026-07-30"
    assert data["pools"][0]["monthlyChange"] == pytest.approx(spot * 730 * 4 - on_demand * 730 * 2)


def test_cost_of_a_changed_aks_pool_comes_from_the_table() -> None:
    base = {"backend": "aks", "region": "polandcentral", "model": "a100-80gb",
            "machineType": "Standard_NC24ads_A100_v4"}
    diff = diff_plans(plan(pool("a100", **base, maxNodes=2)), plan(pool("a100", **base, maxNodes=4, spot=True)))
    on_demand, spot = hourly("aks", "Standard_NC24ads_A100_v4", "polandcentral")
    assert (on_demand, spot) == (4.775, 0.88242)  # Azure's page data for Poland Central, 2026-01-26
    text = cost_text(diff).plain
    assert (f"~ pool a100: Standard_NC24ads_A100_v4, 0–4 nodes × 1 GPU; $0 – ${spot * 730 * 4:,.0f} spot as of "
            f"2026-01-26 ($0 – ${on_demand * 730 * 4:,.0f} on-demand); was $0 – ${on_demand * 730 * 2:,.0f} "
            f"on-demand ($0 – ${spot * 730 * 2:,.0f} spot as of 2026-01-26); "
            f"the most a month falls by {money(on_demand * 730 * 2 - spot * 730 * 4)}") in text
    assert (f"| **a100** | Standard_NC24ads_A100_v4, 0–4 nodes × 1 GPU | $0 – ${spot * 730 * 4:,.0f} spot as of "
            f"2026-01-26 ($0 – ${on_demand * 730 * 4:,.0f} on-demand) |") in cost_markdown(diff)
    (data,) = cost_json(diff)["cost"]["pools"]
    assert data["before"]["machines"] == [{"machine": "Standard_NC24ads_A100_v4", "onDemandHourly": on_demand,
                                           "spotHourly": spot}]
    assert data["after"]["monthlySpot"] == [0.0, pytest.approx(spot * 730 * 4)]
    assert data["monthlyChange"] == pytest.approx(spot * 730 * 4 - on_demand * 730 * 2)


def test_an_eks_spot_pool_states_its_dated_spot_price() -> None:
    spot_pool = pool("g5", backend="eks", region="us-east-1", model="a10g", machineType="g5.xlarge", maxNodes=3,
                     spot=True)
    diff = diff_plans(plan(), plan(spot_pool))
    on_demand, spot = hourly("eks", "g5.xlarge", "us-east-1")
    (change,) = pool_changes(diff)
    assert change.after.billed() == (0.0, pytest.approx(spot * 730 * 3))
    text = cost_text(diff).plain
    assert (f"+ pool g5: g5.xlarge, 0–3 nodes × 1 GPU; $0 – ${spot * 730 * 3:,.0f} spot as of 2025-11-30 "
            f"($0 – ${on_demand * 730 * 3:,.0f} on-demand); up to +${spot * 730 * 3:,.0f} a month at the most") in text
    sources = cost_json(diff)["cost"]["sources"]
    assert list(sources) == ["eks"] and (sources["eks"]["spotDate"], sources["eks"]["date"]) == \
        ("2025-11-30", "2026-01-21")  # EKS spot figures come from another snapshot than its list prices
    (data,) = cost_json(diff)["cost"]["pools"]
    assert data["after"]["spotAsOf"] == "2025-11-30"
    assert data["after"]["monthlySpot"] == [0.0, pytest.approx(spot * 730 * 3)]


def test_a_zone_is_priced_as_its_region_and_eks_ranges_over_karpenters_choice() -> None:
    (zonal,) = plan_pools(plan(pool("z", region="europe-west4-b"))).values()
    assert zonal[1].rates[0].on_demand == hourly("gke", "g2-standard-8", "europe-west4")[0]
    eks = pool("e", backend="eks", region="eu-central-1", model="l4", machineType=None, acceleratorsPerNode=1)
    (_, cost), = plan_pools(plan(eks)).values()
    machines = {r.machine for r in cost.rates}
    assert machines == {m for m, e in price_table()["eks"].items() if m.startswith("g6.") and e["gpus"] == 1}
    assert describe_size(cost).startswith("Karpenter picks (g6 family), 0–2 nodes × 1 GPU")
    low, high = cost.monthly(False)
    assert low == 0 and high == pytest.approx(max(r.on_demand for r in cost.rates) * 730 * 2)
    low, high = cost.monthly(True)
    assert low == 0 and high == pytest.approx(max(r.spot for r in cost.rates) * 730 * 2)
    (_, nowhere), = plan_pools(plan(pool("e", backend="eks", region="eu-west-1", machineType=None))).values()
    assert nowhere.missing.endswith("no price for region eu-west-1")  # the source lists no g6 there


def test_unknown_prices_are_said_to_be_unknown_never_zero() -> None:
    aks_nowhere = pool("a", backend="aks", region=None, machineType="Standard_NC24ads_A100_v4")
    aks_v100 = pool("v", backend="aks", region="polandcentral", model="v100", machineType="Standard_NC6s_v3")
    n1 = pool("t4", model="t4", machineType="n1-standard-8")
    # p5.48xlarge in ap-northeast-2: on-demand known, no measured spot price in the snapshot.
    p5 = {"backend": "eks", "region": "ap-northeast-2", "model": "h100-80gb", "machineType": "p5.48xlarge",
          "acceleratorsPerNode": 8, "maxNodes": 1}
    assert hourly("eks", "p5.48xlarge", "ap-northeast-2")[1] is None
    diff = diff_plans(plan(pool("h", **p5)), plan(aks_nowhere, aks_v100, n1, pool("h", **p5, spot=True)))
    text = cost_text(diff).plain
    lines = {line.split(":", 1)[0].strip(): line for line in text.splitlines() if "pool " in line}
    assert lines["+ pool a"].endswith("price unknown: no region to price it in (mlplane:cluster.location is not "
                                      "set); cost change unknown")
    assert ("price unknown: Standard_NC6s_v3: the source lists NC6s v3 with no price in Poland Central, the only "
            "region it holds") in lines["+ pool v"]
    assert "price unknown: n1-standard-8: N1 machine types with attached T4 or V100 GPUs" in lines["+ pool t4"]
    on_demand = hourly("eks", "p5.48xlarge", "ap-northeast-2")[0]
    assert lines["~ pool h"].endswith(f"spot price unknown ($0 – ${on_demand * 730:,.0f} on-demand); was $0 – "
                                      f"${on_demand * 730:,.0f} on-demand (spot price unknown); cost change unknown")
    for name in ("+ pool a", "+ pool v", "+ pool t4", "~ pool h"):
        assert "$0 spot" not in lines[name] and "$0 a month" not in lines[name]
    data = {p["pool"]: p for p in cost_json(diff)["cost"]["pools"]}
    assert data["h"]["after"]["monthlySpot"] is None and data["h"]["monthlyChange"] is None
    assert data["v"]["after"]["priceUnknown"].startswith("Standard_NC6s_v3: the source lists NC6s v3")


def test_self_hosted_pools_count_gpus() -> None:
    onprem = pool("o", backend="selfhosted", region=None, machineType=None, acceleratorsPerNode=4, nodes=3,
                  sharing={"kind": "time-slicing", "replicas": 2})
    text = cost_text(diff_plans(plan(), plan(onprem))).plain
    assert "pool o: 3 nodes × 4 GPUs = 12 GPUs; self-hosted: GPUs only" in text
    assert "time-slicing ×2: 24 workloads on 12 GPUs; a GPU for each would take 12 more GPUs" in text
    assert "$" not in text.split("pool o:")[1]
    by_label = pool("l", backend="selfhosted", region=None, machineType=None, acceleratorsPerNode=2)
    assert "pool l: nodes chosen by label, 2 GPUs each" in cost_text(diff_plans(plan(), plan(by_label))).plain


def test_an_aks_stack_prices_its_pools_in_its_location(tmp_path) -> None:
    from mlplane.infra.cli import main
    from mlplane.infra.offline.plan import load_plan

    stack = tmp_path / "Pulumi.t.yaml"
    stack.write_text(yaml.safe_dump({"config": {
        "mlplane:cluster": {"kind": "aks", "resource_group": "rg", "name": "c", "location": "polandcentral"},
        "mlplane:accelerators": {"pools": [{"name": "t4", "vendor": "nvidia", "model": "t4", "accelerators_per_node": 1,
                                            "machine_type": "Standard_NC8as_T4_v3", "max_nodes": 2, "spot": True}]},
    }}))
    assert main(["render", "--config-file", str(stack), "--out", str(tmp_path / "out")]) == 0
    (_, cost), = plan_pools(load_plan(tmp_path / "out")).values()
    assert cost.facts["region"] == "polandcentral"
    assert cost.billed() == (0.0, pytest.approx(hourly("aks", "Standard_NC8as_T4_v3", "polandcentral")[1] * 730 * 2))


def test_the_gke_stack_states_its_pools_cost() -> None:
    pools = {cost.name: cost for _, cost in plan_pools(rendered("gke")).values()}
    assert set(pools) == {"l4-mps", "a100"}
    l4 = pools["l4-mps"]
    assert (l4.facts["machineType"], l4.facts["region"], l4.facts["spot"]) == ("g2-standard-8", "europe-west4", True)
    assert l4.billed()[1] == pytest.approx(hourly("gke", "g2-standard-8", "europe-west4")[1] * 730 * 4)
    assert pools["a100"].billed()[1] == pytest.approx(hourly("gke", "a2-highgpu-1g", "europe-west4")[0] * 730 * 2)


@pytest.mark.parametrize("region", ["PolandCentral", "Poland Central", "poland-central"])
def test_a_region_spelt_otherwise_says_how_the_table_spells_it(region: str) -> None:
    """Still unknown (no spelling is guessed into a price), but the reader learns why."""
    aks = pool("a", backend="aks", region=region, machineType="Standard_NC24ads_A100_v4")
    (_, cost), = plan_pools(plan(aks)).values()
    assert cost.missing == (f"Standard_NC24ads_A100_v4: no price for region {region} "
                            "(the price table spells it polandcentral)")
    (_, elsewhere), = plan_pools(plan(pool("b", backend="aks", region="westeurope",
                                           machineType="Standard_NC24ads_A100_v4"))).values()
    assert elsewhere.missing == "Standard_NC24ads_A100_v4: no price for region westeurope"
