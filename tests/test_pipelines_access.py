"""KFP from notebooks: the profile's opt-in PodDefault and its notebooks, judged against the CRD schema."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from mlplane.components.platform.pipelines_access import ACCESS_LABEL, AUDIENCE, TOKEN_DIR, TOKEN_ENV

from .conftest import rendered
from .crds import strict_schema
from .test_pipelines_stack import render, render_error, stack_from


def test_the_opted_in_profile_gets_upstreams_pod_default_and_its_notebooks_the_label() -> None:
    plan = rendered("onprem")
    defaults = [r.inputs for r in plan if r.inputs.get("kind") == "PodDefault"]
    assert [(d["metadata"]["name"], d["metadata"]["namespace"]) for d in defaults] == [(ACCESS_LABEL, "team-nlp")]
    spec = defaults[0]["spec"]
    jsonschema.validate(defaults[0], strict_schema("kubeflow.org/v1alpha1", "PodDefault"))
    assert spec["selector"] == {"matchLabels": {ACCESS_LABEL: "true"}}
    token = spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
    assert token == {"path": "token", "expirationSeconds": 7200, "audience": AUDIENCE}
    assert spec["volumeMounts"][0]["mountPath"] == TOKEN_DIR and spec["volumeMounts"][0]["readOnly"] is True
    assert spec["env"] == [{"name": TOKEN_ENV, "value": f"{TOKEN_DIR}/token"}]
    notebook = next(r.inputs for r in plan if r.inputs.get("kind") == "Notebook")
    assert notebook["metadata"]["namespace"] == "team-nlp"
    assert notebook["metadata"]["labels"][ACCESS_LABEL] == "true"
    # kubernetes_api keeps its meaning: the default token stays unmounted unless asked for.
    assert notebook["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_profiles_without_the_opt_in_get_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def off(config: dict) -> None:
        for profile in config["mlplane:kubeflow"]["profiles"]:
            profile.pop("pipelines_access", None)
    plan = render(tmp_path, stack_from(tmp_path, "onprem", off), capsys)
    assert not [r for r in plan["resources"] if r["inputs"].get("kind") == "PodDefault"]
    notebook = next(r["inputs"] for r in plan["resources"] if r["inputs"].get("kind") == "Notebook")
    assert ACCESS_LABEL not in notebook["metadata"]["labels"]


def test_the_opt_in_needs_pipelines_and_notebooks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def no_pipelines(config: dict) -> None:
        config["mlplane:kubeflow"].setdefault("components", {})["pipelines"] = {"enabled": False}
        config.pop("mlplane:pipelines", None)
    err = render_error(stack_from(tmp_path, "onprem", no_pipelines), capsys, tmp_path)
    assert "mlplane:kubeflow.profiles[1].pipelines_access" in err and "pipelines" in err
