"""Kubernetes NetworkPolicy, ingress and egress.

Semantics (kubernetes/kubernetes ``staging/src/k8s.io/api/networking/v1/types.go``, the
field documentation of ``NetworkPolicySpec``, ``NetworkPolicyPeer`` and
``NetworkPolicyPort``; kubernetes/website ``content/en/docs/concepts/services-networking/
network-policies.md``):
- A pod is isolated for ingress (egress) when some policy in its namespace selects it
  (``podSelector``) and lists ``Ingress`` (``Egress``) in ``policyTypes``; absent
  ``policyTypes`` means ``Ingress``, plus ``Egress`` when the policy has ``egress`` rules.
  A pod no policy isolates accepts (sends) everything: the default allow.
- An isolated pod accepts a connection when some rule of a policy selecting it matches:
  every peer of ``from``/``to`` is an alternative (empty or absent: all), every port of
  ``ports`` too (empty or absent: all; ``endPort`` a range; a named port is the pod's
  container port of that name). ``podSelector`` alone selects pods of the policy's own
  namespace; ``namespaceSelector`` alone every pod of the namespaces it selects; both
  together, the selected pods of the selected namespaces; ``ipBlock`` addresses (with
  ``except``), which the evaluator matches against pod addresses too (pods have
  addresses in the pod CIDR, :data:`POD_ADDRESS`).
- Policies are additive: connections are allowed when any policy allows them, and a
  connection between pods must be allowed by the source's egress and the
  destination's ingress.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlplane.policy.access import match
from mlplane.policy.access.cluster import Cluster, Workload
from mlplane.policy.access.request import Verdict, allow, deny

#: The address the evaluator gives every pod (inside a typical pod CIDR, 10.244.0.0/16).
POD_ADDRESS = "10.244.1.10"


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection: a workload's pod, or an address outside the cluster."""

    workload: Workload | None = None
    address: str | None = None

    @property
    def ip(self) -> str:
        return self.address if self.workload is None else POD_ADDRESS  # type: ignore[return-value]

    def describe(self) -> str:
        return self.workload.key if self.workload else f"address {self.address}"


def _types(policy: Mapping[str, Any]) -> list[str]:
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def _peer_matches(cluster: Cluster, peer: Mapping[str, Any], policy_ns: str, other: Endpoint) -> bool:
    block = peer.get("ipBlock")
    if block:
        ip = ipaddress.ip_address(other.ip)
        return ip in ipaddress.ip_network(block["cidr"], strict=False) and not any(
            ip in ipaddress.ip_network(e, strict=False) for e in block.get("except") or ())
    workload = other.workload
    if workload is None:
        return False
    ns_selector, pod_selector = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_selector is None and workload.namespace != policy_ns:
        return False
    if ns_selector is not None and not match.labels(ns_selector, cluster.namespace_labels(workload.namespace)):
        return False
    return pod_selector is None or match.labels(pod_selector, workload.labels)


def _port_matches(ports: list[Mapping[str, Any]] | None, port: int, target: Workload | None) -> bool:
    if not ports:
        return True
    named = dict(target.named_ports) if target else {}
    for entry in ports:
        value = entry.get("port")
        if value is None:
            return True
        number = named.get(value) if isinstance(value, str) and not value.isdigit() else int(value)
        if number is None:
            continue
        if number == port or (entry.get("endPort") and number <= port <= int(entry["endPort"])):
            return True
    return False


def _direction(cluster: Cluster, selected: Workload, other: Endpoint, port: int, kind: str,
               port_owner: Workload | None) -> Verdict:
    key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    isolating = [p for p in cluster.of_kind("NetworkPolicy")
                 if p["metadata"].get("namespace") == selected.namespace and kind in _types(p)
                 and match.labels((p.get("spec") or {}).get("podSelector"), selected.labels)]
    if not isolating:
        return allow(f"no NetworkPolicy isolates {selected.key} for {key} (default allow)")
    for policy in isolating:
        for index, rule in enumerate((policy.get("spec") or {}).get(key) or ()):
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(cluster, p, selected.namespace, other) for p in peers):
                continue
            if _port_matches(rule.get("ports"), port, port_owner):
                return allow(f"NetworkPolicy {selected.namespace}/{policy['metadata']['name']} ({key} rule {index})")
    names = ", ".join(sorted(p["metadata"]["name"] for p in isolating))
    return deny(f"NetworkPolicy: no {key} rule of {selected.namespace}/{{{names}}} admits "
                f"{other.describe()} on port {port}")


def connect(cluster: Cluster, source: Endpoint, target: Endpoint, port: int) -> Verdict:
    """Whether a TCP connection from ``source`` to ``target``'s ``port`` (a pod port) may open."""
    if source.workload is not None:
        verdict = _direction(cluster, source.workload, target, port, "Egress", target.workload)
        if not verdict:
            return verdict
    if target.workload is not None:
        return _direction(cluster, target.workload, source, port, "Ingress", target.workload)
    return allow("the destination is outside the cluster (no NetworkPolicy applies there)")
