"""From a :class:`KubeflowSpec` to what is installed: pure functions, no Pulumi.

:func:`resolve` applies the per-component overrides to the release train;
:func:`spec_problems` finds the combinations that cannot work (a component whose
dependency is off, values for a kustomize directory, ...). The config rules turn those
problems into stack-file errors; the components build from the resolved result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from mlplane.components.base import Issue
from mlplane.components.platform.releases import (
    COMPONENT_KEYS,
    TITLES,
    ComponentRelease,
    Source,
    release,
)
from mlplane.components.platform.notebook_culling import NotebookCulling
from mlplane.components.platform.spec import ComponentSettings, InfraSettings, KubeflowSpec


@dataclass(frozen=True)
class ResolvedComponent:
    """One component after overrides.

    Attributes:
        key: Key under ``mlplane:kubeflow.components``.
        enabled: Whether mlplane installs it (False for ``existing`` add-ons too).
        existing: Whether the cluster's own installation is used instead.
        namespace: Where it runs.
        app_version: The upstream version the release pins (informational).
        sources: Charts or directories, with version overrides applied.
        values: User values per source role (merged over mlplane's by the installer).
    """

    key: str
    enabled: bool
    existing: bool
    namespace: str
    app_version: str
    sources: tuple[Source, ...]
    values: Mapping[str, Mapping[str, Any]]

    @property
    def available(self) -> bool:
        """Whether the component is there for others to use (installed or existing)."""
        return self.enabled or self.existing

    def source(self, role: str) -> Source:
        """The source with this role."""
        return next(s for s in self.sources if s.role == role)


#: A combination of settings that cannot work (path inside ``mlplane:kubeflow``).
Problem = Issue


#: Each component's requirements: (component, why it is needed). KServe's Knative
#: requirement depends on its mode and is checked separately.
REQUIRES: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType({
    "oauth2_proxy": (("dex", "it logs users in through Dex"), ("istio", "the gateway calls it for every request")),
    "dex": (("istio", "its login pages are served through the ingress gateway"),),
    "knative_serving": (("istio", "Knative's networking layer is Istio"),),
    "kubeflow_roles": (),
    "profiles": (("kubeflow_roles", "profiles bind the kubeflow-admin/edit/view roles"),
                 ("istio", "profiles create Istio authorization policies")),
    "central_dashboard": (("profiles", "the dashboard lists the user's profiles through KFAM"),
                          ("istio", "it is served through the ingress gateway")),
    "notebooks": (("profiles", "notebooks run in profile namespaces"), ("cert_manager", "the PodDefaults webhook needs a certificate"),
                  ("istio", "the web app is served through the ingress gateway")),
    "pipelines": (("profiles", "multi-user pipelines run in profile namespaces"),
                  ("cert_manager", "its webhooks need certificates"), ("istio", "the UI is served through the ingress gateway")),
    "katib": (("cert_manager", "its webhook needs a certificate"), ("istio", "the UI is served through the ingress gateway")),
    "training": (("cert_manager", "its webhook needs a certificate"),),
    "kserve": (("cert_manager", "its webhook needs a certificate"), ("istio", "inference traffic goes through Istio")),
    "models_web_app": (("kserve", "it manages KServe InferenceServices"), ("istio", "it is served through the ingress gateway")),
    "tensorboards": (("profiles", "tensorboards run in profile namespaces"), ("istio", "it is served through the ingress gateway")),
    "volumes_web_app": (("profiles", "volumes live in profile namespaces"), ("istio", "it is served through the ingress gateway")),
    "model_registry": (("istio", "it is served through the ingress gateway"),),
})


def _settings(spec: KubeflowSpec, key: str) -> ComponentSettings:
    return getattr(spec.components, key)


def _values_by_role(settings: ComponentSettings, pinned: ComponentRelease) -> dict[str, dict[str, Any]]:
    if pinned.installer != "chart" or not settings.values:
        return {}
    if len(pinned.sources) == 1:
        return {pinned.sources[0].role: dict(settings.values)}
    return {role: dict(settings.values.get(role) or {}) for role in pinned.roles}


def resolve(spec: KubeflowSpec) -> dict[str, ResolvedComponent]:
    """Apply ``spec``'s overrides to its release train.

    Components the release does not include come back disabled with no sources.
    Call :func:`spec_problems` first; this function assumes the spec is consistent.
    """
    train = release(spec.release)
    resolved: dict[str, ResolvedComponent] = {}
    for key in COMPONENT_KEYS:
        settings = _settings(spec, key)
        pinned = train.get(key)
        existing = isinstance(settings, InfraSettings) and settings.existing
        if pinned is None:
            resolved[key] = ResolvedComponent(key, False, False, settings.namespace or "", "", (), {})
            continue
        enabled = (settings.enabled if settings.enabled is not None else True) and not existing
        sources = tuple((s.with_version(settings.version) if settings.version else s).with_sources(spec.sources)
                        for s in pinned.sources)
        resolved[key] = ResolvedComponent(
            key=key,
            enabled=enabled,
            existing=existing,
            namespace=settings.namespace or pinned.namespace,
            app_version=pinned.app_version,
            sources=sources,
            values=_values_by_role(settings, pinned),
        )
    return resolved


def _enabled_path(key: str) -> tuple[str, ...]:
    return ("components", key, "enabled")


def _mesh_problems(spec: KubeflowSpec) -> Iterator[Problem]:
    """An existing Istio must say how it redirects traffic; mlplane's own Istio needs no statement.

    istiod's injection template adds ``istio-init`` with ``capabilities.add: [NET_ADMIN,
    NET_RAW]``, running as root, unless the CNI is enabled in its values (istio/istio
    manifests/charts/istio-control/istio-discovery/files/injection-template.yaml:
    ``.Values.istio_cni.enabled`` at 1.17.3, ``.Values.pilot.cni.enabled`` at 1.29.0; the
    charts in ../shared/upstream/charts/istiod-*). Pod Security ``baseline`` lets a
    container add only its short list of capabilities (kubernetes/pod-security-admission
    policy/check_capabilities_baseline.go: neither NET_ADMIN nor NET_RAW) and
    ``restricted`` only NET_BIND_SERVICE, so such pods are refused in mlplane's namespaces
    (judged on the control plane: docs/upstream-behaviours.md).
    """
    istio = spec.components.istio
    if istio.existing and istio.traffic_redirection is None:
        yield Problem(("components", "istio", "traffic_redirection"),
                      "the cluster's own Istio must run Istio CNI or ambient mode: otherwise istiod injects istio-init "
                      "with NET_ADMIN and NET_RAW, which the Pod Security level of mlplane's namespaces (baseline, "
                      "restricted) refuses, and every meshed pod is rejected at admission", None,
                      "traffic_redirection: cni (the mesh runs the Istio CNI node agent, which `mlplane preview` "
                      "prints the check for) or ambient; or existing: false, and mlplane installs Istio with its CNI")
    elif not istio.existing and istio.traffic_redirection is not None:
        yield Problem(("components", "istio", "traffic_redirection"),
                      "states how an existing mesh redirects traffic; the Istio mlplane installs runs its CNI always",
                      istio.traffic_redirection, "omit it, or existing: true")


def _issuer_problems(spec: KubeflowSpec) -> Iterator[Problem]:
    """Settings of the other issuer kinds, and an existing Secret without its name."""
    issuer = spec.issuer
    if issuer.kind == "existing-secret":
        if issuer.secret is None:
            yield Problem(("issuer", "secret"), "an existing certificate needs the name of its Secret", None,
                          "the name of a kubernetes.io/tls Secret in the gateway's namespace (istio-system)")
        if spec.ingress.host is None:
            yield Problem(("issuer", "kind"), "a certificate you keep is for a host name (ingress.host)",
                          "existing-secret", "set ingress.host, or kind: self-signed")
    elif issuer.secret is not None:
        yield Problem(("issuer", "secret"), f"only kind existing-secret takes a Secret (kind is {issuer.kind})",
                      issuer.secret, "kind: existing-secret, or omit secret")
    if issuer.dns is not None and issuer.kind != "acme":
        yield Problem(("issuer", "dns"), f"DNS-01 is an ACME challenge (kind is {issuer.kind})",
                      issuer.dns.provider, "kind: acme, or omit dns")


def spec_problems(spec: KubeflowSpec) -> Iterator[Problem]:
    """Every setting of ``spec`` that cannot work, with its key path inside the section."""
    train = release(spec.release)
    for key in COMPONENT_KEYS:
        settings = _settings(spec, key)
        pinned = train.get(key)
        if pinned is None:
            if settings.enabled or settings.version or settings.values:
                included = ", ".join(k for k in COMPONENT_KEYS if train.get(k) is not None)
                field = "enabled" if settings.enabled else ("version" if settings.version else "values")
                yield Problem(("components", key, field), f"{TITLES[key]} is not part of release {spec.release}",
                              getattr(settings, field), f"a release that includes it, or one of: {included}")
            continue
        if isinstance(settings, InfraSettings) and settings.existing and settings.enabled:
            yield Problem(("components", key, "existing"), f"{TITLES[key]} cannot be both installed (enabled) and "
                          "existing", True, "existing: true with enabled unset, or existing: false")
        if pinned.installer == "manifests":
            if settings.namespace is not None:
                yield Problem(("components", key, "namespace"),
                              f"{TITLES[key]} comes from kubeflow/manifests, whose objects fix their namespace "
                              f"({pinned.namespace})", settings.namespace, "omit namespace")
            if settings.values:
                yield Problem(("components", key, "values"),
                              f"{TITLES[key]} is a kustomize directory of kubeflow/manifests, which takes no Helm "
                              "values", settings.values, "omit values (or disable it and install your own)")
        elif len(pinned.sources) > 1:
            for role in settings.values:
                if role not in pinned.roles:
                    yield Problem(("components", key, "values", role),
                                  f"{TITLES[key]} installs several charts; values are given per chart role",
                                  role, ", ".join(pinned.roles))

    resolved = resolve(spec)
    for key, needs in REQUIRES.items():
        if not resolved[key].enabled:
            continue
        for needed, why in needs:
            if not resolved[needed].available:
                yield Problem(_enabled_path(key), f"{TITLES[key]} needs {TITLES[needed]} ({why}), which is disabled",
                              True, f"enable components.{needed} (or mark it existing), or disable components.{key}")
    yield from _mesh_problems(spec)
    notebooks = spec.components.notebooks
    if resolved["notebooks"].enabled and notebooks.version and notebooks.culling != NotebookCulling():
        yield Problem(("components", "notebooks", "culling"),
                      f"mlplane sets culling in the notebook controller's ConfigMap as release {spec.release} "
                      f"generates it; at another kubeflow/manifests tag ({notebooks.version}) its generated name "
                      "is not known", notebooks.culling.model_dump(),
                      "the release's notebooks (omit version), or no culling settings")
    kserve = resolved["kserve"]
    if kserve.enabled and spec.components.kserve.deployment_mode == "serverless" \
            and not resolved["knative_serving"].available:
        yield Problem(("components", "kserve", "deployment_mode"),
                      "KServe in serverless mode needs Knative Serving, which is disabled", "serverless",
                      "enable components.knative_serving, or deployment_mode: raw")
    yield from _issuer_problems(spec)
    if spec.issuer.kind == "acme":
        if spec.issuer.email is None:
            yield Problem(("issuer", "email"), "an ACME issuer needs an account e-mail", None,
                          "an e-mail address such as platform@example.com")
        if spec.ingress.host is None:
            yield Problem(("issuer", "kind"), "an ACME certificate needs a public host name (ingress.host)", "acme",
                          "set ingress.host, or kind: self-signed")
    if spec.ingress.tls and spec.ingress.host is None:
        yield Problem(("ingress", "tls"), "a TLS certificate needs a host name (ingress.host)", True,
                      "set ingress.host, or omit tls")
    if spec.ingress.effective_tls and not resolved["cert_manager"].available:
        yield Problem(("ingress", "tls"), "TLS on the ingress gateway needs cert-manager, which is disabled", True,
                      "enable components.cert_manager, or tls: false")
    seen: dict[str, int] = {}
    for index, profile in enumerate(spec.profiles):
        if profile.name in seen:
            yield Problem(("profiles", index, "name"), f"duplicate profile (also profiles[{seen[profile.name]}])",
                          profile.name, "a unique name per profile")
        seen.setdefault(profile.name, index)
        if profile.name in _RESERVED_NAMESPACES:
            yield Problem(("profiles", index, "name"), "this namespace belongs to the platform", profile.name,
                          "a name other than " + ", ".join(sorted(_RESERVED_NAMESPACES)))
        # Each contributor gets one RoleBinding and AuthorizationPolicy named after the e-mail.
        emails: dict[str, int] = {}
        for position, contributor in enumerate(profile.contributors):
            email = contributor.email.lower()
            if email in emails:
                yield Problem(("profiles", index, "contributors", position, "email"),
                              f"contributor listed twice (also contributors[{emails[email]}])", contributor.email,
                              "each user once, with one role")
            emails.setdefault(email, position)
    if spec.profiles and not resolved["profiles"].available:
        yield Problem(("profiles",), "profiles need the profile controller (components.profiles), which is disabled",
                      [p.name for p in spec.profiles], "enable components.profiles, or declare no profiles")


_RESERVED_NAMESPACES = frozenset({
    "kubeflow", "istio-system", "istio-cni", "cert-manager", "auth", "oauth2-proxy", "knative-serving",
    "kube-system", "kube-public", "kube-node-lease", "default",
})
