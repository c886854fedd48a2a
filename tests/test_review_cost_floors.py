"""Cost lines separate floors from ceilings; self-hosted stacks price their GPUs themselves, or not at all.

A raised minimum is paid every month ("+$X a month from now on"); a raised maximum is
only what a busy month may cost ("up to +$Y"). A self-hosted stack may give its own
price of a GPU-hour per model (``mlplane:accelerators.gpu_hour_prices``); it is never
told a cloud's price dates. Prices for unknown models, negative or non-numeric prices,
and prices on a cloud stack are bad input: exit 2 naming the file, key path, value and
what is allowed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlplane.infra.cli import main
from mlplane.infra.offline.cost import pool_changes, price_table
from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.sections import cost_json, cost_markdown, cost_text

from .conftest import ROOT
from .test_review_cost import hourly, pool
from .plans import plan


def test_a_raised_minimum_is_a_floor_paid_every_month() -> None:
    diff = diff_plans(plan(pool("l4", minNodes=0, maxNodes=4)), plan(pool("l4", minNodes=2, maxNodes=4)))
    on_demand = hourly("gke", "g2-standard-8", "europe-west4")[0]
    text = cost_text(diff).plain
    assert text.rstrip().endswith(f"; +${on_demand * 730 * 2:,.0f} a month from now on")
    assert "up to" not in text  # the most a month stays what it was
    (data,) = cost_json(diff)["cost"]["pools"]
    assert data["floorChange"] == pytest.approx(on_demand * 730 * 2) and data["ceilingChange"] == 0


def test_floor_and_ceiling_both_said_when_both_move() -> None:
    diff = diff_plans(plan(pool("l4", minNodes=1, maxNodes=2)), plan(pool("l4", minNodes=2, maxNodes=6)))
    on_demand = hourly("gke", "g2-standard-8", "europe-west4")[0]
    assert cost_text(diff).plain.rstrip().endswith(
        f"; +${on_demand * 730:,.0f} a month from now on; up to +${on_demand * 730 * 4:,.0f} a month at the most")
    assert f"+${on_demand * 730:,.0f} a month from now on" in cost_markdown(diff)


def _own(name: str, **facts):
    base = {"backend": "selfhosted", "region": None, "vendor": "nvidia", "model": "a100-80gb", "machineType": None,
            "acceleratorsPerNode": 8, "minNodes": 0, "maxNodes": 1, "nodes": 2, "spot": False}
    return pool(name, **{**base, **facts})


def test_a_self_hosted_stack_prices_its_gpus_itself_and_sees_no_cloud_dates() -> None:
    diff = diff_plans(plan(_own("a100", gpuHourPrice=1.5)), plan(_own("a100", nodes=3, gpuHourPrice=1.5)))
    text = cost_text(diff).plain
    assert "list prices as of" not in text and "spot" not in text
    for cloud in price_table()["sources"]:
        assert cloud.upper() not in text
    assert "self-hosted pools at the stack's own GPU-hour prices (mlplane:accelerators.gpu_hour_prices)" in text
    assert f"${1.5 * 8 * 3 * 730:,.0f} at your $1.50 a GPU-hour" in text
    assert text.rstrip().endswith(f"; +${1.5 * 8 * 730:,.0f} a month from now on")  # a node always there
    assert cost_json(diff)["cost"]["sources"] == {}
    unpriced = cost_text(diff_plans(plan(_own("a100")), plan(_own("a100", nodes=3)))).plain
    assert "self-hosted: GPUs only" in unpriced and "list prices" not in unpriced
    assert "self-hosted pools state GPUs only" in unpriced
    assert pool_changes(diff)[0].after.missing is None


def _onprem(tmp_path: Path, prices: object, cluster: str = "onprem") -> Path:
    document = yaml.safe_load((ROOT / f"Pulumi.{cluster}.yaml").read_text())
    config = {key: document["config"][key] for key in ("mlplane:cluster", "mlplane:accelerators")}
    config["mlplane:accelerators"]["gpu_hour_prices"] = prices
    path = tmp_path / f"Pulumi.{cluster}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def test_own_prices_reach_the_plan_and_the_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _onprem(tmp_path, {"a100-80gb": 1.9, "l4": 0.4})
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert main(["preview", "--config-file", str(path), "--against", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"pool nvidia-a100: 2 nodes × 8 GPUs = 16 GPUs; ${1.9 * 16 * 730:,.0f} at your $1.90 a GPU-hour" in out
    assert "pool amd-mi300x: 1 node × 8 GPUs = 8 GPUs; self-hosted: GPUs only" in out  # no price given for it
    assert "list prices as of" not in out


@pytest.mark.parametrize(("prices", "said", "value", "allowed"), [
    ({"a100-81gb": 1.0}, "mlplane:accelerators.gpu_hour_prices.a100-81gb: not a GPU model mlplane knows",
     "a100-81gb", "a100-80gb, "),
    ({"l4": -0.5}, "mlplane:accelerators.gpu_hour_prices.l4", "-0.5", "allowed: at least 0.0"),
    ({"l4": "cheap"}, "mlplane:accelerators.gpu_hour_prices.l4", "cheap", "number"),
    ({"l4": "0.5"}, "mlplane:accelerators.gpu_hour_prices.l4", "0.5", "number"),
])
def test_bad_prices_exit_2_naming_file_key_value_and_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             prices: dict, said: str, value: str,
                                                             allowed: str) -> None:
    path = _onprem(tmp_path, prices)
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:")
    assert said in err and value in err and allowed in err, err
    assert not (tmp_path / "out").exists()


def test_own_prices_are_refused_on_a_cloud_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _onprem(tmp_path, {"l4": 0.5}, cluster="gke")
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "gpu_hour_prices: own GPU prices are for self-hosted clusters" in err and "got" in err.lower()
