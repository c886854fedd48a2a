"""Which Istio security policies apply to a workload.

A policy applies to a workload when it is in the workload's namespace, or in the mesh's
root namespace (mesh-wide), and its ``selector.matchLabels`` match the workload's labels
(no selector: every workload of that namespace, or of the mesh from the root namespace).
istio/istio ``pilot/pkg/model/authorization.go`` (``ListAuthorizationPolicies``, 1.17.3
line 75, 1.29.0 line 84) and ``pilot/pkg/model/authentication.go``
(``GetJwtPoliciesForWorkload``, ``GetPeerAuthenticationsForWorkload``).
"""

from __future__ import annotations

from typing import Any

from mlplane.policy.access import match
from mlplane.policy.access.cluster import Cluster, Workload


def applicable(cluster: Cluster, kind: str, workload: Workload) -> list[dict[str, Any]]:
    """The objects of ``kind`` that select ``workload``, root namespace first."""
    found = []
    for obj in cluster.of_kind(kind):
        namespace = obj["metadata"].get("namespace")
        if namespace not in (cluster.root_namespace, workload.namespace):
            continue
        selector = (obj.get("spec") or {}).get("selector") or {}
        if match.match_labels(selector.get("matchLabels"), workload.labels):
            found.append(obj)
    return sorted(found, key=lambda o: (o["metadata"]["namespace"] != cluster.root_namespace,
                                        o["metadata"]["namespace"], o["metadata"]["name"]))


def name(obj: dict[str, Any]) -> str:
    """``Kind namespace/name`` for reasons."""
    return f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
