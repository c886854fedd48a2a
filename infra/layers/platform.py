"""The platform layer: namespaces, cluster add-ons and Kubeflow's components."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from typing import Literal

import pulumi

from mlplane.components.namespace import PlatformNamespace, PlatformNamespaceArgs
from mlplane.components.platform.auth import GROUPS_HEADER, USER_HEADER, mesh_provider_name
from mlplane.components.platform.istio import INGRESS_GATEWAY, INGRESS_SERVICE_ACCOUNT, KUBEFLOW_GATEWAY
from mlplane.components.platform.namespaces import MESHED, blocks_cloud_metadata, platform_namespaces
from mlplane.components.platform.platform import Platform, PlatformArgs
from mlplane.components.platform.resolve import resolve
from mlplane.infra.config import StackConfig
from mlplane.infra.config.cluster import GkeCluster
from mlplane.infra.config.sources import absolute_sources
from mlplane.infra.layers.context import StackContext

#: Namespace of Kubeflow's own components (fixed by upstream manifests).
KUBEFLOW_NAMESPACE = "kubeflow"


@dataclass(frozen=True)
class GatewayFacts:
    """Where traffic enters the cluster.

    Attributes:
        gateway: The Istio ``Gateway`` that VirtualServices and KServe bind to, as
            ``<namespace>/<name>`` (``kubeflow/kubeflow-gateway``).
        service: The ingress gateway's Service (and workload) name.
        namespace: The namespace the gateway workload runs in (Istio's, ``istio-system``).
        host: The external host name, or None when the gateway answers any host
            (reached through ``kubectl port-forward``).
        tls: Whether the gateway serves HTTPS (a certificate for ``host``).
        service_account: The ServiceAccount the gateway's pods run as (their mesh identity).
    """

    gateway: str
    service: str
    namespace: str
    host: str | None
    tls: bool
    service_account: str = INGRESS_SERVICE_ACCOUNT

    @property
    def url(self) -> str | None:
        """The platform's external URL, when it has a host."""
        if self.host is None:
            return None
        return f"{'https' if self.tls else 'http'}://{self.host}"


@dataclass(frozen=True)
class AuthFacts:
    """How requests through the gateway are authenticated.

    Attributes:
        issuer: Dex's OIDC issuer URL (tokens for machine access are issued there).
        user_header: Request header carrying the logged-in user's e-mail
            (``kubeflow-userid``); apps behind the gateway trust it.
        groups_header: Request header carrying the user's groups.
        provider: The Istio extension provider name of oauth2-proxy (for CUSTOM
            AuthorizationPolicies that put further apps behind the login).
    """

    issuer: str
    user_header: str
    groups_header: str
    provider: str


@dataclass(frozen=True)
class KServeFacts:
    """Model serving as installed.

    Attributes:
        enabled: Whether KServe is installed (InferenceServices can be created).
        mode: ``serverless`` (Knative revisions, scale to zero) or ``raw`` (Deployments).
    """

    enabled: bool
    mode: Literal["serverless", "raw"]


@dataclass(frozen=True)
class PlatformFacts:
    """What later layers need to know about the platform.

    Attributes:
        namespaces: The platform's namespaces by role (``kubeflow``, ``workloads``,
            ``ns-<add-on namespace>``, ``profile-<name>``).
        workload_namespace: Where pipelines, endpoints and web apps run by default.
        release: The Kubeflow release train, or None when the stack has no platform.
        gateway: Ingress gateway facts (None without Istio).
        issuer: The cert-manager ClusterIssuer for certificates of served endpoints
            (None without cert-manager).
        kserve: KServe's state and mode.
        auth: Authentication facts (None without oauth2-proxy).
        profile_namespaces: Namespaces of the declared Kubeflow profiles.
        profile_members: Each declared profile's owner and contributors (e-mails), by name.
        installed: Keys of the components mlplane installs (``pipelines``, ``kserve``, ...).
        platform: The Platform component (depend on it to wait for the whole platform),
            or None.
    """

    namespaces: dict[str, PlatformNamespace]
    workload_namespace: str
    release: str | None = None
    gateway: GatewayFacts | None = None
    issuer: str | None = None
    kserve: KServeFacts = field(default_factory=lambda: KServeFacts(enabled=False, mode="raw"))
    auth: AuthFacts | None = None
    profile_namespaces: tuple[str, ...] = ()
    profile_members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    installed: tuple[str, ...] = ()
    platform: pulumi.Resource | None = None


def workloads_of(config: StackConfig) -> tuple[list[Any], list[Any]]:
    """Every endpoint and web app of the stack: ``mlplane:serving`` and pipelines' steps."""
    from mlplane.components.pipeline.spec import ServeStepSpec, WebAppStepSpec
    from mlplane.infra.layers.compile import compile_entry

    endpoints: list[Any] = list(config.serving.endpoints) if config.serving is not None else []
    apps: list[Any] = list(config.serving.web_apps) if config.serving is not None else []
    for entry in config.pipelines:
        for step in compile_entry(entry, config).spec.steps:
            if isinstance(step, ServeStepSpec):
                endpoints.append(step.endpoint)
            elif isinstance(step, WebAppStepSpec):
                apps.append(step.app)
    return endpoints, apps


def workload_pod_security(config: StackConfig) -> dict[str, str]:
    """The workload namespace's Pod Security levels.

    ``restricted``, with one documented exception: KServe (up to 0.17) injects its
    storage-initializer container without a security context (kserve/kserve#5373), so
    predictor pods that download a model from the artifact store are refused under
    ``restricted``. While the stack has such endpoints, the namespace enforces
    ``baseline`` and still audits and warns at ``restricted``; mlplane's own pods keep
    the restricted fields either way.
    """
    if config.kubeflow is None or not resolve(config.kubeflow)["kserve"].available:
        return {"pod_security": "restricted"}
    endpoints, _ = workloads_of(config)
    if not any(e.model is not None and e.model.uri for e in endpoints):
        return {"pod_security": "restricted"}
    return {"pod_security": "baseline", "pod_security_warn": "restricted"}


def public_hosts(config: StackConfig) -> tuple[str, ...]:
    """Hosts that endpoints and web apps serve without login (they say ``public: true``)."""
    endpoints, apps = workloads_of(config)
    return tuple(sorted({item.host for item in (*endpoints, *apps) if item.public and item.host}))


def declare_platform(ctx: StackContext) -> PlatformFacts:
    """Declare the platform's namespaces and, when ``mlplane:kubeflow`` is set, the platform."""
    config = ctx.config
    workload_namespace = config.cluster.workload_namespace
    spec = config.kubeflow
    if spec is None:
        namespaces = {
            "kubeflow": PlatformNamespace("kubeflow", PlatformNamespaceArgs(namespace=KUBEFLOW_NAMESPACE), ctx.opts()),
        }
    else:
        planned = platform_namespaces(spec, resolve(spec), blocks_cloud_metadata(config.cluster.kind))
        # Namespaces an upstream source creates itself are patched once that source has made them.
        namespaces = {role: PlatformNamespace(role, args, ctx.opts())
                      for role, args in planned.items() if not args.upstream_owned}
    # Meshed wherever the platform runs Istio, so that the ALLOW policies of its endpoints and
    # web apps are enforced at all (Istio's policies act on workloads with a proxy only); its
    # run-to-completion pods opt out one by one (components/mesh.py).
    meshed = MESHED if spec is not None and resolve(spec)["istio"].available else {}
    namespaces["workloads"] = PlatformNamespace(
        "workloads", PlatformNamespaceArgs(namespace=workload_namespace, labels=dict(meshed),
                                           block_cloud_metadata=blocks_cloud_metadata(config.cluster.kind),
                                           **workload_pod_security(config)), ctx.opts()
    )
    if spec is None:
        return PlatformFacts(namespaces=namespaces, workload_namespace=workload_namespace)

    by_name = {ns_args.namespace: namespaces[role] for role, ns_args in planned.items() if role in namespaces}
    # Folders in mlplane:kubeflow.sources are relative to the stack file; the engine needs them absolute.
    spec = spec.model_copy(update={"sources": absolute_sources(config)})
    platform = Platform("platform", PlatformArgs(
        kubeflow=spec, auth=config.auth, gke=isinstance(config.cluster, GkeCluster), namespaces=by_name,
        cluster_kind=config.cluster.kind,
        public_hosts=public_hosts(config),
    ), ctx.opts())
    components = platform.components
    for role, ns_args in planned.items():
        if ns_args.upstream_owned:  # Knative's namespace, shipped by its directory
            shipped_by = list(platform.knative.ready) if platform.knative is not None else []
            namespaces[role] = PlatformNamespace(role, ns_args, ctx.opts(depends_on=shipped_by))
    if platform.generated_passwords:
        pulumi.export("dex_passwords", pulumi.Output.all(**platform.generated_passwords))
    istio = components["istio"]
    return PlatformFacts(
        namespaces=namespaces,
        workload_namespace=workload_namespace,
        release=spec.release,
        gateway=GatewayFacts(
            gateway=f"{KUBEFLOW_NAMESPACE}/{KUBEFLOW_GATEWAY}", service=INGRESS_GATEWAY, namespace=istio.namespace,
            host=spec.ingress.host, tls=spec.ingress.effective_tls,
        ) if istio.available else None,
        issuer=platform.ingress_issuer,
        kserve=KServeFacts(enabled=components["kserve"].enabled, mode=spec.components.kserve.deployment_mode),
        auth=AuthFacts(issuer=platform.auth.issuer, user_header=USER_HEADER, groups_header=GROUPS_HEADER,
                       provider=mesh_provider_name(config.auth)) if platform.auth is not None and components["oauth2_proxy"].enabled else None,
        profile_namespaces=tuple(p.name for p in spec.profiles),
        profile_members={p.name: (p.owner, *(c.email for c in p.contributors)) for p in spec.profiles},
        installed=tuple(key for key, c in components.items() if c.enabled),
        platform=platform,
    )
