"""``Platform``: the add-ons and Kubeflow, composed in order from the stack config.

    namespaces (from the layer)
      ─► cert-manager ─► ClusterIssuers (Ready)
      ─► Istio: base ─► cni ─► istiod ─► gateway; mTLS STRICT, deny-by-default, allows, Gateway
      ─► Dex, oauth2-proxy, routes, token check, login gate           (after Istio)
      ─► Knative Serving ─► local gateway                              (after Istio)
      ─► Kubeflow roles ─► profiles ─► applications                    (after issuers and Istio)
      ─► KServe CRDs ─► controller ─► models web app                   (after Knative when serverless)
      ─► Profiles and contributors                                     (after the profile controller)
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pydantic import Field

from mlplane.components.platform.auth import OAUTH2_PROXY_PORT, Auth, AuthArgs, mesh_provider_name, oauth2_proxy_service
from mlplane.components.platform.cert_manager import INGRESS_TLS_SECRET, CertManager, CertManagerArgs
from mlplane.components.platform.install import PartArgs, after
from mlplane.components.platform.gateway import gateway_service_values
from mlplane.components.platform.gateway_guard import GatewayGuard, GatewayGuardArgs
from mlplane.components.platform.istio import (
    INGRESS_LABELS,
    INGRESS_SERVICE_ACCOUNT,
    ExtAuthz,
    Istio,
    IstioArgs,
    allow_policy,
)
from mlplane.components.platform.knative import KnativeServing, KnativeServingArgs
from mlplane.components.platform.kubeflow import KubeflowApps, KubeflowAppsArgs
from mlplane.components.platform.namespaces import ISTIO_CNI_NAMESPACE, KUBEFLOW_NAMESPACE, mesh_allows, principal, KFP_UI_SERVICE_ACCOUNT
from mlplane.components.platform.pipelines_access import declare_pipelines_access
from mlplane.components.platform.profiles import Profiles, ProfilesArgs
from mlplane.components.platform.resolve import ResolvedComponent, resolve
from mlplane.components.platform.spec import AuthSpec, KubeflowSpec


class PlatformArgs(PartArgs):
    """Arguments of :class:`Platform`."""

    kubeflow: KubeflowSpec = Field(description="Release, components, ingress, issuer and profiles.")
    auth: AuthSpec = Field(default_factory=AuthSpec, description="Users, connector and oauth2-proxy settings.")
    gke: bool = Field(False, description="Whether the cluster is GKE.")
    cluster_kind: str = Field("local", description="The cluster kind (local, selfhosted, gke, eks, aks): picks the "
                                                   "gateway's load balancer annotations.")
    public_hosts: tuple[str, ...] = Field(
        (), description="Hosts that endpoints and apps serve without login (public: true)."
    )
    namespaces: dict[str, pulumi.Resource] = Field(
        default_factory=dict,
        description="The platform's namespaces (created by the platform layer), by Kubernetes name.")


class Platform(pulumi.ComponentResource):
    """cert-manager, Istio, Dex/oauth2-proxy, Knative, Kubeflow's applications and profiles.

    Attributes:
        components: Every component, resolved (what is installed, where, at which version).
        cert_manager, istio, auth, knative, apps, profiles: The parts (None when not installed).
        ingress_issuer: The ClusterIssuer of the ingress certificate (None without cert-manager).
        generated_passwords: Generated Dex passwords by e-mail (secret outputs).
        serving_ready: What serving endpoints and web apps wait for (issuers, mesh,
            login, Knative, KServe).
    """

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:platform:Platform", name, None, opts)
        spec = args.kubeflow
        components = resolve(spec)
        self.components: Mapping[str, ResolvedComponent] = components
        child = pulumi.ResourceOptions(parent=self)
        namespaces = tuple(args.namespaces.values())
        istio_ns = components["istio"].namespace
        tls = spec.ingress.effective_tls

        self.cert_manager = None
        self.ingress_issuer: str | None = None
        if components["cert_manager"].available:
            self.cert_manager = CertManager(f"{name}-cert-manager", CertManagerArgs(
                component=components["cert_manager"], issuer=spec.issuer, host=spec.ingress.host, tls=tls,
                gateway_namespace=istio_ns, after=namespaces), child)
            self.ingress_issuer = self.cert_manager.ingress_issuer
        issuers = tuple(self.cert_manager.ready) if self.cert_manager else ()

        self.istio = None
        # A namespace an upstream source creates (Knative's) exists only once that source is
        # installed, which waits for the mesh: its ALLOW policy is made after that source, below.
        allows = mesh_allows(spec, components, principal(istio_ns, INGRESS_SERVICE_ACCOUNT))
        created_later = tuple(a for a in allows if a.namespace not in args.namespaces)
        if components["istio"].available:
            proxy = components["oauth2_proxy"]
            self.istio = Istio(f"{name}-istio", IstioArgs(
                component=components["istio"], kubeflow_namespace=KUBEFLOW_NAMESPACE,
                cni_namespace=ISTIO_CNI_NAMESPACE, host=spec.ingress.host,
                tls_secret=(spec.issuer.secret if spec.issuer.kind == "existing-secret" else INGRESS_TLS_SECRET)
                if tls else None, acme_http01=spec.issuer.kind == "acme" and spec.issuer.dns is None,
                ext_authz=ExtAuthz(name=mesh_provider_name(args.auth), service=oauth2_proxy_service(proxy.namespace),
                                   port=OAUTH2_PROXY_PORT) if proxy.enabled else None,
                allows=tuple(a for a in allows if a not in created_later),
                gke=args.gke, service=gateway_service_values(spec.gateway, args.cluster_kind),
                after=namespaces), child)
        mesh = tuple(self.istio.ready) if self.istio else ()
        # Whatever authenticates (or nothing), the gateway refuses requests without a verified
        # token outside the login flow, ACME's challenges and the public hosts.
        self.guard = None
        if self.istio is not None:
            self.guard = GatewayGuard(f"{name}-gateway-guard", GatewayGuardArgs(
                namespace=istio_ns, selector=dict(INGRESS_LABELS), public_hosts=args.public_hosts,
                after=(*namespaces, *mesh)), child)
            mesh = (*mesh, *self.guard.ready)

        self.auth = None
        self.generated_passwords = {}
        if components["dex"].enabled or components["oauth2_proxy"].enabled:
            self.auth = Auth(f"{name}-auth", AuthArgs(
                dex=components["dex"], oauth2_proxy=components["oauth2_proxy"], settings=args.auth,
                istio_namespace=istio_ns, kubeflow_namespace=KUBEFLOW_NAMESPACE, host=spec.ingress.host, tls=tls,
                public_hosts=args.public_hosts, after=(*namespaces, *mesh)), child)
            self.generated_passwords = self.auth.generated_passwords

        self.knative = None
        if components["knative_serving"].enabled:
            self.knative = KnativeServing(f"{name}-knative", KnativeServingArgs(
                component=components["knative_serving"], istio_namespace=istio_ns, after=(*namespaces, *mesh)),
                child)

        if self.istio is not None:
            shipped = tuple(self.knative.ready) if self.knative else ()
            self.istio.ready += [allow_policy(f"{name}-istio-allow-{allow.namespace}", allow,
                                              after(self, mesh, shipped)) for allow in created_later]
            mesh = tuple(self.istio.ready)

        self.apps = KubeflowApps(f"{name}-apps", KubeflowAppsArgs(
            components=components, kserve_mode=spec.components.kserve.deployment_mode,
            knative=tuple(self.knative.ready) if self.knative else (), kubeflow_namespace=KUBEFLOW_NAMESPACE,
            istio_namespace=istio_ns, domain=spec.ingress.host, after=(*namespaces, *issuers, *mesh),
            protect_data=spec.protect_data, release=spec.release,
            notebook_culling=spec.components.notebooks.culling, rotate=spec.credentials.rotate,
            profiles=tuple(p.name for p in spec.profiles)), child)

        self.profiles = None
        if spec.profiles or components["profiles"].enabled:
            self.profiles = Profiles(f"{name}-profiles", ProfilesArgs(
                profiles=spec.profiles, namespaces={p.name: args.namespaces[p.name] for p in spec.profiles},
                controller=tuple(r for r in (self.apps.profiles,) if r is not None),
                roles=tuple(r for r in (self.apps.roles,) if r is not None), mesh=mesh,
                callers=(principal(istio_ns, INGRESS_SERVICE_ACCOUNT), principal(KUBEFLOW_NAMESPACE, KFP_UI_SERVICE_ACCOUNT)),
                protect=spec.protect_data), child)
        # Profiles whose notebooks may call KFP: its PodDefault (the CRD is the notebooks' webhook's).
        opted = tuple(p.name for p in spec.profiles if p.pipelines_access)
        if opted:
            declare_pipelines_access(f"{name}-profiles", opted, after(self, [args.namespaces[p] for p in opted],
                                                                      self.apps.installed.get("notebooks/poddefaults")))
        # What endpoints and apps wait for: certificates, the mesh and its gateway, login,
        # and KServe (with Knative). Depending on these, not on the whole platform, keeps
        # the dependency graph small (the SDK walks it for cycles on every edge).
        kserve = tuple(r for key, r in self.apps.installed.items() if key.startswith("kserve/"))
        knative = tuple(self.knative.ready) if self.knative else ()
        login = tuple(self.auth.ready) if self.auth else ()
        self.serving_ready: tuple[pulumi.Resource, ...] = (*issuers, *mesh, *login, *knative, *kserve)
        self.register_outputs({
            "release": spec.release,
            "installed": sorted(key for key, c in components.items() if c.enabled),
        })
