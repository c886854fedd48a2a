"""Exposure of endpoints and web apps: Istio routes, TLS from cert-manager, login, access.

An exposed workload gets, on a host from the stack file:

- a cert-manager ``Certificate`` for the host, in the ingress gateway's namespace (Istio
  reads a gateway's TLS secret from the namespace of the gateway's pods), awaited Ready;
- an Istio ``Gateway`` (HTTPS on 443 for that host only) and a ``VirtualService``
  routing it to the workload;
- unless the workload says ``public: true``, a ``CUSTOM`` ``AuthorizationPolicy`` on the
  gateway that sends every request for the host to the ext-authz provider (oauth2-proxy)
  first: no session, no request.

Every workload on a mesh also gets an ``ALLOW`` ``AuthorizationPolicy`` naming who may
call its pods (the gateway's identity, its own namespace and named caller namespaces),
which the platform's deny-by-default policy requires, and a ``NetworkPolicy`` letting
those namespaces through the namespace's default-deny ingress. No LoadBalancer Service
is made: the gateway is the only way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.components.mesh import GATEWAY_PODS
from mlplane.components.namespace import NAMESPACE_NAME_LABEL
from mlplane.core.naming import k8s_name
from mlplane.components.serving.spec import DnsLabel, Host

CERTIFICATE_API = "cert-manager.io/v1"
#: Served by every Istio release mlplane installs (1.17 to 1.29).
NETWORKING_API = "networking.istio.io/v1beta1"
SECURITY_API = "security.istio.io/v1beta1"

WAIT_READY = {"pulumi.com/waitFor": "condition=Ready"}


class GatewayRef(ArgsModel):
    """The Istio ingress gateway of the platform (from the platform layer's facts)."""

    namespace: DnsLabel = Field("istio-system", description="Namespace of the ingress gateway's pods.")
    selector: dict[str, str] = Field(
        default_factory=lambda: {"istio": "ingressgateway"},
        description="Labels of the ingress gateway's pods (Gateway and policy selectors).",
    )
    service_account: DnsLabel = Field(
        "istio-ingressgateway-service-account",
        description="ServiceAccount of the gateway's pods (its mesh identity; components/platform/istio.py: "
                    "INGRESS_SERVICE_ACCOUNT).",
    )
    trust_domain: str = Field("cluster.local", description="The mesh's trust domain.", min_length=1)

    @property
    def principal(self) -> str:
        """The gateway's identity as AuthorizationPolicy ``principals`` name it."""
        return f"{self.trust_domain}/ns/{self.namespace}/sa/{self.service_account}"


class IssuerRef(ArgsModel):
    """The cert-manager issuer that signs route certificates."""

    name: str = Field(description="Name of the issuer.", min_length=1)
    kind: Literal["ClusterIssuer", "Issuer"] = Field("ClusterIssuer", description="ClusterIssuer or Issuer.")


class LoginRoute(ArgsModel):
    """A path of the login flow served on every private host (oauth2-proxy's callback, Dex's pages)."""

    prefix: str = Field(description="Path prefix, e.g. /oauth2/.", pattern=r"^/[^*]*/$")
    host: str = Field(description="In-cluster host of the service that answers it.", min_length=1)
    port: int = Field(ge=1, le=65535, description="Its port.")


class Exposure(ArgsModel):
    """How a workload is reached from outside the cluster."""

    host: Host = Field(description="External host name, e.g. mnist.ml.example.com.")
    public: bool = Field(
        False,
        description="Serve without login. Default: false (oauth2-proxy login at the gateway is required).",
    )
    issuer: IssuerRef = Field(description="Issuer of the host's TLS certificate.")
    auth_provider: str | None = Field(
        None,
        description="Name of the mesh's ext-authz provider (oauth2-proxy) that logs users in; required "
                    "unless public.",
    )
    users: tuple[str, ...] = Field(
        (), description="E-mail addresses (token email claim) that may call the host; with groups empty too, "
                        "no audience check (the stack layer fills in the host's profile's members, or the stack "
                        "opted into any_account).")
    groups: tuple[str, ...] = Field((), description="Groups (token groups claim) that may call the host.")
    login_routes: tuple[LoginRoute, ...] = Field(
        (),
        description="Login paths routed on a private host, so the login flow completes on it (oauth2-proxy's "
                    "/oauth2/ callback, Dex's /dex/ pages); they skip the login check.",
    )

    @model_validator(mode="after")
    def _login_unless_public(self) -> "Exposure":
        if not self.public and not self.auth_provider:
            raise ValueError(
                f"host {self.host!r} requires login, but no ext-authz provider (oauth2-proxy) is given; "
                "pass auth_provider, or set public: true explicitly"
            )
        return self

    @property
    def external_url(self) -> str:
        """The URL users open."""
        return f"https://{self.host}"


@dataclass(frozen=True)
class RouteTarget:
    """Where the gateway sends an exposed host's requests.

    Attributes:
        host: In-cluster host of the destination Service.
        port: Its port.
        authority: Host header to send instead of the external host (Knative routes by
            it), or None to keep it.
    """

    host: str
    port: int
    authority: str | None = None


def tls_secret_name(host: str) -> str:
    """The TLS secret of a host, in the gateway's namespace: named after the host, which only
    one route may serve, so it is unique there and stays put when the workload moves."""
    return k8s_name(host, "tls")


def certificate_body(exposure: Exposure, gateway: GatewayRef) -> dict[str, Any]:
    """The cert-manager Certificate of an exposed host (in the gateway's namespace)."""
    secret = tls_secret_name(exposure.host)
    return {
        "apiVersion": CERTIFICATE_API,
        "kind": "Certificate",
        "metadata": {"name": secret, "namespace": gateway.namespace, "annotations": dict(WAIT_READY)},
        "spec": {
            "secretName": secret,
            "dnsNames": [exposure.host],
            "issuerRef": {"name": exposure.issuer.name, "kind": exposure.issuer.kind, "group": "cert-manager.io"},
        },
    }


def gateway_body(name: str, namespace: str, exposure: Exposure, gateway: GatewayRef) -> dict[str, Any]:
    """The Istio Gateway: HTTPS on 443 for the host, with the certificate's secret."""
    return {
        "apiVersion": NETWORKING_API,
        "kind": "Gateway",
        "metadata": {"name": k8s_name(name, "gateway"), "namespace": namespace},
        "spec": {
            "selector": dict(gateway.selector),
            "servers": [{
                "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                "hosts": [exposure.host],
                "tls": {"mode": "SIMPLE", "credentialName": tls_secret_name(exposure.host)},
            }],
        },
    }


def virtual_service_body(name: str, namespace: str, exposure: Exposure, target: RouteTarget) -> dict[str, Any]:
    """The VirtualService binding the host on the Gateway to the workload's Service."""
    route: dict[str, Any] = {"route": [{"destination": {"host": target.host, "port": {"number": target.port}}}]}
    if target.authority:
        route["rewrite"] = {"authority": target.authority}
    login = [] if exposure.public else [
        {"match": [{"uri": {"prefix": r.prefix}}], "route": [{"destination": {"host": r.host, "port": {"number": r.port}}}]}
        for r in exposure.login_routes
    ]
    return {
        "apiVersion": NETWORKING_API,
        "kind": "VirtualService",
        "metadata": {"name": k8s_name(name, "route"), "namespace": namespace},
        "spec": {
            "hosts": [exposure.host],
            "gateways": [f"{namespace}/{k8s_name(name, 'gateway')}"],
            "http": [*login, route],
        },
    }


def _host_policy(exposure: Exposure, gateway: GatewayRef, role: str, action: str,
                 rule: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """An AuthorizationPolicy on the gateway for the host's requests (outside the login flow)."""
    return {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": k8s_name(exposure.host, role), "namespace": gateway.namespace},
        "spec": {
            "selector": {"matchLabels": dict(gateway.selector)},
            "action": action,
            **spec,
            "rules": [{"to": [{"operation": _login_operation(exposure)}], **rule}],
        },
    }


def login_policy_body(exposure: Exposure, gateway: GatewayRef) -> dict[str, Any]:
    """The gateway's CUSTOM policy: requests for the host go through the ext-authz login first."""
    return _host_policy(exposure, gateway, "login", "CUSTOM", {}, provider={"name": exposure.auth_provider})


def audience_policy_body(exposure: Exposure, gateway: GatewayRef) -> dict[str, Any]:
    """The gateway's DENY for a host with an audience: a verified token of someone else is refused.

    Conditions of one rule are ANDed (istio.io "Authorization Policy", Rule): refused when
    the token's ``email`` is none of ``users`` *and* its ``groups`` none of ``groups``; a claim
    the token lacks matches ``notValues`` (Envoy RBAC negates the claim matcher). The login
    flow's own paths stay open (the gateway's DENY of unauthenticated requests guards them).
    """
    when: list[dict[str, Any]] = []
    if exposure.users:
        when.append({"key": "request.auth.claims[email]", "notValues": sorted(exposure.users)})
    if exposure.groups:
        when.append({"key": "request.auth.claims[groups]", "notValues": sorted(exposure.groups)})
    return _host_policy(exposure, gateway, "audience", "DENY", {"when": when})


def _login_operation(exposure: Exposure) -> dict[str, Any]:
    # Host headers may carry the port; match both forms. The login flow's own paths
    # must reach oauth2-proxy and Dex without a session.
    operation: dict[str, Any] = {"hosts": [exposure.host, f"{exposure.host}:*"]}
    if exposure.login_routes:
        operation["notPaths"] = [f"{r.prefix}*" for r in exposure.login_routes]
    return operation


@dataclass(frozen=True)
class Serverless:
    """Knative's two forwarders in front of a serverless endpoint's revisions.

    Requests reach a revision through Knative's local gateway (``knative-local-gateway`` in
    Istio's namespace, port 8081: kubeflow/manifests common/knative/knative-serving/base/upstream/
    net-istio.yaml on both trains) and, while it scales from zero, the activator, so the
    revision sees their identities, never the caller's. mlplane keeps the caller's
    ``allow_from`` at each hop instead:

    - the local gateway's listener is Istio mutual TLS (upstream's plain ``HTTP`` server is
      switched by components/platform/local_gateway.py), so it knows the caller: a DENY on it
      refuses the endpoint's hosts to anyone but the endpoint's namespace, its callers, the
      ingress gateway when exposed, and itself; a NetworkPolicy also lets only those
      namespaces reach its port (plus the ingress gateway, in its namespace);
    - the activator is meshed (mutual TLS), so it does know the caller: a DENY on it refuses
      requests for the endpoint's revisions (the ``knative-serving-namespace`` and
      ``knative-serving-revision`` headers net-istio sets and the activator routes by:
      knative/serving pkg/activator/handler/handler.go) from anyone but the local gateway and the
      endpoint's callers;
    - the revision's ALLOW names the two forwarders' principals, not their namespaces.

    Attributes:
        istio_namespace: Where the local gateway runs.
        knative_namespace: Where the activator runs.
        local_gateway_account: The local gateway's ServiceAccount.
        activator_account: The activator's ServiceAccount.
        local_gateway_port: The local gateway's listener port.
    """

    istio_namespace: str = "istio-system"
    knative_namespace: str = "knative-serving"
    local_gateway_account: str = "cluster-local-gateway-service-account"
    activator_account: str = "activator"
    local_gateway_port: int = 8081

    def principals(self, trust_domain: str = "cluster.local") -> list[str]:
        """The forwarders' identities, as AuthorizationPolicy principals."""
        return [f"{trust_domain}/ns/{self.istio_namespace}/sa/{self.local_gateway_account}",
                f"{trust_domain}/ns/{self.knative_namespace}/sa/{self.activator_account}"]


LOCAL_GATEWAY_PODS = {"matchLabels": {"istio": "cluster-local-gateway"}}
ACTIVATOR_PODS = {"matchLabels": {"app": "activator"}}


def allow_policy_body(
    name: str, namespace: str, pod_labels: dict[str, str], gateway: GatewayRef | None, callers: tuple[str, ...],
    serverless: Serverless | None = None,
) -> dict[str, Any]:
    """The workload's ALLOW policy: the gateway's identity, its own namespace, named callers, Knative's forwarders."""
    rules: list[dict[str, Any]] = []
    if gateway is not None:
        rules.append({"from": [{"source": {"principals": [gateway.principal]}}]})
    if serverless is not None:
        rules.append({"from": [{"source": {"principals": serverless.principals(
            gateway.trust_domain if gateway else "cluster.local")}}]})
    rules.append({"from": [{"source": {"namespaces": sorted({namespace, *callers})}}]})
    return {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": k8s_name(name, "allow"), "namespace": namespace},
        "spec": {"selector": {"matchLabels": dict(pod_labels)}, "action": "ALLOW", "rules": rules},
    }


def _namespace_peer(namespace: str, pods: dict[str, Any] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}
    if pods:
        peer["podSelector"] = dict(pods)
    return peer


def network_policy_body(name: str, namespace: str, pod_labels: dict[str, str], callers: tuple[str, ...],
                        forwarders: tuple[tuple[str, dict[str, Any]], ...] = ()) -> dict[str, Any]:
    """A NetworkPolicy letting the callers' namespaces and the named forwarder pods reach the workload's pods."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": k8s_name(name, "callers"), "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": dict(pod_labels)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [
                *(_namespace_peer(caller) for caller in sorted(callers)),
                *(_namespace_peer(ns, pods) for ns, pods in forwarders),
            ]}],
        },
    }


def local_gateway_policy_body(name: str, namespace: str, callers: tuple[str, ...],
                              serverless: Serverless) -> dict[str, Any]:
    """The NetworkPolicy opening Knative's local gateway to the endpoint's namespace and callers only."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": k8s_name(namespace, name, "local-gateway"), "namespace": serverless.istio_namespace},
        "spec": {
            "podSelector": dict(LOCAL_GATEWAY_PODS),
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_namespace_peer(ns) for ns in sorted({namespace, *callers})],
                         "ports": [{"port": serverless.local_gateway_port, "protocol": "TCP"}]}],
        },
    }


#: Knative's route tags: KServe tags a canary's revisions ``prev`` and ``latest`` (kserve/kserve
#: ``pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go``), served as
#: ``<tag>-<service>`` hosts (Knative's default ``tag-template``, ``{{.Tag}}-{{.Name}}``).
ROUTE_TAGS = ("", "latest-", "prev-")


def serverless_hosts(name: str, namespace: str) -> list[str]:
    """Every Host a request for the serverless endpoint ``name`` can carry at the local gateway.

    net-istio serves a Knative Service under ``<svc>.<ns>``, ``<svc>.<ns>.svc`` and
    ``<svc>.<ns>.svc.cluster.local`` (``ExpandedHosts``, knative-extensions/net-istio
    ``pkg/reconciler/ingress/resources/virtual_service.go``), for the predictor
    ``<name>-predictor`` and its route tags; KServe adds ``<name>.<ns>.svc.cluster.local``
    (and the shorter forms) routed back through the local gateway. Istio matches ``hosts``
    case-insensitively and literally, so each comes also with any port (``host:*``;
    istio.io "Authorization Policy", Operation.hosts; istio/istio ``pilot/pkg/security/authz/
    model/generator.go``, ``hostGenerator``).
    """
    services = [f"{tag}{name}-predictor" for tag in ROUTE_TAGS] + [name]
    hosts = [f"{svc}.{suffix}" for svc in services for suffix in (namespace, f"{namespace}.svc",
                                                                      f"{namespace}.svc.cluster.local")]
    return [form for host in hosts for form in (host, f"{host}:*")]


def local_gateway_authz_body(name: str, namespace: str, callers: tuple[str, ...], serverless: Serverless,
                             gateway: GatewayRef | None, trust_domain: str = "cluster.local") -> dict[str, Any]:
    """The DENY on Knative's local gateway: the endpoint's hosts only for its callers.

    The local gateway's listener is Istio mutual TLS (components/platform/local_gateway.py),
    so it sees each caller's principal. Refused: a request for one of the endpoint's hosts
    from a principal outside the endpoint's namespace and ``callers``, unless it is the
    ingress gateway (only when the endpoint is exposed) or the local gateway itself (KServe's
    ``<name>.<ns>`` route comes back through it, after this check on its first pass). A DENY,
    so upstream's allow-all ALLOW on the gateway (``cluster-local-gateway``) cannot undo it.
    """
    exempt = [serverless.principals(trust_domain)[0], *([gateway.principal] if gateway is not None else [])]
    return {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": k8s_name(namespace, name, "callers-only"), "namespace": serverless.istio_namespace},
        "spec": {
            "selector": dict(LOCAL_GATEWAY_PODS),
            "action": "DENY",
            "rules": [{
                "from": [{"source": {"notPrincipals": exempt, "notNamespaces": sorted({namespace, *callers})}}],
                "to": [{"operation": {"hosts": serverless_hosts(name, namespace)}}],
            }],
        },
    }


def activator_policy_body(name: str, namespace: str, callers: tuple[str, ...], serverless: Serverless,
                          trust_domain: str = "cluster.local") -> dict[str, Any]:
    """The DENY on Knative's activator: the endpoint's revisions only for its callers and the local gateway."""
    return {
        "apiVersion": SECURITY_API,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": k8s_name(namespace, name, "callers-only"), "namespace": serverless.knative_namespace},
        "spec": {
            "selector": {"matchLabels": dict(ACTIVATOR_PODS["matchLabels"])},
            "action": "DENY",
            "rules": [{
                "from": [{"source": {
                    "notPrincipals": [serverless.principals(trust_domain)[0]],
                    "notNamespaces": sorted({namespace, *callers}),
                }}],
                "when": [{"key": "request.headers[knative-serving-namespace]", "values": [namespace]},
                         {"key": "request.headers[knative-serving-revision]", "values": [f"{name}-*"]}],
            }],
        },
    }


def _custom(name: str, body: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        name,
        api_version=body["apiVersion"],
        kind=body["kind"],
        metadata=body["metadata"],
        spec=body["spec"],
        opts=opts,
    )


def declare_access(
    name: str,
    base: str,
    namespace: str,
    pod_labels: dict[str, str],
    *,
    gateway: GatewayRef | None,
    callers: tuple[str, ...],
    exposed: bool,
    opts: pulumi.ResourceOptions,
    serverless: Serverless | None = None,
) -> list[pulumi.Resource]:
    """Let the workload's callers in: NetworkPolicy for other namespaces, mesh ALLOW policy.

    Args:
        name: The owning component's name (children are ``f"{name}-<role>"``).
        base: The workload's Kubernetes name (objects are ``<base>-<role>``).
        namespace: The workload's namespace.
        pod_labels: Labels selecting the workload's pods.
        gateway: The mesh's ingress gateway, or None when the stack has no Istio.
        callers: Other namespaces whose pods call the workload.
        exposed: Whether the gateway routes to the workload (its pods are let in).
        opts: Options of the children (parent, depends_on).
        serverless: Knative's forwarders, when the workload is a serverless endpoint (see
            :class:`Serverless`); None otherwise.

    Returns:
        The resources made.
    """
    made: list[pulumi.Resource] = []
    outside = tuple(sorted({c for c in callers if c != namespace}))
    forwarders: list[tuple[str, dict[str, Any]]] = []
    if exposed and gateway is not None and serverless is None:
        forwarders.append((gateway.namespace, {"matchLabels": dict(gateway.selector)}))
    if serverless is not None:
        forwarders += [(serverless.istio_namespace, dict(GATEWAY_PODS)),
                       (serverless.knative_namespace, dict(ACTIVATOR_PODS))]
    if outside or forwarders:
        body = network_policy_body(base, namespace, pod_labels, outside, tuple(forwarders))
        made.append(k8s.networking.v1.NetworkPolicy(
            f"{name}-callers", metadata=body["metadata"], spec=body["spec"], opts=opts))
    if gateway is not None:
        body = allow_policy_body(base, namespace, pod_labels, gateway if exposed else None, tuple(callers),
                                 serverless)
        made.append(_custom(f"{name}-allow", body, opts))
    if serverless is not None:
        body = local_gateway_policy_body(base, namespace, outside, serverless)
        made.append(k8s.networking.v1.NetworkPolicy(
            f"{name}-local-gateway", metadata=body["metadata"], spec=body["spec"], opts=opts))
        made.append(_custom(f"{name}-local-gateway-callers", local_gateway_authz_body(
            base, namespace, outside, serverless, gateway if exposed else None,
            gateway.trust_domain if gateway else "cluster.local"), opts))
        made.append(_custom(f"{name}-activator-callers", activator_policy_body(
            base, namespace, outside, serverless, gateway.trust_domain if gateway else "cluster.local"), opts))
    return made


@dataclass(frozen=True)
class Route:
    """What :func:`declare_route` made."""

    certificate: k8s.apiextensions.CustomResource
    gateway: k8s.apiextensions.CustomResource
    virtual_service: k8s.apiextensions.CustomResource
    login_policy: k8s.apiextensions.CustomResource | None


def declare_route(
    name: str,
    base: str,
    namespace: str,
    exposure: Exposure,
    gateway: GatewayRef,
    target: RouteTarget,
    opts: pulumi.ResourceOptions,
) -> Route:
    """Declare the certificate, Gateway, VirtualService and (unless public) login policy.

    ``name`` is the owning component's name (children are ``f"{name}-<role>"``), ``base``
    the workload's Kubernetes name (objects are ``<base>-<role>``).

    The Gateway waits for the certificate (it serves the certificate's secret), the
    VirtualService for the Gateway; the login policy exists before the route does, so
    the host is never reachable without login, not even for a moment.
    """
    certificate = _custom(f"{name}-certificate", certificate_body(exposure, gateway), opts)
    login = None
    first: list[pulumi.Resource] = [certificate]
    if not exposure.public:
        login = _custom(f"{name}-login", login_policy_body(exposure, gateway), opts)
        first.append(login)
        if exposure.users or exposure.groups:
            first.append(_custom(f"{name}-audience", audience_policy_body(exposure, gateway), opts))
    gateway_resource = _custom(f"{name}-gateway", gateway_body(base, namespace, exposure, gateway),
                               pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=first)))
    virtual_service = _custom(
        f"{name}-route", virtual_service_body(base, namespace, exposure, target),
        pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[gateway_resource, *first])),
    )
    return Route(certificate=certificate, gateway=gateway_resource, virtual_service=virtual_service,
                 login_policy=login)
