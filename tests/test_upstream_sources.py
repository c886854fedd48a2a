"""Every upstream reference of the release trains, proven against the pinned upstream sources.

``../shared/upstream`` holds both trains' kustomize trees and Helm charts as upstream
tagged them (``MANIFEST.json`` gives repository, tag, commit and path of each); the
release examples and the one file it lacks are in ``tests/data/upstream``.
"""

from __future__ import annotations

import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.components.accelerators.spec import NFD_CHART, NVIDIA_DEVICE_PLUGIN_CHART, NVIDIA_GPU_OPERATOR_CHART
from mlplane.components.platform.releases import RELEASE_NAMES, RELEASES, ChartSource, ManifestsSource
from mlplane.components.sources import (
    CHART_TYPE,
    DIRECTORY_TYPE,
    chart_location,
    manifests_location,
    upstream_layout_path,
)
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.render import render_config
from tests.conftest import ROOT, STACKS, rendered
from tests.upstream import (
    chart_item,
    example_paths,
    kustomize_build,
    manifest_items,
    needs_upstream,
    sources_folder,
)

ALL_SOURCES = [(name, component.key, source) for name in RELEASE_NAMES
               for component in RELEASES[name].components.values() for source in component.sources]
DIRECTORIES = [s for s in ALL_SOURCES if isinstance(s[2], ManifestsSource)]
CHARTS = [s for s in ALL_SOURCES if isinstance(s[2], ChartSource)]
ACCELERATOR_CHARTS = [NVIDIA_DEVICE_PLUGIN_CHART, NVIDIA_GPU_OPERATOR_CHART, NFD_CHART]

#: Directories mlplane installs that the release's example/kustomization.yaml reaches through
#: a thin overlay of its own, or that the release's README installs separately.
NOT_IN_EXAMPLE: dict[tuple[str, str], str] = {
    ("26.03", "applications/profiles/upstream/overlays/kubeflow"):
        "example installs applications/profiles/pss (this plus PSS namespace labels; mlplane labels namespaces itself)",
    ("26.03", "applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user"):
        "example installs applications/pipeline/overlays (this plus a securityContext patch of its install config)",
    ("26.03", "applications/trainer/upstream/overlays/kubeflow-platform"):
        "example installs applications/trainer/overlays (this plus seccomp and webhook-port patches)",
    ("26.03", "applications/model-registry/upstream/overlays/db"): "README: installed apart, kubectl apply -n kubeflow",
    ("26.03", "applications/model-registry/upstream/options/istio"): "README: installed apart, kubectl apply -n kubeflow",
    ("26.03", "applications/model-registry/upstream/options/ui/overlays/istio"):
        "README: installed apart, kubectl apply -n kubeflow",
}


def _id(item: tuple[str, str, Any]) -> str:
    return f"{item[0]}-{item[1]}-{item[2].role}"


# --- kustomize directories ----------------------------------------------------------------

@pytest.mark.parametrize("item", DIRECTORIES, ids=_id)
def test_directories_use_the_remote_form_kustomize_reads(item: tuple[str, str, ManifestsSource]) -> None:
    name, _, source = item
    ref = RELEASES[name].manifests_ref
    assert source.version == ref
    assert source.location == f"https://github.com/kubeflow/manifests//{source.path}?ref={ref}"
    assert "/tree/" not in source.location


@needs_upstream
def test_release_refs_are_the_upstream_tags() -> None:
    # 26.03 is tagged without a "v" (there is no v26.03); 1.8.1 with one.
    tags = {item["version"] for item in manifest_items() if item["kind"] == "kustomize"}
    assert tags == {RELEASES[name].manifests_ref for name in RELEASE_NAMES} == {"v1.8.1", "26.03"}


@needs_upstream
@pytest.mark.parametrize("item", DIRECTORIES, ids=_id)
def test_every_directory_is_a_kustomization_at_its_tag(item: tuple[str, str, ManifestsSource]) -> None:
    _, _, source = item
    folder = sources_folder() / "kubeflow-manifests" / source.version / source.path
    assert (folder / "kustomization.yaml").is_file(), f"{source.path} is not a kustomization at {source.version}"


@pytest.mark.parametrize("item", DIRECTORIES, ids=_id)
def test_every_directory_is_what_the_release_installs(item: tuple[str, str, ManifestsSource]) -> None:
    name, _, source = item
    if (name, source.path) in NOT_IN_EXAMPLE:
        return
    assert source.path in example_paths(source.version), f"{source.path} is not in {name}'s example"


def test_known_differences_from_the_examples_are_still_needed() -> None:
    used = {(name, s.path) for name, _, s in DIRECTORIES}
    assert set(NOT_IN_EXAMPLE) <= used


def _deployment_images(objects: list[dict[str, Any]]) -> list[str]:
    return [c["image"] for o in objects if o["kind"] == "Deployment"
            for c in o["spec"]["template"]["spec"]["containers"]]


@needs_upstream
def test_pvc_viewer_of_1_8_1_pins_its_controller_image() -> None:
    manifests = sources_folder() / "kubeflow-manifests" / "v1.8.1" / "apps" / "pvcviewer-controller" / "upstream"
    # upstream/default (what an earlier mlplane used) leaves the controller untagged: :latest.
    assert "docker.io/kubeflownotebookswg/pvcviewer-controller" in _deployment_images(kustomize_build(manifests / "default"))
    source = next(s for s in RELEASES["1.8.1"].components["volumes_web_app"].sources if s.role == "pvc-viewer")
    images = _deployment_images(kustomize_build(sources_folder() / "kubeflow-manifests" / "v1.8.1" / source.path))
    assert "docker.io/kubeflownotebookswg/pvcviewer-controller:v1.8.0" in images
    assert all(re.search(r":[\w.-]+$|@sha256:", image) for image in images), images


@needs_upstream
def test_model_registry_objects_get_the_kubeflow_namespace() -> None:
    # Upstream applies these with `-n kubeflow`: they hold namespaced objects naming none.
    namespaceless = []
    for _, _, source in (d for d in DIRECTORIES if d[1] == "model_registry"):
        objects = kustomize_build(sources_folder() / "kubeflow-manifests" / source.version / source.path)
        namespaceless += [o for o in objects if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding",
                                                                   "CustomResourceDefinition")
                          and not o["metadata"].get("namespace")]
    assert namespaceless, "upstream now names a namespace: the default namespace is no longer needed"
    directories = [r for r in rendered("onprem").resources
                   if r.type == DIRECTORY_TYPE and "model-registry" in str(r.inputs.get("directory"))]
    assert directories and all(r.inputs.get("namespace") == "kubeflow" for r in directories)


# --- Helm charts ----------------------------------------------------------------------------

@needs_upstream
@pytest.mark.parametrize("item", CHARTS, ids=_id)
def test_every_chart_is_the_pinned_upstream_chart(item: tuple[str, str, ChartSource]) -> None:
    _, _, source = item
    pinned = chart_item(source.chart, source.version)
    assert pinned is not None, f"{source.chart} {source.version} is not among the pinned upstream charts"
    chart_yaml = yaml.safe_load((sources_folder() / pinned["local"] / "Chart.yaml").read_text())
    assert (chart_yaml["name"].strip(), str(chart_yaml["version"])) == (source.chart, source.version)
    if source.url_template is None:
        assert source.repository == pinned["repository"]


@needs_upstream
@pytest.mark.parametrize("chart", ACCELERATOR_CHARTS, ids=lambda c: c.chart)
def test_accelerator_charts_are_the_pinned_upstream_charts(chart: Any) -> None:
    pinned = chart_item(chart.ref.name, chart.version)
    assert pinned is not None and chart.ref.repository == pinned["repository"]


def test_kserve_0_11_2_charts_come_from_its_release_assets() -> None:
    # ghcr.io/kserve/charts starts at v0.12.0; v0.11.2 exists only as release assets.
    for source in RELEASES["1.8.1"].components["kserve"].sources:
        location = chart_location(source.ref)
        assert location.chart == (f"https://github.com/kserve/kserve/releases/download/v0.11.2/"
                                  f"helm-chart-{source.chart}-v0.11.2.tgz")
        assert location.repository is None
    for source in RELEASES["26.03"].components["kserve"].sources:
        assert chart_location(source.ref).chart == f"oci://ghcr.io/kserve/charts/{source.chart}"


@needs_upstream
@pytest.mark.parametrize("name", RELEASE_NAMES)
def test_models_web_app_version_is_the_release_image(name: str) -> None:
    source = RELEASES[name].components["models_web_app"].sources[0]
    base = sources_folder() / "kubeflow-manifests" / source.version / Path(source.path).parent.parent / "base"
    images = yaml.safe_load((base / "kustomization.yaml").read_text())["images"]
    tag = next(i["newTag"] for i in images if i["name"] == "kserve/models-web-app")
    assert RELEASES[name].components["models_web_app"].app_version == tag.removeprefix("v")


# --- what the plans record maps onto the pinned sources --------------------------------------

#: The repository's stacks, and onprem on the other release train.
PLANS = [*STACKS, "onprem@1.8.1"]


@lru_cache(maxsize=None)
def _plan(stack: str) -> Any:
    if "@" not in stack:
        return rendered(stack)
    name, release = stack.split("@")
    text = (ROOT / f"Pulumi.{name}.yaml").read_text()
    assert text.count('release: "26.03"') == 1
    folder = Path(tempfile.mkdtemp(prefix="mlplane-release-"))
    (folder / f"Pulumi.{name}.yaml").write_text(text.replace('release: "26.03"', f'release: "{release}"'))
    return render_config(load_stack_file(folder / f"Pulumi.{name}.yaml", stack=name))


def _upstream_resources(stack: str) -> list[Any]:
    return [r for r in _plan(stack).resources if r.type in (CHART_TYPE, DIRECTORY_TYPE)]


@needs_upstream
@pytest.mark.slow
@pytest.mark.parametrize("stack", PLANS)
def test_every_recorded_source_is_in_the_pinned_sources(stack: str) -> None:
    for resource in _upstream_resources(stack):
        relative = upstream_layout_path(resource.type, resource.inputs)
        assert relative is not None, resource.urn
        assert (sources_folder() / relative).is_dir(), f"{resource.urn}: {relative} is not in the pinned sources"


def _unknown_values(values: Any, defaults: Any, templates: str, subcharts: set[str],
                    path: tuple[str, ...] = ()) -> list[str]:
    """Value paths neither in the chart's values.yaml nor read by a template.

    A mapping a template reads whole (``mergeOverwrite $mesh .Values.meshConfig``) is free-form.
    """
    if not isinstance(values, dict):
        return []
    unknown: list[str] = []
    for key, value in values.items():
        here = (*path, str(key))
        if not path and key in subcharts | {"global"}:
            continue
        if isinstance(defaults, dict) and key in defaults:
            default = defaults[key]
            whole = re.search(r"\.Values\." + re.escape(".".join(here)) + r"(?![\w.])", templates)
            if isinstance(default, dict) and default and isinstance(value, dict) and not whole:
                unknown += _unknown_values(value, default, templates, subcharts, here)
            continue
        if isinstance(defaults, dict) and not defaults and path:
            continue  # a free-form map the chart ships empty ({}), e.g. annotations
        if ".Values." + ".".join(here) not in templates and not (not path and str(key) in picked(templates)):
            unknown.append(".".join(here))
    return unknown


def picked(templates: str) -> set[str]:
    """Top-level value names templates hand on whole (``pick .Values "global" "istio_cni"``)."""
    return {name for call in re.findall(r"pick \.Values((?: \"[^\"]+\")+)", templates)
            for name in re.findall(r"\"([^\"]+)\"", call)}


def chart_defaults(folder: Path) -> dict[str, Any]:
    """The chart's default values as its templates see them.

    Istio's charts (1.2x) keep their defaults under ``_internal_defaults_do_not_set`` and
    merge them into the top level before rendering (istio/istio 1.29.0
    manifests/charts/istio-control/istio-discovery/templates/zzz_profile.yaml).
    """
    values_file = folder / "values.yaml"  # kserve-crd ships none
    defaults = (yaml.safe_load(values_file.read_text()) or {}) if values_file.is_file() else {}
    internal = defaults.pop("_internal_defaults_do_not_set", None)
    return {**internal, **defaults} if isinstance(internal, dict) else defaults


@needs_upstream
@pytest.mark.slow
@pytest.mark.parametrize("stack", PLANS)
def test_chart_values_exist_in_the_chart(stack: str) -> None:
    for resource in (r for r in _upstream_resources(stack) if r.type == CHART_TYPE):
        folder = sources_folder() / upstream_layout_path(resource.type, resource.inputs)
        defaults = chart_defaults(folder)
        templates = "\n".join(p.read_text(errors="replace") for p in (folder / "templates").rglob("*")
                              if p.is_file())
        subcharts = {p.name for p in (folder / "charts").iterdir()} if (folder / "charts").is_dir() else set()
        unknown = _unknown_values(resource.inputs.get("values") or {}, defaults, templates, subcharts)
        assert not unknown, f"{resource.name}: values the chart does not have: {unknown}"


def test_sources_override_to_a_mirror_and_a_checkout() -> None:
    path, ref = "applications/katib/upstream/installs/katib-with-kubeflow", "26.03"
    assert manifests_location(path, ref, "https://git.example.com/mirrors/manifests/") == (
        f"https://git.example.com/mirrors/manifests//{path}?ref=26.03")
    assert manifests_location(path, ref, "/srv/manifests") == f"/srv/manifests/{path}"
    source = RELEASES["26.03"].components["kserve"].sources[1]
    assert chart_location(source.ref, "oci://registry.example.com/charts").chart == (
        "oci://registry.example.com/charts/kserve")
    repo = chart_location(RELEASES["26.03"].components["dex"].sources[0].ref, "https://charts.example.com/dex")
    assert (repo.chart, repo.repository) == ("dex", "https://charts.example.com/dex")
    assert chart_location(source.ref, "/srv/charts/kserve-v0.16.0").chart == "/srv/charts/kserve-v0.16.0"


def test_layout_paths_of_recorded_inputs() -> None:
    assert upstream_layout_path(DIRECTORY_TYPE, {"directory": manifests_location("a/b", "26.03")}) == (
        "kubeflow-manifests/26.03/a/b")
    assert upstream_layout_path(CHART_TYPE, {"chart": "oci://ghcr.io/kserve/charts/kserve", "version": "v0.16.0"}) == (
        "charts/kserve-v0.16.0")
    url = "https://github.com/kserve/kserve/releases/download/v0.11.2/helm-chart-kserve-crd-v0.11.2.tgz"
    assert upstream_layout_path(CHART_TYPE, {"chart": url, "version": "v0.11.2"}) == "charts/kserve-crd-v0.11.2"
    assert upstream_layout_path(CHART_TYPE, {"chart": "/srv/charts/dex", "version": "0.24.0"}) == "/srv/charts/dex"
    assert upstream_layout_path("kubernetes:core/v1:Namespace", {}) is None


@needs_upstream
@pytest.mark.parametrize("release", RELEASE_NAMES)
def test_istio_injector_uses_cni_on_both_trains(release: str) -> None:
    # The sidecar injector adds the privileged istio-init container unless its values say
    # CNI is on; render the chart with the values the plan records and read the injector's.
    import helm_python
    import json

    from mlplane.components.platform.istio import IstioArgs, chart_values
    from mlplane.components.platform.resolve import resolve
    from mlplane.components.platform.spec import KubeflowSpec

    component = resolve(KubeflowSpec(release=release))["istio"]
    source = next(s for s in component.sources if s.role == "istiod")
    values = chart_values("istiod", IstioArgs(component=component), source.version)
    folder = sources_folder() / upstream_layout_path(CHART_TYPE, {"chart": source.chart, "version": source.version})
    rendered_text = helm_python.Chart.load(str(folder)).render(values=values, name="istiod", namespace="istio-system",
                                                               is_install=True)
    documents = [d for d in yaml.safe_load_all(_manifest_text(rendered_text)) if d]
    injector = next(d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "istio-sidecar-injector")
    injected_values = json.loads(injector["data"]["values"])
    cni = injected_values.get("istio_cni") or injected_values.get("pilot", {}).get("cni")
    assert cni and cni["enabled"] is True, injected_values.keys()


def _manifest_text(files: dict[str, str]) -> str:
    """helm_python's render result (template file -> text) as one YAML stream, NOTES.txt left out."""
    return "\n---\n".join(text for path, text in sorted(files.items()) if path.endswith((".yaml", ".yml")))
