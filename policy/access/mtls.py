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

from mlplane.policy.access import scope
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
