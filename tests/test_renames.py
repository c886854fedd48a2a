"""Nothing lost: renames and moves keep every stateful resource, checked by diffing plans.

Each test renders a repository stack before and after a change, as the same stack (so
URNs compare), and runs ``mlplane diff --fail-on-danger`` over the two plans: exit 0
means no protected or stateful resource would be deleted or replaced. Where the change
needs ``formerly``, the same change without it is shown to be dangerous, so the check
cannot pass by accident.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from mlplane.components.accelerators.spec import POOL_LABEL, PoolSpec, pool_node_labels, pool_node_selector
from mlplane.components.renames import data_name, formerly_problem
from mlplane.infra.cli import main
from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.plan import Plan
from mlplane.infra.layers.capacity import capacity_facts
from mlplane.infra.offline.kinds import is_stateful_type

from .conftest import load_stack
from .test_pipelines_stack import DATA, stack_from

Change = Callable[[dict[str, Any]], None]


def render(folder: Path, base: str, change: Change | None = None) -> Path:
    """Render the repository stack ``base``, changed, into ``folder/render``."""
    stack = stack_from(folder, base, change or (lambda config: None), name=base)
    out = folder / "render"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["render", "--config-file", str(stack), "--out", str(out)])
    assert code == 0, err.getvalue()
    return out


def diff(old: Path, new: Path) -> tuple[int, dict[str, Any]]:
    """``mlplane diff OLD NEW --format json --fail-on-danger``: its exit code and diff."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["diff", str(old), str(new), "--format", "json", "--fail-on-danger"])
    return code, json.loads(buffer.getvalue())


def stateful(render_dir: Path) -> dict[str, dict[str, Any]]:
    """The plan's stateful or protected resources by URN."""
    plan = json.loads((render_dir / "plan.json").read_text())
    return {r["urn"]: r for r in plan["resources"] if is_stateful_type(r["type"]) or r["protect"]}


def kept(old: Path, new: Path, upgrade: bool = False) -> list[dict[str, Any]]:
    """Assert that the diff is safe, and that every stateful resource is still there.

    Args:
        upgrade: The change is a release upgrade: ``--fail-on-danger`` fails on its skipped
            upgrade steps and its changed sources (not expanded here), never on data.

    Returns:
        The changes of the diff, for further checks.
    """
    code, changes = diff(old, new)
    dangers = [c["reason"] for c in changes["changes"] if c["danger"]]
    assert code == (1 if upgrade else 0) and not dangers, dangers
    if upgrade:
        assert changes["unexpanded"]["changed"] and all(
            c["component"] in ("cert_manager", "istio", "knative_serving", "training")
            for c in changes["release"]["components"] if "danger" in c)
    after = stateful(new)
    aliased = {alias: urn for urn, r in after.items() for alias in r["aliases"]}
    for urn, before in stateful(old).items():
        now = after.get(urn) or after.get(aliased.get(urn, ""))
        assert now is not None, f"{urn} is gone"
        name = (before["inputs"].get("metadata") or {}).get("name")
        assert (now["inputs"].get("metadata") or {}).get("name") == name, f"{urn} changed its Kubernetes name"
    return changes["changes"]


def hints(old: Path, new: Path) -> dict[str, str]:
    """The diff's rename hints by the deleted resource's logical name."""
    _, changes = diff(old, new)
    return {c["urn"].rsplit("::", 1)[1]: c["hint"] for c in changes["changes"] if c.get("hint")}


def dangerous(old: Path, new: Path) -> list[str]:
    """The reasons of the diff's dangerous changes; asserts ``--fail-on-danger`` exits 1."""
    code, changes = diff(old, new)
    assert code == 1
    return [c["reason"] for c in changes["changes"] if c["danger"]]


# --- volumes -------------------------------------------------------------------------------------


def rename_volume(old: str, new: str, formerly: bool) -> Change:
    def change(config: dict[str, Any]) -> None:
        [volume] = [v for v in config["mlplane:storage"]["volumes"] if v["name"] == old]
        volume["name"] = new
        if formerly:
            volume["formerly"] = [old]
    return change


@pytest.fixture(scope="module")
def dev_before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("dev-before"), "dev")


def test_renaming_a_volume_keeps_its_claim(dev_before: Path, tmp_path: Path) -> None:
    after = render(tmp_path, "dev", rename_volume("datasets", "training-data", formerly=True))
    changes = kept(dev_before, after)
    assert not any(c.get("hint") for c in changes)  # kept: nothing to hint at
    claim = next(c for c in changes if c["urn"].endswith("::volume-training-data-claim"))
    assert claim["op"] == "update" and "renamed or moved" in claim["reason"]


def test_renaming_a_volume_without_formerly_is_flagged(dev_before: Path, tmp_path: Path) -> None:
    after = render(tmp_path, "dev", rename_volume("datasets", "training-data", formerly=False))
    assert any("volume-datasets-claim" in reason or "'datasets'" in reason for reason in dangerous(dev_before, after))
    assert hints(dev_before, after) == {"volume-datasets": (
        "looks like a rename of datasets to training-data: `formerly: [datasets]` on volume training-data "
        "(mlplane:storage.volumes) keeps its identity; without it its data is destroyed")}


def test_renaming_a_notebook_without_formerly_hints_at_it(dev_before: Path, tmp_path: Path) -> None:
    def rename(config: dict[str, Any]) -> None:
        config["mlplane:workbenches"]["notebooks"][0]["name"] = "lab"

    after = render(tmp_path, "dev", rename)
    assert hints(dev_before, after) == {"notebook-kubeflow-user-example-com-scratch": (
        "looks like a rename of scratch to lab: `formerly: [scratch]` on notebook lab "
        "(mlplane:workbenches.notebooks) keeps its identity; without it its data is destroyed")}
    # The text report shows it under the delete, on one line.
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        main(["diff", str(dev_before / "plan.json"), str(after / "plan.json")])
    lines = buffer.getvalue().splitlines()
    index = next(i for i, line in enumerate(lines) if "delete  mlplane:workbench:Workbench" in line)
    assert lines[index + 1].strip().startswith("hint: looks like a rename of scratch to lab: `formerly: [scratch]`")


def test_work_finds_a_renamed_volume_by_its_new_name_on_its_old_claim() -> None:
    """Pipelines look volumes up by their stack name; what they mount is the kept claim."""
    config = load_stack("dev")
    volumes = [v.model_copy(update={"name": "training-data", "formerly": ("datasets",)})
               if v.name == "datasets" else v for v in config.storage.volumes]
    renamed = config.model_copy(update={"storage": config.storage.model_copy(update={"volumes": tuple(volumes)})})
    facts = capacity_facts(renamed).volumes
    assert "datasets" not in facts and facts["training-data"].claim_name == "datasets"


# --- pipelines and steps ------------------------------------------------------------------------


def surface(name: str, **extra: Any) -> Change:
    """The KFP v1 fixture (a VolumeOp and outputs, so two claims) as the stack's only pipeline."""
    def change(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [{"name": name, "kind": "kfp-v1", "source": "surface.py:surface", **extra}]
        # Its VolumeOp names the class `standard`: a VolumeOp obeys the stack's storage rules.
        config["mlplane:storage"]["classes"].append({"name": "standard", "kind": "local-path"})
        config["mlplane:accelerators"] = {"pools": [{"name": "mi300", "vendor": "amd", "model": "mi300x",
                                                     "accelerators_per_node": 8, "nodes": {"names": ["gpu-1"]}}]}
    return change


def surface_render(folder: Path, name: str, **extra: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "kfp_v1_outputs.py", folder / "surface.py")
    return render(folder, "onprem", surface(name, **extra))


@pytest.fixture(scope="module")
def surface_before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return surface_render(tmp_path_factory.mktemp("surface-before"), "surface")


def test_the_fixture_has_pipeline_claims(surface_before: Path) -> None:
    claims = [r["name"] for r in stateful(surface_before).values()
              if r["type"] == "kubernetes:core/v1:PersistentVolumeClaim"]
    assert "pipeline-surface-outputs" in claims and "pipeline-surface-scratch-pvc" in claims


def test_renaming_a_pipeline_keeps_its_claims(surface_before: Path, tmp_path: Path) -> None:
    after = surface_render(tmp_path, "digits", formerly=["surface"])
    changes = {c["urn"].rsplit("::", 1)[1]: c for c in kept(surface_before, after)}
    for claim in ("pipeline-digits-outputs", "pipeline-digits-scratch-pvc"):
        assert changes[claim]["op"] == "update", changes[claim]


def test_renaming_a_pipeline_without_formerly_is_flagged(surface_before: Path, tmp_path: Path) -> None:
    after = surface_render(tmp_path, "digits")
    reasons = dangerous(surface_before, after)
    assert any("deletes PersistentVolumeClaim" in reason for reason in reasons)
    assert hints(surface_before, after) == {"pipeline-surface": (
        "looks like a rename of surface to digits: `formerly: [surface]` on pipeline digits (mlplane:pipelines) "
        "keeps its identity; without it its data is destroyed")}


def test_a_renamed_pipeline_keeps_its_data_names_for_good(surface_before: Path, tmp_path: Path) -> None:
    """surface -> digits -> mnist-kfp: the claims keep the first name's Kubernetes names."""
    after = surface_render(tmp_path, "mnist-kfp", formerly=["surface", "digits"])
    kept(surface_before, after)


def test_renaming_a_step_keeps_its_volume(surface_before: Path, tmp_path: Path) -> None:
    folder = tmp_path / "renamed"
    folder.mkdir()
    text = (DATA / "kfp_v1_outputs.py").read_text()
    (folder / "surface.py").write_text(text.replace("dsl.VolumeOp(name='scratch'", "dsl.VolumeOp(name='workspace'"))
    after = render(folder, "onprem", surface("surface", renamed_steps={"workspace": ["scratch"]}))
    changes = kept(surface_before, after)
    claim = next(c for c in changes if c["urn"].endswith("::pipeline-surface-workspace-pvc"))
    assert claim["op"] == "update"

    unaliased = tmp_path / "unaliased"
    unaliased.mkdir()
    (unaliased / "surface.py").write_text((folder / "surface.py").read_text())
    unaliased_render = render(unaliased, "onprem", surface("surface"))
    assert dangerous(surface_before, unaliased_render)
    assert hints(surface_before, unaliased_render) == {"pipeline-surface-scratch": (
        "looks like a rename of scratch to workspace: `renamed_steps: {workspace: [scratch]}` on the pipeline "
        "(mlplane:pipelines) keeps its identity; without it its data is destroyed")}


# --- pools and release trains --------------------------------------------------------------------


def rename_pool(formerly: bool) -> Change:
    def change(config: dict[str, Any]) -> None:
        pool = config["mlplane:accelerators"]["pools"][0]
        assert pool["name"] == "l4-mps"
        pool["name"] = "l4-shared"
        if formerly:
            pool["formerly"] = ["l4-mps"]
        for entry in config["mlplane:pipelines"]:
            if entry["params"].get("serve_pool") == "l4-mps":
                entry["params"]["serve_pool"] = "l4-shared"
        for notebook in config.get("mlplane:workbenches", {}).get("notebooks", []):
            if (notebook.get("accelerator") or {}).get("pool") == "l4-mps":
                notebook["accelerator"]["pool"] = "l4-shared"
    return change


@pytest.fixture(scope="module")
def gke_before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("gke-before"), "gke")


def test_renaming_a_pool_touches_no_data(gke_before: Path, tmp_path: Path) -> None:
    """A pool holds no data: renamed without formerly, a new node pool replaces the old one."""
    after = render(tmp_path, "gke", rename_pool(formerly=False))
    changes = kept(gke_before, after)
    node_pools = {c["op"] for c in changes if c["type"] == "gcp:container/nodePool:NodePool"}
    assert node_pools == {"create", "delete"}
    # No data at stake, so the hint says only how to keep the node pool.
    assert hints(gke_before, after) == {"pool-l4-mps": (
        "looks like a rename of l4-mps to l4-shared: `formerly: [l4-mps]` on pool l4-shared "
        "(mlplane:accelerators.pools) keeps its identity")}


def test_renaming_a_pool_with_formerly_changes_nothing_on_the_cluster(gke_before: Path, tmp_path: Path) -> None:
    """With formerly, the node pool keeps its GKE name and nodes their labels: no replacement at all."""
    changes = kept(gke_before, render(tmp_path, "gke", rename_pool(formerly=True)))
    assert not [c for c in changes if c["op"] in ("replace", "delete")], changes
    pool = next(c for c in changes if c["urn"].endswith("::pool-l4-shared-node-pool"))
    assert pool["op"] == "update" and "renamed or moved" in pool["reason"]


@pytest.mark.parametrize("stack", ["dev", "gke", "onprem"])
def test_switching_release_trains_replaces_no_data(stack: str, tmp_path: Path) -> None:
    def older(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["release"] = "1.8.1"

    old = render(tmp_path / "old", stack, older)
    new = render(tmp_path / "new", stack)
    changes = kept(old, new, upgrade=True)
    touched = {c["urn"] for c in changes if c["op"] in ("replace", "delete")}
    assert not touched & set(stateful(old)), "a stateful resource is replaced or deleted"
    # Going back is flagged only where 1.8.1 lacks a component that keeps data (the
    # Model Registry and its database): removing it would delete them.
    back = dangerous(new, old) if stack != "dev" else []
    assert all("model-registry" in reason for reason in back), back
    # Upgrading warns of nothing; going back names the release and each chart that goes down.
    assert "warnings" not in diff(old, new)[1]
    [warning] = diff(new, old)[1]["warnings"]
    assert warning.startswith("Downgrade: Kubeflow manifests 26.03 → v1.8.1, chart ")
    assert "chart cert-manager v1.19.4 → v1.12.2" in warning and "chart istiod 1.29.0 → 1.17.3" in warning
    assert "Downgrades are a risk" in warning and "--enable_database_upgrade=true" in warning


# --- components renamed or moved in code ----------------------------------------------------------


class Store(pulumi.ComponentResource):
    """A toy component holding data: a protected claim named after the component."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:test:Store", name, None, opts)
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-claim", metadata={"name": "kept", "namespace": "data"},
            spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True))
        self.register_outputs({})


class Group(pulumi.ComponentResource):
    """A toy component that other components move under."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:test:Group", name, None, opts)
        self.register_outputs({})


def test_a_component_renamed_in_code_carries_its_children(record: Callable[..., Plan]) -> None:
    before = record(lambda: Store("store"))
    after = record(lambda: Store("models", pulumi.ResourceOptions(aliases=[pulumi.Alias(name="store")])))
    changes = diff_plans(before, after)
    assert not changes.has_danger and changes.summary()["delete"] == 0
    [claim] = [r for r in after if r.name == "models-claim"]
    assert any(a.endswith("mlplane:test:Store$kubernetes:core/v1:PersistentVolumeClaim::store-claim")
               for a in claim.aliases)

    unaliased = diff_plans(before, record(lambda: Store("models")))
    assert unaliased.has_danger


def test_a_component_moved_under_another_parent_carries_its_children(record: Callable[..., Plan]) -> None:
    before = record(lambda: Store("store"))

    def moved() -> None:
        group = Group("group")
        Store("store", pulumi.ResourceOptions(parent=group, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]))

    changes = diff_plans(before, record(moved))
    assert not changes.has_danger
    assert {c.op for c in changes.changes} == {"create", "update"}  # the group is new; the rest moved

    def moved_without_alias() -> None:
        Store("store", pulumi.ResourceOptions(parent=Group("group")))

    assert diff_plans(before, record(moved_without_alias)).has_danger


# --- the platform's own data ----------------------------------------------------------------------


def test_disabling_a_component_with_a_database_is_flagged(dev_before: Path, tmp_path: Path) -> None:
    """KFP's MySQL lives in its manifests: dropping them would drop the database."""
    def disable(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["components"]["pipelines"] = {"enabled": False}

    reasons = dangerous(dev_before, render(tmp_path, "dev", disable))
    assert any("platform-apps-pipelines-pipelines" in reason for reason in reasons), reasons


def test_removing_a_profile_is_flagged(dev_before: Path, tmp_path: Path) -> None:
    """Kubeflow deletes a profile's namespace, with its users' notebook volumes."""
    def remove(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["profiles"] = []
        config.pop("mlplane:workbenches", None)  # its notebooks live in the profile
        params = config["mlplane:pipelines"][0]["params"]  # and its members called the pipeline's hosts
        params.pop("host_profiles")
        params["host_any_account"] = True

    reasons = dangerous(dev_before, render(tmp_path, "dev", remove))
    assert any("Profile" in reason for reason in reasons) and any("namespace" in r for r in reasons), reasons


def test_a_stack_can_leave_platform_data_unprotected(tmp_path: Path) -> None:
    def opt_out(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["protect_data"] = False

    plan = json.loads((render(tmp_path, "dev", opt_out) / "plan.json").read_text())
    protected = [r["name"] for r in plan["resources"] if r["protect"]]
    assert protected and all(name.startswith(("volume-", "artifacts-")) for name in protected), protected
    # users' notebook volumes are platform data too (they live in the profiles)
    assert any(r["name"].endswith("-workspace") and not r["protect"] for r in plan["resources"])


# --- the pure pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "formerly", "problem"), [
    ("b", ("a",), None),
    ("c", ("a", "b"), None),
    ("a", ("a",), "lists the current name 'a'"),
    ("c", ("a", "b", "a"), "lists a more than once"),
])
def test_formerly_problem(name: str, formerly: tuple[str, ...], problem: str | None) -> None:
    found = formerly_problem(name, formerly)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_data_keeps_the_oldest_name() -> None:
    assert data_name("c", ("a", "b")) == "a" and data_name("a", ()) == "a"


def test_a_renamed_pool_keeps_its_node_name_labels_and_selector() -> None:
    pool = PoolSpec(name="l4-shared", formerly=("l4",), vendor="nvidia", model="l4", accelerators_per_node=1,
                    machine_type="g2-standard-8", sharing={"kind": "mps", "replicas": 4})
    assert pool.node_name == "l4"
    assert pool_node_labels(pool, "gke")[POOL_LABEL] == "l4"
    assert pool_node_selector(pool, "gke")[POOL_LABEL] == "l4"
    with pytest.raises(ValueError, match="formerly lists the current name"):
        PoolSpec(name="l4", formerly=("l4",), vendor="nvidia", model="l4", accelerators_per_node=1)


@pytest.mark.parametrize(("section", "entries", "message"), [
    ("mlplane:storage", "volumes", "volume name used twice"),
    ("mlplane:accelerators", "pools", "pool name used twice"),
])
def test_an_earlier_name_cannot_be_another_entrys(section: str, entries: str, message: str, tmp_path: Path) -> None:
    """Two entries sharing a name, current or earlier, would share aliases and claims: exit 2."""
    def clash(config: dict[str, Any]) -> None:
        items = config[section][entries]
        items[1]["formerly"] = [items[0]["name"]]

    stack = stack_from(tmp_path, "gke", clash, name="gke")
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["render", "--config-file", str(stack), "--out", str(tmp_path / "never")]) == 2
    assert f"{section}.{entries}[1].formerly: {message}" in err.getvalue(), err.getvalue()
    assert not (tmp_path / "never").exists()
