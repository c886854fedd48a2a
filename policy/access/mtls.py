"""PeerAuthentication: whether a connection to a workload carries an Istio identity.

Which policy wins (istio/istio 1.17.3 ``pilot/pkg/security/authn/v1beta1/policy_applier.go``
line 400, 1.29.0 ``pilot/pkg/security/authn/policy_applier.go`` line 398,
``ComposePeerAuthentication``): a workload-selector policy in the workload's namespace,
else the namespace's policy without selector, else the root namespace's, else
PERMISSIVE; ``portLevelMtls`` of a workload policy overrides per port; ``UNSET``
inherits from the next level.

Effect: STRICT accepts only mutual TLS (a plaintext client is refused); PERMISSIVE
accepts both (plaintext arrives with no principal); DISABLE takes plaintext only. A
client with a sidecar always originates Istio mTLS to a server with one (auto mTLS), so
the server sees the client's principal unless the mode is DISABLE.
"""

from __future__ import annotations

from typing import Any

from mlplane.policy.access import match, scope
from mlplane.policy.access.cluster import Cluster, Workload

KIND = "PeerAuthentication"


def mode(cluster: Cluster, workload: Workload, port: int) -> tuple[str, str]:
    """``(mode, deciding policy)`` for connections to ``workload`` on ``port`` (a pod port)."""
    policies = scope.applicable(cluster, KIND, workload)
    levels = [
        [p for p in policies if p["metadata"]["namespace"] == workload.namespace and (p.get("spec") or {}).get("selector")],
        [p for p in policies if p["metadata"]["namespace"] == workload.namespace and not (p.get("spec") or {}).get("selector")],
        [p for p in policies if p["metadata"]["namespace"] == cluster.root_namespace
         and not (p.get("spec") or {}).get("selector")],
    ]
    for level, candidates in enumerate(levels):
        for policy in candidates:
            spec = policy.get("spec") or {}
            if level == 0:
                port_mode = ((spec.get("portLevelMtls") or {}).get(str(port)) or {}).get("mode")
                if port_mode and port_mode != "UNSET":
                    return port_mode, scope.name(policy)
            value = (spec.get("mtls") or {}).get("mode")
            if value and value != "UNSET":
                return value, scope.name(policy)
    return "PERMISSIVE", "no PeerAuthentication (Istio's default PERMISSIVE)"


def _servers(cluster: Cluster, gateway: Workload, port: int) -> list[dict[str, Any]]:
    return [s for g in cluster.of_kind("Gateway")
            if match.match_labels((g.get("spec") or {}).get("selector"), gateway.labels)
            for s in (g.get("spec") or {}).get("servers") or () if int((s.get("port") or {}).get("number", 0)) == port]


def originates(cluster: Cluster, client: Workload, server: Workload) -> str | None:
    """The DestinationRule making ``client`` originate Istio mTLS to ``server``'s pods, or None.

    A client Envoy (a sidecar or a gateway) originates Istio mutual TLS to a destination when
    a DestinationRule for the destination's host says ``tls.mode: ISTIO_MUTUAL``; without one,
    auto mTLS does only for endpoints labelled ``security.istio.io/tlsMode: istio``, which the
    sidecar injector sets and gateways' pods lack (istio/istio 1.29.0 ``pilot/pkg/networking/
    core/cluster_tls.go``, ``buildUpstreamTLSSettings``; ``pilot/pkg/serviceregistry/kube/
    conversion.go``, ``PodTLSMode``). A client without Envoy originates nothing.
    """
    if not client.proxied:
        return None
    for rule in cluster.of_kind("DestinationRule"):
        spec = rule.get("spec") or {}
        if ((spec.get("trafficPolicy") or {}).get("tls") or {}).get("mode") != "ISTIO_MUTUAL":
            continue
        parts = str(spec.get("host", "")).split(".")
        service = cluster.service(parts[1] if len(parts) > 1 else rule["metadata"].get("namespace", ""), parts[0])
        if service is not None and server in cluster.backends(service):
            return scope.name(rule)
    return None


def gateway_listener(cluster: Cluster, client: Workload, gateway: Workload, port: int) -> tuple[str | None, str | None]:
    """``(principal the gateway sees, refusal)`` for an in-cluster ``client`` of a gateway's listener.

    A gateway's listener is set by its Gateway servers, not by PeerAuthentication (istio/istio
    ``pilot/pkg/networking/core/gateway.go``, ``buildGatewayListenerTLSContext``, 1.29.0; in
    ``v1alpha3/`` at 1.17.3): a plain ``HTTP`` server (or ``SIMPLE`` TLS) asks no client
    certificate, so its policies see no principal; an ``ISTIO_MUTUAL`` server requires a client
    certificate of the mesh (``listener.go``, ``BuildListenerTLSContext``:
    ``RequireClientCertificate``), so a client that does not originate Istio mTLS fails the
    handshake and one that does is known by its principal.
    """
    servers = _servers(cluster, gateway, port)
    if not any((s.get("tls") or {}).get("mode") == "ISTIO_MUTUAL" for s in servers):
        return None, None
    rule = originates(cluster, client, gateway)
    if rule is None:
        return None, (f"{gateway.key}:{port} is ISTIO_MUTUAL: it requires a mesh client certificate, and "
                      f"{client.key} sends none ({'no DestinationRule ISTIO_MUTUAL for it' if client.proxied else 'no Envoy'})")
    return client.principal, None
