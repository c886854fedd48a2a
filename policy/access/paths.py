"""A request's way through the cluster, hop by hop, each hop judged by its destination.

A hop from a source (a workload's pod, or a client outside the cluster) to a workload's
pod port is allowed when: NetworkPolicy lets the connection open (netpol.py); and, at a
destination with an Envoy (a sidecar or a gateway), mutual TLS admits the source
(mtls.py) and the HTTP filters pass it: CUSTOM, the JWT filter, DENY, ALLOW (authz.py,
jwt.py). A destination without Envoy enforces no Istio policy at all.

A gateway routes what it admitted (routing.py) and opens the next hop with its own
identity, carrying the request's headers as its filters left them. A Service marked
with :data:`VIA` (Knative's revision Services, runtime.py) is reached through the
workload named there (Knative's activator), which then opens the last hop itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mlplane.policy.access import authz, jwt, lua_filters, mtls, netpol, oauth2_proxy, routing
from mlplane.policy.access.cluster import Cluster, Service, Workload
from mlplane.policy.access.request import Http, Peer, Verdict, allow, deny

#: Annotation (set on synthesized Services) naming the ``namespace/workload`` that proxies to it.
VIA = "access.mlplane.dev/via"


@dataclass
class World:
    """The cluster and the credentials in circulation."""

    cluster: Cluster
    tokens: jwt.Tokens = field(default_factory=jwt.Tokens)
    sessions: oauth2_proxy.Sessions = field(default_factory=oauth2_proxy.Sessions)
    via: dict[tuple[str, str], str] = field(default_factory=dict)
    s3_policies: dict[str, list[str]] = field(default_factory=dict)
    #: MinIO users the plan declares (components/credentials/profile_identities.py): access key ->
    #: (namespace, policy document).
    minio_users: dict[str, tuple[str, dict]] = field(default_factory=dict)
    #: Who answers at 169.254.169.254: None (the cloud's instance metadata) or "gke" (GKE's metadata server).
    metadata_server: str | None = None

    def __post_init__(self) -> None:
        self.providers = oauth2_proxy.mesh_providers(self.cluster)
        self.domains = oauth2_proxy.email_domains(self.cluster)


def hop(world: World, source: Workload | None, target: Workload, port: int, http: Http,
        address: str = "203.0.113.7") -> tuple[Verdict, Http]:
    """One connection and request from ``source`` (None: the outside ``address``) to ``target``."""
    cluster = world.cluster
    http = replace(http, port=port)  # Istio's `ports` and the gateway's servers see the pod's port
    opened = netpol.connect(cluster, netpol.Endpoint(source, None if source else address),
                            netpol.Endpoint(target), port)
    if not opened:
        return opened, http
    if not target.proxied:
        return allow(f"{target.key} has no Envoy: no Istio policy applies ({opened.reason})"), http
    principal = None
    if target.gateway and source is None:
        pass  # a client outside the mesh talks to a gateway's listener: no PeerAuthentication
    elif target.gateway:
        principal, refused = mtls.gateway_listener(cluster, source, target, port)
        if refused is not None:
            return deny(refused), http
    else:
        mode, decided_by = mtls.mode(cluster, target, port)
        if source is not None and source.proxied and mode != "DISABLE":
            principal = source.principal
        elif mode == "STRICT":
            return deny(f"{decided_by}: STRICT mTLS refuses plaintext from "
                        f"{source.key if source else 'outside the mesh'}"), http
    if target.gateway:  # its Lua filters come first in the HTTP chain (INSERT_FIRST)
        http, answered = lua_filters.on_request(cluster, target, http)
        if answered is not None:
            return deny(f"EnvoyFilter {answered.filter} (Lua) at {target.key} answers {answered.status}: "
                        f"{answered.body}"), http
    peer = Peer(principal, netpol.POD_ADDRESS if source else address)
    ctx = authz.Context(peer, http)
    verdict, http = authz.custom(cluster, target, ctx, world.providers, lambda name, h: oauth2_proxy.decide(
        world.providers[name], h, world.sessions, world.tokens, world.domains))
    if verdict is not None and not verdict:
        return verdict, http
    outcome = jwt.authenticate(cluster, target, http, world.tokens)
    if outcome.status == "invalid":
        return deny(f"JWT filter at {target.key}: {outcome.reason}"), http
    decided = authz.local(cluster, target, authz.Context(peer, outcome.http, outcome.principal, outcome.claims))
    return decided, outcome.http


def _activator_revision(http: Http) -> tuple[str, str]:
    """The revision Knative's activator serves a request for: ``(namespace, name)``.

    Its ``Knative-Serving-Namespace`` and ``Knative-Serving-Revision`` headers (set by the
    route, knative/serving ``pkg/reconciler/route/resources/ingress.go``), else a Host
    ``<revision>.<namespace>.svc.cluster.local``; knative/serving ``pkg/activator/handler/
    context_handler.go`` at knative-v1.10.2 and knative-v1.21.1 (an unknown revision is a 404).
    """
    namespace, name = http.header("knative-serving-namespace"), http.header("knative-serving-revision")
    if not namespace or not name:
        parts = http.host.split(".", 3)
        if len(parts) == 4 and parts[2] == "svc" and parts[3].split(":", 1)[0] == "cluster.local":
            name, namespace = parts[0], parts[1]
    return namespace or "", name or ""


def backend(cluster: Cluster, service: Service, port: int) -> tuple[Workload | None, int]:
    backends = cluster.backends(service)
    return (backends[0] if backends else None), service.ports.get(port, port)


def to_service(world: World, source: Workload | None, service: Service, port: int, http: Http,
               depth: int = 0) -> tuple[Verdict, list[str]]:
    """Send ``http`` to ``service:port`` from ``source``, following gateways; the trail of reasons."""
    if depth > 4:
        return deny("routing loop"), []
    via = world.via.get((service.namespace, service.name))
    if via is not None:
        proxy = world.cluster.workload(*via.split("/", 1))
        target, pod_port = backend(world.cluster, service, port)
        if proxy is None or target is None:
            return deny(f"{service.namespace}/{service.name}: nothing serves it"), []
        # Knative's activator serves proxied requests on its ``http1`` port (8012; ``h2c`` 8013 for
        # HTTP/2): the activator Deployment of kubeflow/manifests common/knative/knative-serving/base/
        # upstream/serving-core.yaml at v1.8.1 and 26.03. Its first port (9090) is metrics.
        proxy_port = dict(proxy.named_ports).get("http1") or (proxy.ports[0] if proxy.ports else pod_port)
        verdict, http = hop(world, source, proxy, proxy_port, http)
        if not verdict:
            return verdict, [verdict.reason]
        if (found := _activator_revision(http)) != (service.namespace, service.name.removesuffix("-private")):
            refused = deny(f"{proxy.key} looks up revision {found[0]}/{found[1]}, not {service.namespace}/"
                           f"{service.name.removesuffix('-private')} (404)")
            return refused, [verdict.reason, refused.reason]
        last, http = hop(world, proxy, target, pod_port, http)
        return last, [verdict.reason, f"{proxy.key} proxies", last.reason]
    target, pod_port = backend(world.cluster, service, port)
    if target is None:
        return deny(f"Service {service.namespace}/{service.name} selects no workload"), []
    verdict, http = hop(world, source, target, pod_port, http)
    if not verdict or not target.gateway:
        return verdict, [verdict.reason]
    return _onward(world, target, http, [verdict.reason], depth)


def from_outside(world: World, gateway_service: Service, http: Http) -> tuple[Verdict, list[str]]:
    """A client outside the cluster sends ``http`` to the ingress gateway's Service."""
    target, pod_port = backend(world.cluster, gateway_service, http.port)
    if target is None:
        return deny("no ingress gateway"), []
    verdict, after = hop(world, None, target, pod_port, http)
    if not verdict:
        return verdict, [verdict.reason]
    return _onward(world, target, after, [verdict.reason], 0)


def _onward(world: World, gateway: Workload, http: Http, trail: list[str], depth: int) -> tuple[Verdict, list[str]]:
    found = routing.route(world.cluster, gateway, http)
    if found is None:
        return deny(f"{gateway.key} routes nothing for {http.host}{http.path.split('?', 1)[0]} (404)"), trail
    if found.redirect:
        return deny(f"{gateway.key} answers port {http.port} with an HTTPS redirect"), trail
    if found.service is None:
        return deny(f"{found.virtual_service} routes to a host that is no Service here"), trail
    onward = replace(http, host=found.authority or http.host, port=found.port,
                     headers={**http.headers, **found.headers})
    verdict, more = to_service(world, gateway, found.service, found.port, onward, depth + 1)
    return verdict, [*trail, found.virtual_service, *more]
