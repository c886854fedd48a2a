"""Generated credentials: stable across renders, rotated only on request, keyed by what they belong to."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlplane.components.credentials.stores import STORES
from mlplane.infra.engine_config import load_engine_config
from mlplane.core.errors import InputError
from mlplane.policy.images import tag_only
from mlplane.infra.offline.plan import Plan, PlanResource

from .test_engine_config import engine_view, in_engine
from .test_pipelines_stack import render, render_error, stack_from

RANDOM = "random:index/randomPassword:RandomPassword"


def _passwords(plan: dict[str, Any]) -> dict[str, Any]:
    return {r["name"]: r["inputs"] for r in plan["resources"] if r["type"] == RANDOM}


def _kubeflow(config: dict[str, Any]) -> dict[str, Any]:
    return config["mlplane:kubeflow"]


def test_each_store_key_is_generated_once_and_renders_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    stack = stack_from(tmp_path, "onprem", lambda c: None)
    first, second = render(tmp_path, stack, capsys, "a"), render(tmp_path, stack, capsys, "b")
    assert (tmp_path / "a" / "plan.json").read_bytes() == (tmp_path / "b" / "plan.json").read_bytes()
    generated = {n: i for n, i in _passwords(first).items() if n.startswith("platform-apps-credentials-")}
    expected = {f"platform-apps-credentials-{s.id}-{k.key.lower().replace('_', '-')}": k.length
                for s in STORES.values() for k in s.keys}
    assert {n: i["length"] for n, i in generated.items()} == expected
    assert all(i["special"] is False and "keepers" not in i for i in generated.values())
    assert _passwords(first) == _passwords(second)


def test_a_rotation_token_rotates_that_store_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _passwords(render(tmp_path, stack_from(tmp_path / "a", "onprem", lambda c: None), capsys, "a"))
    stack = stack_from(tmp_path / "b", "onprem",
                       lambda c: _kubeflow(c).update(credentials={"rotate": {"katib-mysql": "2026-12-07"}}))
    after = _passwords(render(tmp_path, stack, capsys, "b"))
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"platform-apps-credentials-katib-mysql-mysql-root-password"}
    assert after["platform-apps-credentials-katib-mysql-mysql-root-password"]["keepers"] == {"rotation": "2026-12-07"}


def test_a_rotation_request_for_a_secret_that_does_not_exist_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = stack_from(tmp_path, "onprem",
                       lambda c: _kubeflow(c).update(credentials={"rotate": {"kfp-minio": "now"}}))
    err = render_error(stack, capsys, tmp_path)
    assert "Pulumi.t.yaml" in err and "mlplane:kubeflow.credentials.rotate" in err and "kfp-minio" in err
    assert all(store in err for store in STORES)


def test_dex_passwords_are_keyed_by_user_so_reordering_keeps_them(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    def users(order: list[str]):
        def change(config: dict[str, Any]) -> None:
            config["mlplane:auth"]["dex"]["users"] = [{"email": e, "generate_password": True} for e in order]
            config["mlplane:kubeflow"]["profiles"][0]["owner"] = "a@x.example"
        return change

    one = render(tmp_path, stack_from(tmp_path / "a", "dev", users(["a@x.example", "b@x.example"])), capsys, "a")
    two = render(tmp_path, stack_from(tmp_path / "b", "dev", users(["b@x.example", "a@x.example"])), capsys, "b")
    named = {n for n in _passwords(one) if n.startswith("platform-auth-user-")}
    assert named == {"platform-auth-user-a@x.example", "platform-auth-user-b@x.example"}
    assert named == {n for n in _passwords(two) if n.startswith("platform-auth-user-")}
    aliases = {r["name"]: r["aliases"] for r in one["resources"] if r["name"] in named}
    assert [a[0].rsplit("::", 1)[1] for a in (aliases["platform-auth-user-a@x.example"],
                                                aliases["platform-auth-user-b@x.example"])] == [
        "platform-auth-user-0", "platform-auth-user-1"]
    assert json.dumps(one).count("[secret]") == json.dumps(two).count("[secret]")




def test_require_digest_refuses_an_image_pinned_by_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = stack_from(tmp_path, "dev", lambda c: c.update({"mlplane:images": {"require_digest": True}}))
    err = render_error(stack, capsys, tmp_path)
    assert "Pulumi.t.yaml" in err and "mlplane:images.require_digest" in err
    assert "pinned by tag alone" in err and "@sha256:" in err


def test_digests_satisfy_require_digest() -> None:
    digest = "registry.example/app@sha256:" + "a" * 64
    job = PlanResource(urn="urn:pulumi:t::mlplane::kubernetes:batch/v1:Job::j", type="kubernetes:batch/v1:Job",
                       name="j", custom=True, parent=None, provider=None, dependencies=(), inputs={
                           "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                           "spec": {"template": {"spec": {"containers": [{"name": "m", "image": digest}]}}}})
    assert tag_only(Plan("mlplane", "t", (job,))) == []
    tagged = replace(job, inputs={**job.inputs, "spec": {"template": {"spec": {"containers": [
        {"name": "m", "image": "registry.example/app:1.0"}]}}}})
    assert tag_only(Plan("mlplane", "t", (tagged,))) == [("j", "registry.example/app:1.0")]


def test_a_stack_that_sets_a_published_default_is_refused() -> None:
    """Under the engine (secure: values decrypted), a secret equal to a published default exits 2."""
    values = engine_view("dev")
    auth = json.loads(values["mlplane:auth"])
    auth.setdefault("oauth2_proxy", {})["client_secret"] = "minio123"
    values["mlplane:auth"] = json.dumps(auth)
    secret = [key for key, text in values.items() if "decrypted-by-the-engine" in text or "minio123" in text]
    with pytest.raises(InputError) as refused:
        in_engine("dev", values, secret, load_engine_config)
    text = str(refused.value)
    assert "Pulumi.dev.yaml" in text and "mlplane:auth.oauth2_proxy.client_secret" in text
    assert "a credential upstream publishes" in text
    auth["oauth2_proxy"]["client_secret"] = "a-value-of-our-own-0123456789abcdef"
    values["mlplane:auth"] = json.dumps(auth)
    assert in_engine("dev", values, secret, load_engine_config).auth.oauth2_proxy.client_secret is not None
