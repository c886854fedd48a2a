"""What a reviewer sees: golden text, Markdown and JSON diffs of fixed plan pairs.

The pair covers a value change (a Job's ``--steps`` 200 → 500), a claim resize
(5Gi → 10Gi), a rename kept through an alias, a claim deleted (danger), secrets that
must never show (a Secret's data, a credential-named env var), a long value elided
around its change, env entries matched by name, and objects of an expanded Helm chart
listed under their chart. Regenerate the golden files after a deliberate change with
``MLPLANE_UPDATE_GOLDEN=1 pytest tests/test_review_diff.py`` and review their diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlplane.infra.offline.cost import price_table
from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.paths import ABSENT
from mlplane.infra.offline.report import format_text
from mlplane.infra.offline.sections import cost_text, json_report, markdown_report
from mlplane.infra.offline.shown import elided

from .plans import component, deployment, job, k8s, plan, pvc, renamed, secret, storage_class, under

GOLDEN = Path(__file__).parent / "golden"
PLAINTEXT_SECRETS = ("hunter2", "s3cr3t-old", "s3cr3t-new", "tok-123", "tok-456")
SCRIPT = "set -e\n" + "".join(f"echo step {i}\n" for i in range(40))


def _web(image: str, env: list[dict], replicas: int = 1):
    """A web app component: its Deployment, and a Service that depends on it."""
    app = component("mlplane:serving:WebApp", "webapp")
    web = deployment(image=image)
    web.inputs["spec"]["replicas"] = replicas
    web.inputs["spec"]["template"]["spec"]["containers"][0]["env"] = env
    web = under(app, web)
    service = under(app, k8s("kubernetes:core/v1:Service", "web-svc", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "ml"},
        "spec": {"ports": [{"port": 80}]}}), web)
    return app, web, service


def _config(script: str):
    return k8s("kubernetes:core/v1:ConfigMap", "script", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "script", "namespace": "ml"},
        "data": {"run.sh": script}})


def _chart_objects(image: str):
    chart = component("kubernetes:helm.sh/v4:Chart", "cert-manager", chart="cert-manager", version="v1.19.4")
    controller = under(chart, deployment("cert-manager", image=image, selector="cert-manager"))
    service = under(chart, k8s("kubernetes:core/v1:Service", "cert-manager-svc", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "cert-manager", "namespace": "cert-manager"},
        "spec": {"ports": [{"port": 9402}]}}), controller)
    return chart, controller, service


def _pool(name: str, backend: str, region: str, model: str, machine: str, max_nodes: int, spot: bool):
    """A GPU pool's recorded facts; its cost comes from the dated price table."""
    return component("mlplane:accelerators:AcceleratorPool", f"pool-{name}", backend=backend, region=region,
                     vendor="nvidia", model=model, machineType=machine, acceleratorsPerNode=1, minNodes=0,
                     maxNodes=max_nodes, nodes=None, spot=spot, sharing=None, migProfile=None)


def pair():
    """The plans before and after the reviewed change."""
    chart, controller, service = _chart_objects("quay.io/jetstack/cert-manager-controller:v1.19.3")
    old = plan(
        job(args=("--steps", "200")),
        pvc("data", size="5Gi"),
        pvc("scratch", protect=True),
        pvc("datasets", size="500Gi"),
        storage_class(),  # allows expansion: the claims grow in place
        *_web("web:v1", [{"name": "DB_PASSWORD", "value": "s3cr3t-old"}, {"name": "MODE", "value": "fast"}]),
        secret(data={"password": "hunter2", "api_token": "tok-123"}),
        _config(SCRIPT),
        chart, controller, service,
        # An AKS pool grows and turns to spot; an EKS spot pool grows.
        _pool("a100", "aks", "polandcentral", "a100-80gb", "Standard_NC24ads_A100_v4", 2, spot=False),
        _pool("g5", "eks", "us-east-1", "a10g", "g5.xlarge", 2, spot=True),
    )
    chart2, controller2, service2 = _chart_objects("quay.io/jetstack/cert-manager-controller:v1.19.4")
    new = plan(
        job(args=("--steps", "500")),
        pvc("data", size="10Gi"),
        renamed(pvc("datasets", size="500Gi"), "training-data"),
        storage_class(),
        *_web("web:v2", [{"name": "LOG_LEVEL", "value": "debug"},
                        {"name": "DB_PASSWORD", "value": "s3cr3t-new"}, {"name": "MODE", "value": "fast"}],
             replicas=2),
        secret(data={"password": "hunter2", "api_token": "tok-456"}),
        _config(SCRIPT.replace("echo step 20\n", "echo step twenty\n")),
        chart2, controller2, service2,
        _pool("a100", "aks", "polandcentral", "a100-80gb", "Standard_NC24ads_A100_v4", 4, spot=True),
        _pool("g5", "eks", "us-east-1", "a10g", "g5.xlarge", 3, spot=True),
    )
    return old, new


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    diff = diff_plans(*pair())
    return {"diff.txt": format_text(diff, cost_text(diff)), "diff.md": markdown_report(diff),
            "diff.json": json_report(diff)}


@pytest.mark.parametrize("name", ["diff.txt", "diff.md", "diff.json"])
def test_golden(outputs: dict[str, str], name: str) -> None:
    path = GOLDEN / name
    if os.environ.get("MLPLANE_UPDATE_GOLDEN"):
        path.write_text(outputs[name], encoding="utf-8")
    assert outputs[name] == path.read_text(encoding="utf-8"), f"{name} differs; see the module docstring"


def test_no_secret_in_any_format(outputs: dict[str, str]) -> None:
    for name, text in outputs.items():
        leaked = [s for s in PLAINTEXT_SECRETS if s in text]
        assert not leaked, (name, leaked)
    assert '"[secret]"' in outputs["diff.txt"]


def test_reviewer_sees_the_numbers(outputs: dict[str, str]) -> None:
    text = outputs["diff.txt"]
    assert 'spec.template.spec.containers[name=main].args[1]: "200" → "500"' in text
    assert 'spec.resources.requests.storage: "5Gi" → "10Gi"' in text
    assert "PersistentVolumeClaim datasets → training-data" in text
    assert "claim ml/scratch (10Gi, class standard) and the data on its volume" in text
    # The env entry added in front does not make the others look changed.
    assert 'env[name=LOG_LEVEL]: (absent) → {"name": "LOG_LEVEL", "value": "debug"}' in text
    assert "env[name=MODE]" not in text and "env[0]" not in text
    # Objects of the chart are listed under it.
    chart_line = text.index("Helm chart cert-manager: 1 changed object")
    assert text.index("Deployment cert-manager") > chart_line


def test_json_keeps_whole_values_with_before_and_after(outputs: dict[str, str]) -> None:
    data = json.loads(outputs["diff.json"])
    changes = {c["urn"].rsplit("::", 1)[1]: c for c in data["changes"]}
    steps = changes["train"]["values"][0]
    assert (steps["before"], steps["after"]) == ("200", "500")
    assert changes["training-data"]["renamedFrom"].endswith("::datasets")
    assert changes["cert-manager"]["source"].endswith("kubernetes:helm.sh/v4:Chart::cert-manager")
    script = next(v for v in changes["script"]["values"] if v["path"] == 'data["run.sh"]')
    assert script["after"] == SCRIPT.replace("echo step 20\n", "echo step twenty\n")  # whole, not elided
    added = next(v for v in changes["web"]["values"] if v["path"].endswith("env[name=LOG_LEVEL]"))
    assert "before" not in added and added["after"] == {"name": "LOG_LEVEL", "value": "debug"}


def test_markdown_groups_and_draws(outputs: dict[str, str]) -> None:
    markdown = outputs["diff.md"]
    assert markdown.startswith("### mlplane plan diff: stack `t`\n\n_The 1 chart/directory expanded: the objects "
                               "it installs are checked._\n\n**0 to create, 6 to update")  # the two pools changed too
    assert "<summary>Helm chart cert-manager: 1 changed object</summary>" in markdown
    graph = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert graph.startswith("flowchart LR\n")
    # Grouped by component; the unchanged Service that depends on the changed
    # Deployment is drawn as its dependent; the chart's objects as their chart.
    assert 'subgraph g1["webapp"]' in graph
    web = next(line.split("[")[0].strip() for line in graph.splitlines() if '"~ Deployment web"' in line)
    service = next(line.split("[")[0].strip() for line in graph.splitlines() if '"Service web-svc"' in line)
    assert f"{web} --> {service}" in graph and f"{service}[" in graph and ":::dependent" in graph
    assert '"~ Chart cert-manager"' in graph and "Deployment cert-manager" not in graph


def test_long_values_are_cut_around_the_change() -> None:
    before, after = elided(SCRIPT, SCRIPT.replace("echo step 20\n", "echo step twenty\n"))
    assert before.startswith("…") and after.startswith("…") and before.endswith("…")
    assert "step 20" in before and "step twenty" in after
    assert len(before) <= 90 and len(after) <= 90
    assert elided("a", "b") == ('"a"', '"b"')
    assert elided(ABSENT, "x") == ("(absent)", '"x"')


def test_pool_cost_figures_come_from_the_price_table(outputs: dict[str, str]) -> None:
    table = price_table()
    a100_on_demand, a100_spot = table["aks"]["Standard_NC24ads_A100_v4"]["hourly"]["polandcentral"]
    g5_on_demand, g5_spot = table["eks"]["g5.xlarge"]["hourly"]["us-east-1"]
    a100_after, g5_after = f"${a100_spot * 730 * 4:,.0f} spot as of 2026-01-26", f"${g5_spot * 730 * 3:,.0f} spot as of 2025-11-30"
    for name in ("diff.txt", "diff.md"):
        assert a100_after in outputs[name] and f"${a100_on_demand * 730 * 2:,.0f} on-demand" in outputs[name]
        assert g5_after in outputs[name] and f"up to +${g5_spot * 730 * 1:,.0f} a month at the most" in outputs[name]
    pools = {p["pool"]: p for p in json.loads(outputs["diff.json"])["cost"]["pools"]}
    assert pools["a100"]["after"]["monthlySpot"] == [0.0, pytest.approx(a100_spot * 730 * 4)]
    assert pools["a100"]["monthlyChange"] == pytest.approx(a100_spot * 730 * 4 - a100_on_demand * 730 * 2)
    assert pools["g5"]["after"]["spotAsOf"] == "2025-11-30"
    assert pools["g5"]["monthlyChange"] == pytest.approx(g5_spot * 730)
