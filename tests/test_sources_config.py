"""``mlplane:kubeflow.sources``: mirrors and local copies for air-gapped clusters, and bad ones refused."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.components.sources import directory_location
from mlplane.infra.cli import main
from tests.conftest import ROOT
from tests.upstream import needs_upstream, sources_folder


def stack_with_sources(folder: Path, sources: dict[str, Any]) -> Path:
    """The dev stack with ``sources`` under ``mlplane:kubeflow``, written into ``folder``."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["mlplane:kubeflow"]["sources"] = sources
    path = folder / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def render(stack: Path, out: Path) -> int:
    return main(["render", "--config-file", str(stack), "--out", str(out)])


def inputs_of(out: Path, kind: str) -> list[dict[str, Any]]:
    plan = json.loads((out / "plan.json").read_text())
    return [r["inputs"] for r in plan["resources"] if r["type"] == kind]


def test_an_scp_style_git_url_is_a_mirror_not_a_folder() -> None:
    from mlplane.components.sources import manifests_location, source_kind

    url = "git@git.example.com:mirrors/manifests.git"
    assert source_kind(url) == "url"
    assert manifests_location("a/b", "26.03", url) == f"{url}//a/b?ref=26.03"


def test_mirrors_replace_the_upstream_locations(tmp_path: Path) -> None:
    stack = stack_with_sources(tmp_path, {
        "manifests": "https://git.example.com/mirrors/manifests",
        "charts": {"cert-manager": "oci://registry.example.com/charts", "dex": "https://charts.example.com/dex"},
    })
    assert render(stack, tmp_path / "out") == 0
    directories = [directory_location(i["directory"]) for i in inputs_of(tmp_path / "out", "kubernetes:kustomize/v2:Directory")]
    assert directories and all(d.startswith("https://git.example.com/mirrors/manifests//") and d.endswith("?ref=26.03")
                               for d in directories)
    charts = {i["chart"]: i for i in inputs_of(tmp_path / "out", "kubernetes:helm.sh/v4:Chart")}
    assert "oci://registry.example.com/charts/cert-manager" in charts
    assert charts["dex"]["repositoryOpts"]["repo"] == "https://charts.example.com/dex"


@needs_upstream
def test_local_checkouts_resolve_against_the_stack_file(tmp_path: Path) -> None:
    upstream = sources_folder()
    os.symlink(upstream / "kubeflow-manifests" / "26.03", tmp_path / "manifests")
    os.symlink(upstream / "charts" / "istiod-1.29.0", tmp_path / "istiod")
    stack = stack_with_sources(tmp_path, {"manifests": "./manifests", "charts": {"istiod": "istiod"}})
    assert render(stack, tmp_path / "out") == 0
    # Recorded relative to the stack file's folder (the links are kept, not followed) ...
    directories = [directory_location(i["directory"]) for i in inputs_of(tmp_path / "out", "kubernetes:kustomize/v2:Directory")]
    assert directories and all(d.startswith("manifests/") for d in directories)
    charts = [i["chart"] for i in inputs_of(tmp_path / "out", "kubernetes:helm.sh/v4:Chart")]
    assert "istiod" in charts
    # ... and expanded from the real folders: istiod's Deployment comes from the linked chart.
    assert (tmp_path / "out" / "manifests" / "istio-system" / "Deployment-istiod.yaml").is_file()


@needs_upstream
def test_plans_from_two_checkouts_of_one_tree_are_byte_identical(tmp_path: Path) -> None:
    """Local folder sources must not put the checkout's absolute path (a home folder) into plan.json."""
    upstream = sources_folder()
    outputs = []
    for checkout in ("alice-home/work/platform", "ci/build-7/platform"):
        root = tmp_path / checkout
        (root / "vendor").mkdir(parents=True)
        shutil.copytree(upstream / "kubeflow-manifests" / "26.03", root / "vendor" / "manifests")
        shutil.copytree(upstream / "charts" / "gateway-1.29.0", root / "vendor" / "gateway")
        stack = stack_with_sources(root, {"manifests": "vendor/manifests", "charts": {"gateway": "./vendor/gateway"}})
        assert render(stack, root / "out") == 0
        outputs.append(root / "out")
    first, second = ((out / "plan.json").read_bytes() for out in outputs)
    assert first == second
    assert b"alice-home" not in first and str(tmp_path).encode() not in first
    assert [i["chart"] for i in inputs_of(outputs[0], "kubernetes:helm.sh/v4:Chart") if "vendor" in i["chart"]] \
        == ["vendor/gateway"]
    # The gateway chart was expanded from the copied folder: its Service is in the plan.
    assert (outputs[0] / "manifests" / "istio-system" / "Service-istio-ingressgateway.yaml").is_file()
    manifests = [sorted(p.relative_to(out).as_posix() for p in (out / "manifests").rglob("*")) for out in outputs]
    assert manifests[0] == manifests[1]


@pytest.mark.parametrize(("sources", "expected"), [
    ({"manifests": "ftp://mirror.example.com/manifests"}, "mlplane:kubeflow.sources.manifests"),
    ({"manifests": "oci://registry.example.com/manifests"}, "not published to OCI registries"),
    ({"manifests": "./no-such-folder"}, "does not exist"),
    ({"charts": {"cert-manger": "https://charts.example.com"}}, "no chart called cert-manger"),
    ({"charts": {"dex": "  "}}, "mlplane:kubeflow.sources.charts.dex"),
])
def test_bad_sources_exit_2_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              sources: dict[str, Any], expected: str) -> None:
    stack = stack_with_sources(tmp_path, sources)
    assert render(stack, tmp_path / "out") == 2
    error = capsys.readouterr().err
    assert expected in error and "Pulumi.dev.yaml" in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()


@needs_upstream
def test_a_checkout_without_the_release_paths_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A checkout of the 1.8.1 tag holds none of 26.03's applications/ paths.
    os.symlink(sources_folder() / "kubeflow-manifests" / "v1.8.1", tmp_path / "manifests")
    stack = stack_with_sources(tmp_path, {"manifests": "manifests"})
    assert render(stack, tmp_path / "out") == 2
    error = capsys.readouterr().err
    assert "mlplane:kubeflow.sources.manifests" in error and "is not a kustomization" in error
    assert "a checkout of kubeflow/manifests at tag 26.03" in error


@needs_upstream
def test_a_chart_folder_of_another_version_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.symlink(sources_folder() / "charts" / "istiod-1.17.3", tmp_path / "istiod")
    stack = stack_with_sources(tmp_path, {"charts": {"istiod": "istiod"}})
    assert render(stack, tmp_path / "out") == 2
    error = capsys.readouterr().err
    assert "holds chart istiod 1.17.3" in error and "chart istiod at version 1.29.0" in error
