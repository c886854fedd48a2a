"""Where a gateway sends a request: Gateway servers, VirtualServices, Services.

istio/istio ``pilot/pkg/networking/core/gateway.go`` (1.29.0; ``v1alpha3/gateway.go`` on
1.17.3): a VirtualService takes part in a gateway's routes when it names the Gateway
(``<namespace>/<name>``, or a bare name in its own namespace) and its hosts intersect
the server's hosts; Envoy picks the most specific domain (exact, then ``*.suffix``, then
``*``) and the first matching HTTP route of it (istio/istio
``pilot/pkg/networking/core/route/route.go``, routes in declaration order, except that
catch-all routes, a ``/`` prefix or no match, go last: ``SortVHostRoutes``, called from
``gateway.go`` at 1.29.0 line 551). A server with
``tls.httpsRedirect`` answers plain HTTP with a redirect only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlplane.policy.access import match
from mlplane.policy.access.cluster import Cluster, Service, Workload
from mlplane.policy.access.request import Http


@dataclass(frozen=True)
class Route:
    """A routing decision: the Service, its port, the VirtualService, the authority sent on."""

    service: Service | None
    port: int
    virtual_service: str
    authority: str | None = None
    redirect: bool = False
    #: Request headers the route sets (``headers.request.set`` of the HTTPRoute and its destination).
    headers: Mapping[str, str] = field(default_factory=dict)


def _host_matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.split("/", 1)[-1].lower(), host.split(":", 1)[0].lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def _specificity(pattern: str) -> int:
    return 0 if pattern == "*" else (1 if pattern.startswith("*") else 2)


def bound_gateways(vs: Mapping[str, Any]) -> set[str]:
    """``namespace/name`` of each Gateway a VirtualService binds (a bare name is in its own namespace)."""
    ns = vs["metadata"]["namespace"]
    return {g if "/" in g else f"{ns}/{g}" for g in (vs.get("spec") or {}).get("gateways") or ()}


def served_ports(cluster: Cluster, vs: Mapping[str, Any], host: str) -> set[int]:
    """The ports of the servers, among the Gateways ``vs`` binds, that open ``host``."""
    bound = bound_gateways(vs)
    return {int(server["port"]["number"]) for gw in cluster.of_kind("Gateway")
            if f"{gw['metadata'].get('namespace')}/{gw['metadata']['name']}" in bound
            for server in (gw.get("spec") or {}).get("servers") or ()
            if any(_host_matches(h, host) for h in server.get("hosts") or ())}


def gateways_of(cluster: Cluster, workload: Workload) -> list[dict[str, Any]]:
    return [g for g in cluster.of_kind("Gateway")
            if match.match_labels((g.get("spec") or {}).get("selector"), workload.labels)]


def resolve_service(cluster: Cluster, host: str, namespace: str) -> Service | None:
    """A destination host (``name``, ``name.ns``, ``name.ns.svc[.cluster.local]``) as a Service."""
    parts = host.split(".")
    service = cluster.service(parts[1] if len(parts) > 1 else namespace, parts[0])
    seen = 0
    while service is not None and service.external_name and seen < 4:  # Knative's ExternalName hops
        parts = service.external_name.split(".")
        service = cluster.service(parts[1] if len(parts) > 1 else service.namespace, parts[0])
        seen += 1
    return service


def _uri_matches(spec: Mapping[str, Any] | None, path: str) -> bool:
    if not spec:
        return True
    bare = path.split("?", 1)[0]
    if "prefix" in spec:
        return bare.startswith(spec["prefix"])
    if "exact" in spec:
        return bare == spec["exact"]
    if "regex" in spec:
        import re
        return re.fullmatch(spec["regex"], bare) is not None
    return True


def _http_match(matches: list[Mapping[str, Any]] | None, http: Http) -> bool:
    if not matches:
        return True
    for entry in matches:
        if not _uri_matches(entry.get("uri"), http.path):
            continue
        method = entry.get("method")
        if method and method.get("exact") and method["exact"] != http.method:
            continue
        return True
    return False


def route(cluster: Cluster, gateway: Workload, http: Http) -> Route | None:
    """The destination ``gateway`` routes ``http`` to, or None (404)."""
    servers = []
    for obj in gateways_of(cluster, gateway):
        name = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
        for server in (obj.get("spec") or {}).get("servers") or ():
            if int(server["port"]["number"]) == http.port and any(_host_matches(h, http.host) for h in server["hosts"]):
                servers.append((name, obj, server))
    if not servers:
        return None
    if any((s.get("tls") or {}).get("httpsRedirect") for _, _, s in servers):
        return Route(None, 0, "httpsRedirect", redirect=True)
    names = {name for name, _, _ in servers}
    candidates: list[tuple[int, str, dict[str, Any]]] = []
    for vs in cluster.of_kind("VirtualService"):
        if not bound_gateways(vs) & names:
            continue
        hosts = [h for h in (vs.get("spec") or {}).get("hosts") or () if _host_matches(h, http.host)]
        if hosts:
            candidates.append((max(_specificity(h) for h in hosts), f"{vs['metadata']['namespace']}/{vs['metadata']['name']}", vs))
    if not candidates:
        return None
    best = max(c[0] for c in candidates)
    entries = [(name, vs, entry) for _, name, vs in sorted(c for c in candidates if c[0] == best)
               for entry in (vs.get("spec") or {}).get("http") or ()]
    entries.sort(key=lambda e: _catch_all(e[2].get("match")))  # stable: keeps declaration order otherwise
    for name, vs, entry in entries:
        if not _http_match(entry.get("match"), http):
            continue
        destination = (entry.get("route") or [{}])[0].get("destination") or {}
        service = resolve_service(cluster, destination.get("host", ""), vs["metadata"]["namespace"])
        port = int((destination.get("port") or {}).get("number") or (next(iter(service.ports)) if service and service.ports else 80))
        authority = (entry.get("rewrite") or {}).get("authority")
        # Istio HTTPRoute.headers, then HTTPRouteDestination.headers (istio.io VirtualService reference, Headers)
        sets = {**(((entry.get("headers") or {}).get("request") or {}).get("set") or {}),
                **(((((entry.get("route") or [{}])[0]).get("headers") or {}).get("request") or {}).get("set") or {})}
        return Route(service, port, f"VirtualService {name}", authority, headers={k.lower(): str(v) for k, v in sets.items()})
    return None


def _catch_all(matches: list[Mapping[str, Any]] | None) -> bool:
    if not matches:
        return True
    return all(set(m) <= {"uri"} and (m.get("uri") or {}).get("prefix") == "/" for m in matches)
