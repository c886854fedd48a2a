"""``Istio``: the mesh (base, CNI, istiod, ingress gateway) and its security policy.

Security policy, mesh-wide (in Istio's root namespace):

- ``PeerAuthentication default``: mutual TLS STRICT for every meshed workload.
- ``AuthorizationPolicy global-deny-all`` (empty spec): nothing is allowed unless an
  ALLOW policy says so. Upstream Kubeflow components bring their own ALLOW policies;
  mlplane adds the ones the platform itself needs: anyone may reach the ingress gateway
  (whose own DENY then refuses requests without a verified login:
  components/platform/gateway_guard.py), and the login flow's namespaces admit the
  identities that call them (:class:`MeshAllow`); no policy admits a namespace as a whole.

Custom resources wait for istiod: its validating webhook checks them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
from pydantic import Field

from mlplane.components.charts import minor_version
from mlplane.components.base import ArgsModel
from mlplane.components.platform.acme_http import HTTP_GATEWAY, HTTPS_REDIRECT, redirect_routes
from mlplane.components.platform.install import PartArgs, after, custom_resource, install_source
from mlplane.components.platform.resolve import ResolvedComponent

SECURITY_API = "security.istio.io/v1beta1"
NETWORKING_API = "networking.istio.io/v1beta1"

#: The ingress gateway's name and labels (what kubeflow/manifests' objects select).
INGRESS_GATEWAY = "istio-ingressgateway"
INGRESS_LABELS = {"app": INGRESS_GATEWAY, "istio": "ingressgateway"}
#: The ServiceAccount the ingress gateway runs as: the identity every kubeflow/manifests
#: AuthorizationPolicy and the profile controller's ``ISTIO_INGRESS_GATEWAY_PRINCIPAL`` name
#: (``cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account``: kubeflow/manifests
#: v1.8.1 apps/profiles/upstream/manager/kustomization.yaml, 26.03
#: applications/profiles/upstream/manager/kustomization.yaml and every web app's
#: authorization policy). Istio's gateway chart would name it after
#: the release (``gateway.serviceAccountName`` in templates/_helpers.tpl, 1.17.3 and 1.29.0),
#: which none of them match.
INGRESS_SERVICE_ACCOUNT = "istio-ingressgateway-service-account"
#: The Istio Gateway every Kubeflow VirtualService binds to (``<namespace>/<name>``).
KUBEFLOW_GATEWAY = "kubeflow-gateway"
#: Where GKE nodes keep CNI binaries (``/opt`` is read-only on Container-Optimized OS).
GKE_CNI_BIN_DIR = "/home/kubernetes/bin"


class MeshAllow(ArgsModel):
    """An ALLOW policy: workloads in ``namespace`` accept requests from the workloads ``principals`` name."""

    namespace: str = Field(description="Namespace whose workloads the policy covers.")
    name: str = Field(description="The policy's name.")
    principals: tuple[str, ...] = Field(description="Mesh identities (cluster.local/ns/<ns>/sa/<sa>) that may call.")


class ExtAuthz(ArgsModel):
    """The external authorizer (oauth2-proxy) istiod registers as a mesh extension provider."""

    name: str = Field(description="Provider name that CUSTOM authorization policies refer to.")
    service: str = Field(description="The authorizer's service host (FQDN).")
    port: int = Field(description="The authorizer's service port.")


class IstioArgs(PartArgs):
    """Arguments of :class:`Istio`."""

    component: ResolvedComponent = Field(description="Istio as resolved from the release train.")
    kubeflow_namespace: str = Field("kubeflow", description="Where the kubeflow-gateway Gateway lives.")
    cni_namespace: str = Field("istio-cni", description="Namespace of the CNI node agent (privileged).")
    host: str | None = Field(None, description="Host the gateway serves (None: any).")
    tls_secret: str | None = Field(None, description="Secret with the ingress certificate (None: plain HTTP).")
    acme_http01: bool = Field(False, description="Whether an ACME HTTP-01 solver answers on port 80 (its path is "
                                                 "not redirected to HTTPS).")
    ext_authz: ExtAuthz | None = Field(None, description="The login proxy to register in the mesh config.")
    allows: tuple[MeshAllow, ...] = Field((), description="ALLOW policies of the platform's namespaces.")
    gke: bool = Field(False, description="Whether the cluster is GKE (CNI binaries live elsewhere there).")
    service: dict[str, Any] = Field(
        default_factory=lambda: {"type": "ClusterIP"},
        description="The gateway chart's `service` values (components.platform.gateway.gateway_service_values).")


def extension_provider(ext_authz: ExtAuthz) -> dict[str, Any]:
    """The mesh config entry (``meshConfig.extensionProviders[]``) that registers the login proxy.

    istiod's chart puts it in the mesh config; a cluster's existing Istio needs the same
    entry in its own mesh config (``mlplane preview`` prints it).
    """
    return {
        "name": ext_authz.name,
        "envoyExtAuthzHttp": {
            "service": ext_authz.service,
            "port": ext_authz.port,
            "includeRequestHeadersInCheck": ["authorization", "cookie"],
            "headersToUpstreamOnAllow": ["authorization", "path", "x-auth-request-email",
                                         "x-auth-request-groups", "x-auth-request-user"],
            "headersToDownstreamOnDeny": ["content-type", "set-cookie"],
        },
    }


#: The seccomp profile Pod Security `restricted` accepts (besides Localhost).
RUNTIME_DEFAULT_SECCOMP = {"type": "RuntimeDefault"}


def gateway_pod_security() -> dict[str, Any]:
    """The gateway chart's pod ``securityContext``: its own default plus a RuntimeDefault seccomp profile.

    The chart writes ``.Values.securityContext`` instead of its default (the
    ``net.ipv4.ip_unprivileged_port_start=0`` sysctl that lets the proxy bind ports below
    1024 as user 1337), so the sysctl is repeated (gateway-1.17.3 and gateway-1.29.0
    ``templates/deployment.yaml``; 1.17 sets it only from Kubernetes 1.22, which every
    supported cluster is). kubeflow/manifests 26.03 sets the same profile on the gateway
    (common/istio/istio-install/base/patches/seccomp-istio-ingressgateway.yaml); at pod
    level it covers the containers istiod's injector adds too.
    """
    return {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
            "seccompProfile": dict(RUNTIME_DEFAULT_SECCOMP)}


def chart_values(role: str, args: IstioArgs, version: str) -> dict[str, Any]:
    """mlplane's values for one Istio chart at ``version``."""
    platform = {"global": {"platform": "gke"}} if args.gke else {}
    if role == "cni":
        cni: dict[str, Any] = {"excludeNamespaces": ["kube-system"]}
        if not args.gke:
            return {"cni": cni}
        # Neither chart derives GKE's folder from values alone (rendered in
        # tests/test_upstream_behaviours.py): 1.17 reads `cni.cniBinDir` and otherwise
        # guesses from the cluster's version string (cni-1.17.3/templates/daemonset.yaml);
        # 1.29 reads a top-level `cniBinDir` defaulting to /opt/cni/bin, which its gke
        # platform profile does not change (cni-1.29.0/files/profile-platform-gke.yaml blanks
        # `cni.cniBinDir` only). Both keys are set, so either chart gets GKE's folder.
        return {**platform, "cni": {**cni, "cniBinDir": GKE_CNI_BIN_DIR}, "cniBinDir": GKE_CNI_BIN_DIR}
    if role == "istiod":
        mesh: dict[str, Any] = {"accessLogFile": "/dev/stdout"}
        if args.ext_authz is not None:
            mesh["extensionProviders"] = [extension_provider(args.ext_authz)]
        # CNI on: injected pods need no privileged istio-init container. The injector
        # reads it from the chart's top-level `istio_cni` in 1.17 (istio/istio 1.17.3
        # manifests/charts/istio-control/istio-discovery/templates/istiod-injector-configmap.yaml:
        # `pick .Values "global" "istio_cni" ...`) and from the top-level `cni` in 1.29
        # (same file at 1.29.0: `pick .Values "cni" "env"` handed over as `pilot`); a
        # `pilot.cni` value is read by neither. Proven on both charts by
        # tests/test_upstream_sources.py.
        cni_key = "istio_cni" if minor_version(version) < 29 else "cni"
        # istio-system is Pod Security `restricted`, which refuses a pod whose containers set
        # no seccompProfile; neither chart sets one by default. kubeflow/manifests 26.03 patches
        # istiod's `discovery` container the same way (common/istio/istio-install/base/patches/
        # seccomp-istiod.yaml). The chart reads `.Values.seccompProfile` in 1.29 and
        # `.Values.pilot.seccompProfile` in 1.17 (istiod-<version>/templates/deployment.yaml).
        seccomp = {"seccompProfile": dict(RUNTIME_DEFAULT_SECCOMP)}
        profile = {"pilot": seccomp} if minor_version(version) < 29 else seccomp
        return {**platform, "meshConfig": mesh, cni_key: {"enabled": True}, **profile}
    if role == "gateway":
        return {"name": INGRESS_GATEWAY, "labels": dict(INGRESS_LABELS), "service": dict(args.service),
                "serviceAccount": {"name": INGRESS_SERVICE_ACCOUNT}, "securityContext": gateway_pod_security()}
    return {"defaultRevision": "default"}


class Istio(pulumi.ComponentResource):
    """Istio (unless the cluster has one), mesh-wide mTLS and deny-by-default policy.

    Attributes:
        charts: The charts by role (empty when the cluster's Istio is used).
        ready: Depend on this before creating Istio resources or meshed workloads.
        gateway: The ``kubeflow-gateway`` Gateway.
    """

    def __init__(self, name: str, args: IstioArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:platform:Istio", name, None, opts)
        component = args.component
        namespace = component.namespace
        self.charts: dict[str, pulumi.Resource] = {}
        if component.enabled:
            previous: list[pulumi.Resource] = []
            for source in component.sources:
                # base (CRDs) -> cni (before any injected pod) -> istiod -> gateway.
                chart_opts = after(self, args.after, previous)
                # The CNI node agent is privileged; it gets a namespace of its own.
                target = replace(component, namespace=args.cni_namespace) if source.role == "cni" else component
                values = chart_values(source.role, args, source.version)
                chart = install_source(f"{name}-{source.role}", target, source, values,
                                       chart_opts)
                self.charts[source.role] = chart
                previous = [chart]
        control_plane = [self.charts[r] for r in ("base", "istiod") if r in self.charts]
        policy = after(self, args.after, control_plane)

        peer = custom_resource(f"{name}-mtls", SECURITY_API, "PeerAuthentication",
                               {"name": "default", "namespace": namespace}, {"mtls": {"mode": "STRICT"}}, policy)
        deny = custom_resource(f"{name}-deny-all", SECURITY_API, "AuthorizationPolicy",
                               {"name": "global-deny-all", "namespace": namespace}, {}, policy)
        allows = [custom_resource(f"{name}-allow-ingress", SECURITY_API, "AuthorizationPolicy",
                                  {"name": INGRESS_GATEWAY, "namespace": namespace},
                                  {"action": "ALLOW", "selector": {"matchLabels": dict(INGRESS_LABELS)},
                                   "rules": [{}]}, policy)]
        allows += [allow_policy(f"{name}-allow-{allow.namespace}", allow, policy) for allow in args.allows]

        http = {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": [args.host or "*"]}
        selector = {"istio": INGRESS_LABELS["istio"]}
        gateway_opts = after(self, args.after, control_plane, self.charts.get("gateway"))
        # With TLS, every route of the platform binds to 443 only; port 80 is a Gateway of its
        # own whose one VirtualService redirects to HTTPS, all but ACME's challenge path
        # (components/platform/acme_http.py: why not tls.httpsRedirect).
        servers = [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": [args.host or "*"],
                    "tls": {"mode": "SIMPLE", "credentialName": args.tls_secret}}] if args.tls_secret else [http]
        self.gateway = custom_resource(
            f"{name}-kubeflow-gateway", NETWORKING_API, "Gateway",
            {"name": KUBEFLOW_GATEWAY, "namespace": args.kubeflow_namespace},
            {"selector": selector, "servers": servers}, gateway_opts)
        redirect: list[pulumi.Resource] = []
        if args.tls_secret:
            port80 = custom_resource(f"{name}-http-gateway", NETWORKING_API, "Gateway",
                                     {"name": HTTP_GATEWAY, "namespace": args.kubeflow_namespace},
                                     {"selector": selector, "servers": [http]}, gateway_opts)
            redirect = [port80, custom_resource(
                f"{name}-https-redirect", NETWORKING_API, "VirtualService",
                {"name": HTTPS_REDIRECT, "namespace": args.kubeflow_namespace},
                {"hosts": [args.host or "*"], "gateways": [f"{args.kubeflow_namespace}/{HTTP_GATEWAY}"],
                 "http": redirect_routes(args.acme_http01)}, after(self, port80))]
        self.ready: list[pulumi.Resource] = [*self.charts.values(), peer, deny, *allows, self.gateway, *redirect]
        self.register_outputs({"gateway": f"{args.kubeflow_namespace}/{KUBEFLOW_GATEWAY}"})


def allow_policy(resource_name: str, allow: MeshAllow, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """The AuthorizationPolicy that lets ``allow.principals`` reach the workloads of ``allow.namespace``.

    ``opts`` must make it wait for its namespace (the API server refuses it in a namespace
    that does not exist yet) and for Istio's CRDs.
    """
    return custom_resource(
        resource_name, SECURITY_API, "AuthorizationPolicy", {"name": allow.name, "namespace": allow.namespace},
        {"action": "ALLOW", "rules": [{"from": [{"source": {"principals": list(allow.principals)}}]}]}, opts)
