"""Idle culling of notebook servers: the controller-wide settings, proven against both trains.

The notebook controller reads ENABLE_CULLING, CULL_IDLE_TIME and IDLENESS_CHECK_PERIOD
from its generated ConfigMap; mlplane patches that ConfigMap (by the name kustomize gives
it) and rolls the controller. These tests build the installed directories with
``kubectl kustomize`` to prove the names, and check the rendered patches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlplane.components.platform.notebook_culling import (
    CONTROLLER_CONFIG_MAPS,
    CONTROLLER_DEPLOYMENT,
    PATCH_FORCE,
    ROLLOUT_ANNOTATION,
    NotebookCulling,
)
from mlplane.components.platform.releases import RELEASES

from .test_renames import diff, render
from .test_workbenches import _notebook, refused
from .upstream import SHARED_UPSTREAM, kustomize_build, needs_upstream

CONFIG_PATCH = "kubernetes:core/v1:ConfigMapPatch"
ROLLOUT_PATCH = "kubernetes:apps/v1:DeploymentPatch"
CONTROLLER = "kubernetes:kustomize/v2:Directory"


def _controller_objects(release: str) -> list[dict[str, Any]]:
    source = next(s for s in RELEASES[release].components["notebooks"].sources if s.role == "controller")
    return kustomize_build(SHARED_UPSTREAM / "kubeflow-manifests" / source.version / source.path)


@needs_upstream
@pytest.mark.parametrize("release", sorted(CONTROLLER_CONFIG_MAPS))
def test_the_patched_names_are_the_ones_the_release_generates(release: str) -> None:
    objects = _controller_objects(release)
    [config] = [o for o in objects if o["kind"] == "ConfigMap"]
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    assert config["metadata"]["name"] == CONTROLLER_CONFIG_MAPS[release]
    assert deployment["metadata"]["name"] == CONTROLLER_DEPLOYMENT
    assert config["metadata"]["namespace"] == deployment["metadata"]["namespace"] == "kubeflow"
    [manager] = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in manager["env"]}
    for key, value in NotebookCulling().environment().items():
        # Read from that ConfigMap's key of the same name, not optional: the key must stay.
        assert env[key]["valueFrom"]["configMapKeyRef"] == {"name": config["metadata"]["name"], "key": key}
        assert config["data"][key] == value  # mlplane's defaults are the release's


def _plan(out: Path) -> dict[str, Any]:
    return json.loads((out / "plan.json").read_text())


def _patches(plan: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    [config] = [r for r in plan["resources"] if r["type"] == CONFIG_PATCH]
    [rollout] = [r for r in plan["resources"] if r["type"] == ROLLOUT_PATCH]
    [controller] = [r for r in plan["resources"] if r["type"] == CONTROLLER and r["name"].endswith("notebooks-controller")]
    return config, rollout, controller


def _culling(**settings: Any):  # type: ignore[no-untyped-def]
    def change(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["components"]["notebooks"] = {"culling": settings}
    return change


def test_declared_culling_patches_the_controllers_config_and_rolls_it(tmp_path: Path) -> None:
    plan = _plan(render(tmp_path, "dev", _culling(enabled=True, idle_minutes=60, check_period_minutes=5)))
    config, rollout, controller = _patches(plan)
    assert config["inputs"]["metadata"] == {"name": CONTROLLER_CONFIG_MAPS["26.03"], "namespace": "kubeflow",
                                            "annotations": {PATCH_FORCE: "true"}}
    assert config["inputs"]["data"] == {"ENABLE_CULLING": "true", "CULL_IDLE_TIME": "60", "IDLENESS_CHECK_PERIOD": "5"}
    assert rollout["inputs"]["metadata"] == {"name": CONTROLLER_DEPLOYMENT, "namespace": "kubeflow"}
    assert rollout["inputs"]["spec"]["template"]["metadata"]["annotations"] == {
        ROLLOUT_ANNOTATION: "ENABLE_CULLING=true,CULL_IDLE_TIME=60,IDLENESS_CHECK_PERIOD=5"}
    # After the controller's objects exist; the rollout after the keys are set.
    assert controller["urn"] in config["dependencies"] and config["urn"] in rollout["dependencies"]
    # Relinquishing forced keys would delete them, and the controller would not start again.
    assert config["retainOnDelete"] and rollout["retainOnDelete"]


def test_a_stack_that_says_nothing_gets_the_releases_defaults(tmp_path: Path) -> None:
    for release in sorted(CONTROLLER_CONFIG_MAPS):
        def on(config: dict[str, Any], release: str = release) -> None:
            config["mlplane:kubeflow"]["release"] = release
            config["mlplane:kubeflow"]["components"].pop("model_registry", None)

        config, _, _ = _patches(_plan(render(tmp_path / release, "dev", on)))
        assert config["inputs"]["metadata"]["name"] == CONTROLLER_CONFIG_MAPS[release]
        assert config["inputs"]["data"] == {"ENABLE_CULLING": "false", "CULL_IDLE_TIME": "1440",
                                            "IDLENESS_CHECK_PERIOD": "1"}


def test_changing_the_idle_time_updates_both_patches_in_place(tmp_path: Path) -> None:
    before = render(tmp_path / "a", "dev", _culling(enabled=True, idle_minutes=60))
    after = render(tmp_path / "b", "dev", _culling(enabled=True, idle_minutes=120))
    code, changes = diff(before / "plan.json", after / "plan.json")
    assert code == 0
    changed = {c["type"]: c for c in changes["changes"]}
    assert set(changed) == {CONFIG_PATCH, ROLLOUT_PATCH}
    assert {c["op"] for c in changed.values()} == {"update"}
    assert changed[CONFIG_PATCH]["paths"] == ["data.CULL_IDLE_TIME"]


def test_no_patches_without_the_controller(tmp_path: Path) -> None:
    def off(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["components"]["notebooks"] = {"enabled": False}
        config.pop("mlplane:workbenches")

    plan = _plan(render(tmp_path, "dev", off))
    assert not [r for r in plan["resources"] if r["type"] in (CONFIG_PATCH, ROLLOUT_PATCH)]


def test_culling_at_another_tag_is_refused_and_skipped_without_it(tmp_path: Path) -> None:
    def pinned(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["components"]["notebooks"] = {"version": "v1.10.0-rc.1",
                                                                 "culling": {"enabled": True}}

    text = refused(tmp_path / "a", pinned)
    assert "mlplane:kubeflow.components.notebooks.culling" in text and "generated name is not known" in text

    def pinned_only(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["components"]["notebooks"] = {"version": "v1.10.0-rc.1"}

    plan = _plan(render(tmp_path / "b", "dev", pinned_only))
    assert not [r for r in plan["resources"] if r["type"] in (CONFIG_PATCH, ROLLOUT_PATCH)]


@pytest.mark.parametrize("key, value", [("culling", False), ("idle_minutes", 30), ("cull_idle_time", 60)])
def test_a_per_server_culling_setting_says_where_culling_is_set(tmp_path: Path, key: str, value: Any) -> None:
    text = refused(tmp_path, lambda c: _notebook(c).update({key: value}))
    assert f"mlplane:workbenches.notebooks[0].{key}: unknown key: idle culling is not a per-server setting" in text
    assert "mlplane:kubeflow.components.notebooks.culling" in text and "stopped: true" in text


@pytest.mark.parametrize("settings, key", [({"idle_minutes": 0}, "idle_minutes"),
                                           ({"check_period_minutes": -1}, "check_period_minutes"),
                                           ({"idle": 5}, "idle"),
                                           # time.Duration(n) * time.Minute wraps past int64 (to a
                                           # negative idle time here: every server culled at once)
                                           ({"idle_minutes": 200_000_000}, "idle_minutes"),
                                           ({"check_period_minutes": 153_722_868}, "check_period_minutes")])
def test_bad_culling_settings_exit_2(tmp_path: Path, settings: dict[str, Any], key: str) -> None:
    text = refused(tmp_path, _culling(**settings))
    assert f"mlplane:kubeflow.components.notebooks.culling.{key}" in text, text


def test_culling_refuses_vscode_servers_it_would_stop_while_busy(tmp_path: Path) -> None:
    """The culler reads only Jupyter's /api/kernels: a VS Code server's activity never moves its clock."""
    def vscode(config: dict[str, Any]) -> None:
        _culling(enabled=True, idle_minutes=90)(config)
        _notebook(config).update(kind="vscode")

    text = refused(tmp_path / "a", vscode)
    assert "mlplane:workbenches.notebooks[0].kind" in text and "90 minutes after it starts, busy or not" in text

    def accepted(config: dict[str, Any]) -> None:
        _culling(enabled=True, idle_minutes=90, stop_busy_vscode_rstudio=True)(config)
        _notebook(config).update(kind="vscode")

    render(tmp_path / "b", "dev", accepted)
    render(tmp_path / "c", "dev", lambda c: _notebook(c).update(kind="vscode"))  # culling off: nothing to say


def test_removing_the_patches_is_not_a_danger(tmp_path: Path) -> None:
    """Kept on delete, a patch leaves its fields in place when it goes: nothing is lost, nothing to flag."""
    def off(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["components"]["notebooks"] = {"enabled": False}
        config.pop("mlplane:workbenches")

    before = render(tmp_path / "a", "dev")
    after = render(tmp_path / "b", "dev", off)
    _, changes = diff(before / "plan.json", after / "plan.json")
    gone = [c for c in changes["changes"] if c["type"] in (CONFIG_PATCH, ROLLOUT_PATCH)]
    assert [c["op"] for c in gone] == ["delete", "delete"]
    assert not any(c["danger"] for c in gone)
    # A retained object (not a patch) still is one: the profile's notebook workspace, deleted here.
    assert any(c["danger"] and c["type"] == "kubernetes:core/v1:PersistentVolumeClaim" for c in changes["changes"])
