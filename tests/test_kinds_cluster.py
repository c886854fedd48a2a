"""The built-in cluster-scoped kinds mlplane knows are cluster-scoped on the real API server."""

from __future__ import annotations

from mlplane.core.kinds import BUILTIN_CLUSTER_SCOPED_KINDS

from . import controlplane


def test_every_builtin_cluster_scoped_kind_is_served_at_cluster_level() -> None:
    output = controlplane.run("""
kubectl api-resources --namespaced=false --no-headers | awk '{print "cluster", $NF}'
kubectl api-resources --namespaced=true --no-headers | awk '{print "namespaced", $NF}'
""", {}, components="apiserver")
    scopes = [line.split() for line in output.splitlines() if line.startswith(("cluster ", "namespaced "))]
    cluster = {kind for scope, kind in scopes if scope == "cluster"}
    assert BUILTIN_CLUSTER_SCOPED_KINDS <= cluster, sorted(BUILTIN_CLUSTER_SCOPED_KINDS - cluster)
    assert {"Pod", "Deployment", "Secret"} <= {kind for scope, kind in scopes if scope == "namespaced"}
