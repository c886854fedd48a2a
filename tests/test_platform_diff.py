"""A release change (1.8.1 to 26.03) is a reviewable diff: the pinned sources update in place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlplane.components.sources import directory_location
from mlplane.infra.cli import main

from .conftest import ROOT

CHART = "kubernetes:helm.sh/v4:Chart"
DIRECTORY = "kubernetes:kustomize/v2:Directory"


def render(folder: Path, text: str) -> Path:
    folder.mkdir()
    stack = folder / "Pulumi.onprem.yaml"  # same stack name, so URNs compare
    stack.write_text(text)
    assert main(["render", "--config-file", str(stack), "--out", str(folder / "render")]) == 0
    return folder / "render"


@pytest.fixture(scope="module")
def release_diff(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, dict]:
    base = tmp_path_factory.mktemp("release")
    text = (ROOT / "Pulumi.onprem.yaml").read_text()
    assert text.count('release: "26.03"') == 1
    old = render(base / "old", text.replace('release: "26.03"', 'release: "1.8.1"'))
    new = render(base / "new", text)
    return (json.loads((old / "plan.json").read_text()), json.loads((new / "plan.json").read_text()),
            _diff(old, new))


def _diff(old: Path, new: Path) -> dict:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["diff", str(old), str(new), "--format", "json"]) == 0
    return json.loads(buffer.getvalue())


def test_pinned_charts_and_directories_update_in_place(release_diff: tuple[dict, dict, dict]) -> None:
    old, new, diff = release_diff
    changes = {c["urn"]: c for c in diff["changes"]}
    old_urns = {r["urn"] for r in old["resources"]}
    sources = [r for r in new["resources"] if r["type"] in (CHART, DIRECTORY) and r["urn"] in old_urns
               and "mlplane:platform:" in r["urn"]]
    assert len(sources) >= 20
    for resource in sources:
        change = changes.get(resource["urn"])
        assert change is not None, f"{resource['name']} did not change"
        assert change["op"] == "update", change
        # Istio's CNI and istiod's seccomp keys and KServe's gateway service differ between
        # the trains' charts; KServe 0.11.2 comes from a release-asset URL, 0.16.0 from OCI.
        assert change["paths"] and set(change["paths"]) <= {
            "version", "directory", "chart", "values.image.tag", "values.installCRDs", "values.crds",
            "values.istio_cni", "values.cni", "values.kserve.controller.gateway.ingressGateway.gatewayService",
            # istiod's seccomp profile: `pilot.seccompProfile` in 1.17's chart, top-level in 1.29's.
            "values.pilot", "values.seccompProfile",
        }, change


def test_a_release_change_replaces_nothing_and_deletes_only_the_minio_identities(release_diff: tuple[dict, dict, dict]) -> None:
    _, _, diff = release_diff
    # Deleted: only what 1.8.1's MinIO needed, each profile's identity there (key, Secret, policies,
    # the Job adding them: components/credentials/profile_identities.py); 26.03's controller mints
    # SeaweedFS identities itself; and the Training Operator's init-container template (Trainer
    # 2.1.0 has no such container: components/platform/training_init.py). None holds data.
    minio = "platform-apps-credentials-kfp-profile-"
    deleted = {c["urn"].rsplit("::", 1)[1] for c in diff["changes"] if c["op"] == "delete"}
    assert deleted == {f"{minio}{s}" for s in ("team-nlp-secretkey", "team-vision-secretkey", "keys", "identities",
                                               "identities-job")} | {"platform-apps-training-init-container"}
    assert not [c for c in diff["changes"] if c["op"] == "delete" and c["danger"]]
    assert diff["summary"]["replace"] == 0
    created = {c["urn"].rsplit("::", 1)[1] for c in diff["changes"] if c["op"] == "create"}
    assert all(c["op"] in ("update", "create") for c in diff["changes"] if c["op"] != "delete")
    # Model Registry is new in 26.03 (with its generated database password and its migration
    # Job); everything else existed already.
    assert created == {"platform-apps-model-registry-server", "platform-apps-model-registry-istio",
                       "platform-apps-model-registry-ui", "platform-apps-credentials-model-registry-db-mysql-root-password",
                       "platform-apps-credentials-model-registry-db-credential",
                       "platform-apps-credentials-model-registry-db-migrate"}


def test_the_diff_names_the_versions(release_diff: tuple[dict, dict, dict]) -> None:
    old, new, _ = release_diff
    before = {r["name"]: r["inputs"] for r in old["resources"] if r["type"] == CHART}
    after = {r["name"]: r["inputs"] for r in new["resources"] if r["type"] == CHART}
    assert (before["platform-istio-istiod"]["version"], after["platform-istio-istiod"]["version"]) == ("1.17.3", "1.29.0")
    assert (before["platform-cert-manager-chart"]["version"], after["platform-cert-manager-chart"]["version"]) \
        == ("v1.12.2", "v1.19.4")
    assert (before["platform-apps-kserve-controller"]["version"], after["platform-apps-kserve-controller"]["version"]) \
        == ("v0.11.2", "v0.16.0")
    dirs_before = {r["name"]: directory_location(r["inputs"]["directory"]) for r in old["resources"] if r["type"] == DIRECTORY}
    dirs_after = {r["name"]: directory_location(r["inputs"]["directory"]) for r in new["resources"] if r["type"] == DIRECTORY}
    assert dirs_before["platform-apps-training-controller"].endswith(
        "//apps/training-operator/upstream/overlays/kubeflow?ref=v1.8.1")
    assert dirs_after["platform-apps-training-controller"].endswith(
        "//applications/trainer/upstream/overlays/kubeflow-platform?ref=26.03")


def test_the_release_change_summary_names_each_component_and_its_supported_step(
        release_diff: tuple[dict, dict, dict]) -> None:
    _, _, diff = release_diff
    components = {c["component"]: c for c in diff["release"]["components"]}
    # Every component of either train is there, new ones (Model Registry) included.
    assert set(components) == {"cert_manager", "istio", "dex", "oauth2_proxy", "knative_serving", "kubeflow_roles",
                               "profiles", "central_dashboard", "notebooks", "pipelines", "katib", "training",
                               "kserve", "models_web_app", "tensorboards", "volumes_web_app", "model_registry"}
    assert all(c["source"].startswith("https://") and c["step"] for c in components.values())
    assert (components["dex"]["before"], components["dex"]["after"]) == ("2.36.0", "2.45.0")  # the image, not chart
    assert (components["model_registry"]["before"], components["model_registry"]["after"]) == (None, "0.3.7")
    istio = components["istio"]
    assert (istio["before"], istio["after"]) == ("1.17.3", "1.29.0")
    assert istio["between"] == [f"1.{m}" for m in range(18, 29)]
    assert "offers no canary: this is 12 in-place hops" in istio["danger"]
    assert components["cert_manager"]["between"] == ["1.13", "1.14", "1.15", "1.16", "1.17", "1.18"]
    assert components["knative_serving"]["between"] == [f"1.{m}" for m in range(11, 21)]
    training = components["training"]
    assert (training["beforeTitle"], training["title"]) == ("Training Operator", "Trainer")
    assert "replaced by Trainer (v2), not upgraded" in training["danger"]
    dangers = {key for key, c in components.items() if "danger" in c}
    assert dangers == {"cert_manager", "istio", "knative_serving", "training"}


def test_a_component_pinned_to_another_version_is_judged_the_same(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "Pulumi.onprem.yaml").read_text().replace('release: "26.03"', 'release: "1.8.1"')
    pinned = text.replace("    profiles:\n", "    components:\n      istio: {version: 1.19.7}\n"
                          "      cert_manager: {version: v1.13.6}\n    profiles:\n", 1)
    assert pinned != text
    old, new = render(tmp_path / "old", text), render(tmp_path / "new", pinned)
    capsys.readouterr()
    components = {c["component"]: c for c in _diff(old, new)["release"]["components"]}
    assert set(components) == {"istio", "cert_manager"}
    assert components["istio"]["between"] == ["1.18"] and "2 in-place hops" in components["istio"]["danger"]
    assert "danger" not in components["cert_manager"]  # one minor: the supported step
