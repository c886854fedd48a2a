"""Release trains: which pinned charts and kustomize directories a Kubeflow release installs.

Pure data, no Pulumi: tests and the config rules read it directly. Each component of a
release has one or more *sources*, each with a stable ``role`` (the role names the
Pulumi resource, so switching releases updates a source in place instead of replacing
it). A source is either a Helm chart (name, repository, chart version) or a kustomize
directory of ``kubeflow/manifests`` pinned to the release's git tag.

Versions follow the design's table (kubeflow/manifests README and
``example/kustomization.yaml`` of each release); ``app_version`` is the upstream
component's own version, ``version`` the pinned chart version or git ref.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from mlplane.components.sources import (  # noqa: F401 - MANIFESTS_REPOSITORY is re-exported
    MANIFESTS_REPOSITORY, ChartRef, SourcesSpec, chart_location, manifests_location)

ReleaseName = Literal["1.8.1", "26.03"]
RELEASE_NAMES: tuple[str, ...] = ("1.8.1", "26.03")
DEFAULT_RELEASE: ReleaseName = "26.03"

JETSTACK = "https://charts.jetstack.io"
ISTIO = "https://istio-release.storage.googleapis.com/charts"
DEX = "https://charts.dexidp.io"
OAUTH2_PROXY = "https://oauth2-proxy.github.io/manifests"
KSERVE_OCI = "oci://ghcr.io/kserve/charts"
#: KServe's charts as release assets: kserve/kserve ``.github/workflows/helm-publish.yml``
#: packs each chart with ``helm package`` and renames it ``helm-chart-<name>-<version>.tgz``.
#: The OCI push to ghcr.io starts with v0.12.0, so v0.11.2 exists only there
#: (``../shared/upstream/README.md``; kubeflow/manifests' Helm quickstart downloads the same URLs).
KSERVE_RELEASE_ASSET = "https://github.com/kserve/kserve/releases/download/{version}/helm-chart-{name}-{version}.tgz"


def _frozen(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class ChartSource:
    """A Helm chart, pinned.

    Attributes:
        role: Stable role within its component (``istiod``, ``gateway``, ...).
        chart: The chart's name (``name`` in its Chart.yaml).
        version: Exact chart version.
        repository: Helm repository URL or ``oci://`` registry.
        values: Values this release needs on top of mlplane's own (e.g. how the
            cert-manager chart of that version is told to install its CRDs).
        url_template: For charts published only as release assets: the package URL,
            with ``{name}`` and ``{version}`` filled in.
        override: The stack's mirror or local copy (``mlplane:kubeflow.sources.charts``).
    """

    role: str
    chart: str
    version: str
    repository: str | None = None
    values: Mapping[str, Any] = field(default_factory=_frozen)
    url_template: str | None = None
    override: str | None = None

    kind: Literal["chart"] = "chart"

    def with_version(self, version: str) -> "ChartSource":
        """This chart at another version."""
        return replace(self, version=version)

    @property
    def ref(self) -> ChartRef:
        """The pinned chart, for :func:`components.sources.chart_location`."""
        url = self.url_template.format(name=self.chart, version=self.version) if self.url_template else None
        return ChartRef(name=self.chart, version=self.version, repository=self.repository, url=url)

    def with_sources(self, sources: SourcesSpec) -> "ChartSource":
        """This chart as the stack's sources override it."""
        return replace(self, override=sources.charts.get(self.chart))

    @property
    def location(self) -> str:
        """Where the chart comes from, for docs and messages."""
        where = chart_location(self.ref, self.override)
        return f"{where.repository}/{where.chart}" if where.repository else where.chart


@dataclass(frozen=True)
class ManifestsSource:
    """A kustomize directory of ``kubeflow/manifests`` at a git ref.

    Attributes:
        role: Stable role within its component.
        path: Directory inside the repository at that ref.
        version: The git ref (release tag) the path is read at.
        repository: The stack's mirror URL or checkout folder; None for upstream.
    """

    role: str
    path: str
    version: str
    repository: str | None = None

    kind: Literal["manifests"] = "manifests"

    def with_version(self, version: str) -> "ManifestsSource":
        """This directory at another git ref."""
        return replace(self, version=version)

    def with_sources(self, sources: SourcesSpec) -> "ManifestsSource":
        """This directory as the stack's sources override it."""
        return replace(self, repository=sources.manifests)

    @property
    def location(self) -> str:
        """The directory as pulumi-kubernetes' ``kustomize.v2.Directory`` reads it.

        ``https://github.com/kubeflow/manifests//<path>?ref=<tag>`` upstream (the form
        kustomize reads; see :mod:`components.sources`), or the stack's mirror or checkout.
        """
        return manifests_location(self.path, self.version, self.repository)


Source = ChartSource | ManifestsSource


@dataclass(frozen=True)
class ComponentRelease:
    """One component as a release pins it.

    Attributes:
        key: The component's key under ``mlplane:kubeflow.components``.
        title: Human name, for docs and messages.
        app_version: The upstream component's version (informational).
        sources: What is installed, in install order.
        namespace: Where it runs by default.
    """

    key: str
    title: str
    app_version: str
    sources: tuple[Source, ...]
    namespace: str

    @property
    def installer(self) -> Literal["chart", "manifests"]:
        """Whether the component is installed from Helm charts or kustomize directories."""
        return self.sources[0].kind

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles of its sources."""
        return tuple(s.role for s in self.sources)


@dataclass(frozen=True)
class Release:
    """A release train: every component it pins, by key."""

    name: str
    manifests_ref: str
    components: Mapping[str, ComponentRelease]

    def get(self, key: str) -> ComponentRelease | None:
        """The component, or None when this release does not include it."""
        return self.components.get(key)


#: Components in install order (also the order of ``mlplane:kubeflow.components``).
COMPONENT_KEYS: tuple[str, ...] = (
    "cert_manager", "istio", "dex", "oauth2_proxy", "knative_serving", "kubeflow_roles",
    "profiles", "central_dashboard", "notebooks", "pipelines", "katib", "training",
    "kserve", "models_web_app", "tensorboards", "volumes_web_app", "model_registry",
)

#: Components installed from ``kubeflow/manifests`` into the Kubeflow namespace.
KUBEFLOW_APPS: tuple[str, ...] = (
    "kubeflow_roles", "profiles", "central_dashboard", "notebooks", "pipelines", "katib",
    "training", "models_web_app", "tensorboards", "volumes_web_app", "model_registry",
)

TITLES: Mapping[str, str] = MappingProxyType({
    "cert_manager": "cert-manager",
    "istio": "Istio",
    "dex": "Dex",
    "oauth2_proxy": "oauth2-proxy",
    "knative_serving": "Knative Serving",
    "kubeflow_roles": "Kubeflow roles",
    "profiles": "Profiles + KFAM",
    "central_dashboard": "Central dashboard",
    "notebooks": "Notebooks (controller, Jupyter web app, PodDefaults)",
    "pipelines": "Kubeflow Pipelines",
    "katib": "Katib",
    "training": "Training operator / Trainer",
    "kserve": "KServe",
    "models_web_app": "KServe models web app",
    "tensorboards": "Tensorboards",
    "volumes_web_app": "Volumes web app (and PVC viewer)",
    "model_registry": "Model Registry",
})

DEFAULT_NAMESPACES: Mapping[str, str] = MappingProxyType({
    "cert_manager": "cert-manager",
    "istio": "istio-system",
    "dex": "auth",
    "oauth2_proxy": "oauth2-proxy",
    "knative_serving": "knative-serving",
    "kserve": "kubeflow",
    **{key: "kubeflow" for key in KUBEFLOW_APPS},
})


def _component(key: str, app_version: str, *sources: Source) -> ComponentRelease:
    return ComponentRelease(key=key, title=TITLES[key], app_version=app_version, sources=tuple(sources),
                            namespace=DEFAULT_NAMESPACES[key])


def _istio(version: str) -> ComponentRelease:
    return _component(
        "istio", version,
        ChartSource("base", "base", version, ISTIO),
        # The CNI node agent sets up traffic redirection, so injected pods need no
        # privileged init container (what lets their namespaces stay restricted).
        ChartSource("cni", "cni", version, ISTIO),
        ChartSource("istiod", "istiod", version, ISTIO),
        ChartSource("gateway", "gateway", version, ISTIO),
    )


def _kserve(version: str, *, oci: bool) -> ComponentRelease:
    if oci:
        return _component(
            "kserve", version.lstrip("v"),
            ChartSource("crds", "kserve-crd", version, KSERVE_OCI),
            ChartSource("controller", "kserve", version, KSERVE_OCI),
        )
    return _component(
        "kserve", version.lstrip("v"),
        ChartSource("crds", "kserve-crd", version, url_template=KSERVE_RELEASE_ASSET),
        ChartSource("controller", "kserve", version, url_template=KSERVE_RELEASE_ASSET),
    )


def _release_1_8_1() -> Release:
    ref = "v1.8.1"

    def kf(path: str, role: str) -> ManifestsSource:
        return ManifestsSource(role, path, ref)

    components = [
        _component("cert_manager", "1.12.2",
                   ChartSource("chart", "cert-manager", "v1.12.2", JETSTACK, _frozen({"installCRDs": True}))),
        _istio("1.17.3"),
        _component("dex", "2.36.0", ChartSource("chart", "dex", "0.14.3", DEX,
                                                 _frozen({"image": {"tag": "v2.36.0"}}))),
        _component("oauth2_proxy", "7.4.0", ChartSource("chart", "oauth2-proxy", "6.6.0", OAUTH2_PROXY,
                                                         _frozen({"image": {"tag": "v7.4.0"}}))),
        _component("knative_serving", "1.10.2",
                   kf("common/knative/knative-serving/overlays/gateways", "serving"),
                   kf("common/istio-1-17/cluster-local-gateway/base", "local-gateway")),
        _component("kubeflow_roles", "1.8.1", kf("common/kubeflow-roles/base", "roles")),
        _component("profiles", "1.8.0", kf("apps/profiles/upstream/overlays/kubeflow", "controller")),
        _component("central_dashboard", "1.8.0", kf("apps/centraldashboard/upstream/overlays/kserve", "dashboard")),
        _component("notebooks", "1.8.0",
                   kf("apps/jupyter/notebook-controller/upstream/overlays/kubeflow", "controller"),
                   kf("apps/jupyter/jupyter-web-app/upstream/overlays/istio", "web-app"),
                   kf("apps/admission-webhook/upstream/overlays/cert-manager", "poddefaults")),
        _component("pipelines", "2.0.5",
                   kf("apps/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user", "pipelines")),
        _component("katib", "0.16.0", kf("apps/katib/upstream/installs/katib-with-kubeflow", "katib")),
        _component("training", "1.7.0", kf("apps/training-operator/upstream/overlays/kubeflow", "controller")),
        _kserve("v0.11.2", oci=False),
        # The release's models web app image is kserve/models-web-app:v0.10.0
        # (contrib/kserve/models-web-app/base/kustomization.yaml at v1.8.1).
        _component("models_web_app", "0.10.0", kf("contrib/kserve/models-web-app/overlays/kubeflow", "web-app")),
        _component("tensorboards", "1.8.0",
                   kf("apps/tensorboard/tensorboard-controller/upstream/overlays/kubeflow", "controller"),
                   kf("apps/tensorboard/tensorboards-web-app/upstream/overlays/istio", "web-app")),
        _component("volumes_web_app", "1.8.0",
                   kf("apps/volumes-web-app/upstream/overlays/istio", "web-app"),
                   # upstream/default leaves the controller image untagged (:latest); the
                   # release's example/kustomization.yaml installs upstream/base.
                   kf("apps/pvcviewer-controller/upstream/base", "pvc-viewer")),
    ]
    return Release("1.8.1", ref, MappingProxyType({c.key: c for c in components}))


def _release_26_03() -> Release:
    # The 26.03 release is tagged "26.03", without a "v" (kubeflow/manifests tags).
    ref = "26.03"

    def kf(path: str, role: str) -> ManifestsSource:
        return ManifestsSource(role, path, ref)

    components = [
        _component("cert_manager", "1.19.4",
                   ChartSource("chart", "cert-manager", "v1.19.4", JETSTACK, _frozen({"crds": {"enabled": True}}))),
        _istio("1.29.0"),
        _component("dex", "2.45.0", ChartSource("chart", "dex", "0.24.0", DEX,
                                                 _frozen({"image": {"tag": "v2.45.0"}}))),
        _component("oauth2_proxy", "7.14.3", ChartSource("chart", "oauth2-proxy", "10.1.0", OAUTH2_PROXY,
                                                          _frozen({"image": {"tag": "v7.14.3"}}))),
        _component("knative_serving", "1.21.1",
                   kf("common/knative/knative-serving/overlays/gateways", "serving"),
                   kf("common/istio/cluster-local-gateway/base", "local-gateway")),
        _component("kubeflow_roles", "26.03", kf("common/kubeflow-roles/base", "roles")),
        _component("profiles", "1.10.0", kf("applications/profiles/upstream/overlays/kubeflow", "controller")),
        _component("central_dashboard", "1.10.0",
                   kf("applications/centraldashboard/overlays/oauth2-proxy", "dashboard")),
        _component("notebooks", "1.10.0",
                   kf("applications/jupyter/notebook-controller/upstream/overlays/kubeflow", "controller"),
                   kf("applications/jupyter/jupyter-web-app/upstream/overlays/istio", "web-app"),
                   kf("applications/admission-webhook/upstream/overlays/cert-manager", "poddefaults")),
        _component("pipelines", "2.16.0",
                   kf("applications/pipeline/upstream/env/cert-manager/platform-agnostic-multi-user", "pipelines")),
        _component("katib", "0.19.0", kf("applications/katib/upstream/installs/katib-with-kubeflow", "katib")),
        _component("training", "2.1.0",
                   kf("applications/trainer/upstream/overlays/kubeflow-platform", "controller")),
        _kserve("v0.16.0", oci=True),
        # ghcr.io/kserve/models-web-app:0.16.1 (applications/kserve/models-web-app/base/kustomization.yaml at 26.03).
        _component("models_web_app", "0.16.1",
                   kf("applications/kserve/models-web-app/overlays/kubeflow", "web-app")),
        _component("tensorboards", "1.10.0",
                   kf("applications/tensorboard/tensorboard-controller/upstream/overlays/kubeflow", "controller"),
                   kf("applications/tensorboard/tensorboards-web-app/upstream/overlays/istio", "web-app")),
        _component("volumes_web_app", "1.10.0",
                   kf("applications/volumes-web-app/upstream/overlays/istio", "web-app"),
                   kf("applications/pvcviewer-controller/upstream/base", "pvc-viewer")),
        _component("model_registry", "0.3.7",
                   kf("applications/model-registry/upstream/overlays/db", "server"),
                   kf("applications/model-registry/upstream/options/istio", "istio"),
                   kf("applications/model-registry/upstream/options/ui/overlays/istio", "ui")),
    ]
    return Release("26.03", ref, MappingProxyType({c.key: c for c in components}))


RELEASES: Mapping[str, Release] = MappingProxyType({
    "1.8.1": _release_1_8_1(),
    "26.03": _release_26_03(),
})


def release(name: str) -> Release:
    """The release train called ``name``.

    Raises:
        KeyError: No such release (the config's ``Literal`` makes this unreachable
            from a validated stack file).
    """
    return RELEASES[name]
