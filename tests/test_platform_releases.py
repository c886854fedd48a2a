"""Release trains: every version pinned, the design's table honoured, roles stable across releases."""

from __future__ import annotations

import pytest

from mlplane.components.charts import check_version
from mlplane.components.platform.releases import (
    COMPONENT_KEYS,
    MANIFESTS_REPOSITORY,
    RELEASE_NAMES,
    RELEASES,
    ChartSource,
    ManifestsSource,
)

#: The design's version table (kubeflow/manifests README of each release).
DESIGN = {
    "1.8.1": {"cert_manager": "1.12.2", "istio": "1.17.3", "dex": "2.36.0", "oauth2_proxy": "7.4.0",
              "knative_serving": "1.10.2", "kserve": "0.11.2", "pipelines": "2.0.5", "katib": "0.16.0",
              "training": "1.7.0", "notebooks": "1.8.0", "central_dashboard": "1.8.0", "profiles": "1.8.0",
              "tensorboards": "1.8.0", "volumes_web_app": "1.8.0"},
    "26.03": {"cert_manager": "1.19.4", "istio": "1.29.0", "dex": "2.45.0", "oauth2_proxy": "7.14.3",
              "knative_serving": "1.21.1", "kserve": "0.16.0", "pipelines": "2.16.0", "katib": "0.19.0",
              "training": "2.1.0", "notebooks": "1.10.0", "central_dashboard": "1.10.0", "profiles": "1.10.0",
              "tensorboards": "1.10.0", "volumes_web_app": "1.10.0", "model_registry": "0.3.7"},
}


@pytest.mark.parametrize("name", RELEASE_NAMES)
def test_release_follows_the_design_table(name: str) -> None:
    train = RELEASES[name]
    for key, version in DESIGN[name].items():
        assert train.get(key) is not None, f"{name} lacks {key}"
        assert train.components[key].app_version == version, key


def test_model_registry_is_not_in_1_8_1() -> None:
    assert RELEASES["1.8.1"].get("model_registry") is None
    assert RELEASES["26.03"].get("model_registry") is not None


@pytest.mark.parametrize("name", RELEASE_NAMES)
def test_every_source_is_pinned(name: str) -> None:
    for component in RELEASES[name].components.values():
        assert component.key in COMPONENT_KEYS
        assert component.sources
        assert len({s.kind for s in component.sources}) == 1, f"{component.key} mixes charts and directories"
        for source in component.sources:
            assert check_version(source.version) == source.version
            if isinstance(source, ManifestsSource):
                assert source.version == RELEASES[name].manifests_ref
                assert source.location == f"{MANIFESTS_REPOSITORY}//{source.path}?ref={source.version}"
            else:
                assert isinstance(source, ChartSource)
                assert source.repository or source.url_template


@pytest.mark.parametrize("name", RELEASE_NAMES)
def test_charts_pin_the_release_image(name: str) -> None:
    # Dex and oauth2-proxy charts version independently of the app: the image is pinned too.
    for key in ("dex", "oauth2_proxy"):
        source = RELEASES[name].components[key].sources[0]
        assert isinstance(source, ChartSource)
        assert source.values["image"]["tag"] == f"v{DESIGN[name][key]}"


def test_roles_are_stable_across_releases() -> None:
    # A release change must update sources in place: same component, same roles.
    old, new = RELEASES["1.8.1"], RELEASES["26.03"]
    for key, component in old.components.items():
        assert new.components[key].roles == component.roles, key
        assert new.components[key].installer == component.installer, key


def test_cert_manager_crds_are_installed_the_way_each_chart_wants() -> None:
    assert RELEASES["1.8.1"].components["cert_manager"].sources[0].values == {"installCRDs": True}
    assert RELEASES["26.03"].components["cert_manager"].sources[0].values == {"crds": {"enabled": True}}


def test_with_version_pins_another_version_without_touching_the_release() -> None:
    source = RELEASES["26.03"].components["katib"].sources[0]
    moved = source.with_version("v1.10.1")
    assert moved.version == "v1.10.1" and moved.path == source.path
    assert RELEASES["26.03"].components["katib"].sources[0].version == "26.03"
