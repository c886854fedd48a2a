"""The serving layer: model endpoints and web apps, on what the platform and capacity layers made.

The platform's facts say where endpoints run (KServe's mode, or plain Deployments),
which gateway, issuer and login provider expose them; the capacity layer's facts say
how to read the artifact store and where accelerator requests land. This layer maps
those facts to plain component args (:class:`ServingContext`, which pipeline steps use
too) and declares each ``mlplane:serving`` endpoint and web app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi


from mlplane.components.platform.auth import DEX_PORT, OAUTH2_PROXY_PORT, dex_service, oauth2_proxy_service
from mlplane.components.platform.istio import INGRESS_LABELS
from mlplane.components.platform.knative import ACTIVATOR_ACCOUNT
from mlplane.components.serving.args import SERVER_RESOURCES, ModelStore, ServingEndpointArgs
from mlplane.components.serving.checks import backend_for
from mlplane.components.serving.endpoint import ServingEndpoint
from mlplane.components.serving.exposure import Exposure, GatewayRef, IssuerRef, LoginRoute
from mlplane.components.serving.spec import ModelSource, ServingBackend
from mlplane.components.serving.webapp import APP_RESOURCES, WebApp, WebAppArgs
from mlplane.components.serving.config import EndpointConfig, WebAppConfig
from mlplane.infra.layers.capacity import CapacityFacts, VolumeFacts
from mlplane.infra.layers.context import StackContext
from mlplane.infra.layers.platform import PlatformFacts


@dataclass(frozen=True)
class ServingContext:
    """The facts of other layers, as serving component args need them.

    Attributes:
        backend: Where endpoints run: ``kserve-serverless``, ``kserve-raw`` or ``deployment``.
        gateway: The Istio ingress gateway, or None without Istio.
        issuer: The cert-manager ClusterIssuer of route certificates, or None.
        auth_provider: The ext-authz provider (oauth2-proxy) of the gateway, or None.
        login_routes: The login flow's paths (oauth2-proxy, Dex) to route on private hosts.
        store: How model servers read the artifact store, or None without one.
        workload_namespace: The default namespace of endpoints and apps.
        knative_namespace: Namespace of Knative Serving (its activator calls revisions).
        knative_activator_account: The activator's ServiceAccount on the platform's release.
        profile_members: Each declared profile's owner and contributors, by profile name.
        after: What endpoints and apps wait for (the platform: CRDs, webhooks, gateway).
        storage: What endpoints that read a model wait for (volumes, the artifact store
            and its ServiceAccount).
    """

    backend: ServingBackend
    gateway: GatewayRef | None
    issuer: IssuerRef | None
    auth_provider: str | None
    login_routes: tuple[LoginRoute, ...]
    store: ModelStore | None
    workload_namespace: str
    knative_namespace: str = "knative-serving"
    knative_activator_account: str = "activator"
    profile_members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    after: tuple[pulumi.Resource, ...] = ()
    storage: tuple[pulumi.Resource, ...] = ()

    def exposure(self, host: str | None, public: bool = False, users: tuple[str, ...] = (),
                 groups: tuple[str, ...] = ()) -> Exposure | None:
        """The exposure of a host (None for in-cluster only); the config rules ensured it can be made."""
        if host is None:
            return None
        if self.issuer is None:
            raise ValueError(f"host {host!r} needs a certificate issuer (cert-manager), and the platform has none")
        return Exposure(host=host, public=public, issuer=self.issuer, auth_provider=self.auth_provider,
                        login_routes=self.login_routes, users=users, groups=groups)

    def store_for(self, model: ModelSource | None) -> ModelStore | None:
        """The store access a model needs: only models in the artifact store (URIs) need it."""
        return self.store if model is not None and model.uri is not None else None

    def opts(self, ctx: StackContext, reads_model: bool = False) -> pulumi.ResourceOptions:
        """Options of a top-level serving component: the stack's provider, after the platform
        (and after the storage when it reads a model)."""
        after = [*self.after, *(self.storage if reads_model else ())]
        return ctx.opts(depends_on=after) if after else ctx.opts()


@dataclass(frozen=True)
class ServingFacts:
    """What the serving layer publishes (the pipelines layer builds on it).

    Attributes:
        context: The facts serving components are built from.
        endpoints: Endpoints of ``mlplane:serving`` by name.
        web_apps: Web apps of ``mlplane:serving`` by name.
    """

    context: ServingContext
    endpoints: dict[str, ServingEndpoint] = field(default_factory=dict)
    web_apps: dict[str, WebApp] = field(default_factory=dict)


def serving_context(platform: PlatformFacts, capacity: CapacityFacts) -> ServingContext:
    """Map the platform's and capacity's facts to serving component args."""
    gateway = None
    if platform.gateway is not None:
        gateway = GatewayRef(namespace=platform.gateway.namespace, selector=dict(INGRESS_LABELS),
                             service_account=platform.gateway.service_account)
    store = None
    if capacity.artifacts is not None:
        facts = capacity.artifacts
        store = ModelStore(scheme=facts.scheme, service_account=facts.service_account, env=facts.env,
                           pod_labels=dict(facts.pod_labels),
                           blob_endpoint=facts.endpoint if facts.scheme == "az" else None)
    return ServingContext(
        backend=backend_for(platform.kserve.enabled, platform.kserve.mode),
        login_routes=_login_routes(platform),
        gateway=gateway,
        issuer=IssuerRef(name=platform.issuer) if platform.issuer else None,
        auth_provider=platform.auth.provider if platform.auth is not None else None,
        store=store,
        workload_namespace=platform.workload_namespace,
        knative_activator_account=ACTIVATOR_ACCOUNT.get(platform.release or "", "activator"),
        profile_members=dict(platform.profile_members),
        after=tuple(platform.platform.serving_ready) if platform.platform is not None else (),
        storage=capacity.storage_resources,
    )


def _login_routes(platform: PlatformFacts) -> tuple[LoginRoute, ...]:
    """oauth2-proxy's callback and Dex's pages, as the platform installs them."""
    if platform.auth is None or platform.platform is None:
        return ()
    components = platform.platform.components  # type: ignore[attr-defined]
    routes = [LoginRoute(prefix="/oauth2/", host=oauth2_proxy_service(components["oauth2_proxy"].namespace),
                         port=OAUTH2_PROXY_PORT)]
    if components["dex"].enabled:
        routes.append(LoginRoute(prefix="/dex/", host=dex_service(components["dex"].namespace), port=DEX_PORT))
    return tuple(routes)


def _workload_fields(spec: EndpointConfig | WebAppConfig, context: ServingContext, *same: str) -> dict[str, Any]:
    """Args every configured workload gets from the stack (namespace, name, gateway, exposure,
    resources), plus the fields ``same`` that the config and the args share."""
    defaults = SERVER_RESOURCES if isinstance(spec, EndpointConfig) else APP_RESOURCES
    return {
        "namespace": spec.namespace or context.workload_namespace,
        "service_name": spec.name,
        "resources": spec.resources.resolve(defaults),
        "gateway": context.gateway,
        "exposure": context.exposure(spec.host, spec.public, audience_users(spec, context), tuple(spec.groups)),
        **{name: getattr(spec, name) for name in same},
    }


def audience_users(spec: Any, context: ServingContext) -> tuple[str, ...]:
    """The e-mail addresses an endpoint or app admits: its users and its profiles' members.

    A host that names no users, groups or profiles (and does not opt into ``any_account``)
    admits the members of the profile it runs in; the config rules refuse such a host
    outside a profile (infra/config/serving.py), so no host admits every account unasked.
    """
    profiles = tuple(spec.profiles)
    if not spec.names_callers():
        profiles = (spec.namespace or context.workload_namespace,)
    members = [email for name in profiles for email in context.profile_members.get(name, ())]
    return tuple(sorted({*spec.users, *members}))


def endpoint_args(spec: EndpointConfig, context: ServingContext, capacity: CapacityFacts,
                  callers: tuple[str, ...] = ()) -> ServingEndpointArgs:
    """The args of a configured endpoint (accelerators placed on the stack's pools)."""
    return ServingEndpointArgs(
        **_workload_fields(spec, context, "model", "container", "protocol", "replicas", "canary_percent",
                           "runtime_image", "runtime_version"),
        backend=context.backend,
        placement=capacity.place(spec.accelerator) if spec.accelerator is not None else None,
        store=context.store_for(spec.model),
        callers=tuple(dict.fromkeys((*spec.allow_from, *callers))),
        knative_namespace=context.knative_namespace,
        knative_activator_account=context.knative_activator_account,
        replace_pods=model_claim(spec, capacity) is not None,
    )


def model_claim(spec: EndpointConfig, capacity: CapacityFacts) -> VolumeFacts | None:
    """The declared volume an endpoint serves its model from, when it attaches to one node only."""
    volume = spec.model.volume if spec.model is not None else None
    if volume is None:
        return None
    return next((v for v in capacity.volumes.values() if v.one_node and v.claim_name == volume.claim
                 and (spec.namespace is None or spec.namespace == v.namespace)), None)


def web_app_args(spec: WebAppConfig, context: ServingContext) -> WebAppArgs:
    """The args of a configured web app."""
    return WebAppArgs(
        **_workload_fields(spec, context, "image", "port", "command", "args", "env", "replicas", "writable_paths",
                           "readiness_path", "backend"),
        callers=spec.allow_from,
    )


def declare_serving(ctx: StackContext, platform: PlatformFacts, capacity: CapacityFacts) -> ServingFacts:
    """Declare the stack's endpoints and web apps.

    Args:
        ctx: The stack's config and Kubernetes provider.
        platform: The platform layer's facts (KServe, gateway, issuer, login).
        capacity: The capacity layer's facts (artifact store, accelerator pools).

    Returns:
        The serving facts; each endpoint's and app's URLs are also stack outputs.
    """
    context = serving_context(platform, capacity)
    facts = ServingFacts(context=context)
    serving = ctx.config.serving
    if serving is None:
        return facts
    apps = {app.name: web_app_args(app, context) for app in serving.web_apps}
    for spec in serving.endpoints:
        # Apps in other namespaces that use the endpoint must be let in.
        callers = tuple(args.namespace for args in apps.values()
                        if args.backend is not None and args.backend.endpoint == spec.name)
        facts.endpoints[spec.name] = ServingEndpoint(
            f"endpoint-{spec.name}", endpoint_args(spec, context, capacity, callers),
            context.opts(ctx, reads_model=spec.model is not None))
    for name, args in apps.items():
        backend = facts.endpoints[args.backend.endpoint].reference() if args.backend is not None else None
        facts.web_apps[name] = WebApp(f"webapp-{name}", args, context.opts(ctx), backend=backend)
    pulumi.export("endpoints", {name: _urls(e) for name, e in facts.endpoints.items()})
    pulumi.export("web_apps", {name: _urls(a) for name, a in facts.web_apps.items()})
    return facts


def _urls(component: ServingEndpoint | WebApp) -> dict[str, pulumi.Output[str]]:
    urls = {"in_cluster_url": component.in_cluster_url}
    if component.external_url is not None:
        urls["external_url"] = component.external_url
    return urls
