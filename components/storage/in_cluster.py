"""In-cluster artifact store: SeaweedFS with its S3 API, as Kubeflow Pipelines ships it.

One SeaweedFS server (master, volume, filer and S3 gateway in one pod) on a protected
volume, in its own namespace whose S3 port only the workload namespace (and the namespaces
the args name) may reach; its other ports answer nobody outside the pod. Its S3 keys are generated (pulumi-random) and handed to workloads
in a Secret of the workload namespace; the keys never appear in the stack file or plan.
Each profile with ``artifact_access`` gets its own bucket and an identity limited to it, with
keys of its own in a Secret of its namespace (:mod:`components.storage.profile_access`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mlplane.components.namespace import NetworkOpening, PlatformNamespace, PlatformNamespaceArgs
from mlplane.components.pod_security import (
    ComputeResources,
    restricted_container_security_context,
    restricted_pod_security_context,
)
from mlplane.components.storage.profile_access import identity_of, seaweedfs_actions, seaweedfs_bucket
from mlplane.components.storage.spec import ARTIFACT_CREDENTIALS_SECRET, IN_CLUSTER_S3_PORT, IN_CLUSTER_SERVICE
from mlplane.components.storage.volume import claim, stateful_options

if TYPE_CHECKING:
    from mlplane.components.storage.artifacts import ArtifactStore, ArtifactStoreArgs

ACCESS_KEY_ID = "mlplane"
_LABELS = {"app.kubernetes.io/name": "seaweedfs", "app.kubernetes.io/component": "artifact-store"}
_RESOURCES = ComputeResources(cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi")
# Waits for the S3 gateway, then creates the bucket and the one user (idempotent).
_BOOTSTRAP = """\
for i in $(seq 1 120); do wget -q --spider http://127.0.0.1:{port}/status && break; sleep 2; done
echo "s3.bucket.create --name {bucket}" | weed shell || true
echo "s3.configure -user mlplane -access_key $ACCESS_KEY -secret_key $SECRET_KEY -actions Admin -apply" | weed shell
"""
# Per profile: its bucket, and its identity re-created with its current key (a rotated key
# replaces the old one) and actions limited to that bucket.
_PROFILE = """echo "s3.bucket.create --name {bucket}" | weed shell || true
echo "s3.configure -user {user} -delete -apply" | weed shell || true
echo "s3.configure -user {user} -access_key {access_key} -secret_key ${secret_env} -actions {actions} -apply" \
  | weed shell
"""


def declare(store: "ArtifactStore", name: str, args: "ArtifactStoreArgs") -> dict[str, str]:
    """Declare namespace, volume, server, Service and the workloads' credentials."""
    spec = args.store
    allowed = tuple(dict.fromkeys((*args.namespaces, *args.allow_ingress_from)))
    # The granted namespaces reach the S3 gateway's port only: SeaweedFS answers without
    # credentials on its master, volume and filer ports (weed server's defaults 9333, 8080,
    # 8888 and their gRPC ports), which nothing outside the pod needs.
    namespace = PlatformNamespace(
        f"{name}-namespace", PlatformNamespaceArgs(namespace=spec.namespace, openings=(NetworkOpening(
            name="allow-s3-clients", pods={"matchLabels": dict(_LABELS)}, from_namespaces=allowed,
            ports=(IN_CLUSTER_S3_PORT,)),) if allowed else ()),
        pulumi.ResourceOptions(parent=store),
    )
    inside = pulumi.ResourceOptions(parent=store, depends_on=[namespace])
    secret_key = random.RandomPassword(f"{name}-secret-key", length=40, special=False,
                                       opts=pulumi.ResourceOptions(parent=store))
    keys = {"ACCESS_KEY": pulumi.Output.secret(ACCESS_KEY_ID), "SECRET_KEY": secret_key.result}
    bootstrap = _BOOTSTRAP.format(port=IN_CLUSTER_S3_PORT, bucket=spec.bucket)
    workload_keys = {args.workload_namespace: (keys["ACCESS_KEY"], keys["SECRET_KEY"])}
    for profile in args.other_namespaces:
        user, env = identity_of("in-cluster", spec, profile), "SECRET_KEY_" + profile.upper().replace("-", "_")
        own_key = random.RandomPassword(f"{name}-secret-key-{profile}", length=40, special=False,
                                        opts=pulumi.ResourceOptions(parent=store))
        keys[env] = own_key.result
        bucket = seaweedfs_bucket(spec.bucket, profile)
        bootstrap += _PROFILE.format(bucket=bucket, user=user, access_key=user, secret_env=env,
                                     actions=",".join(seaweedfs_actions(bucket)))
        workload_keys[profile] = (pulumi.Output.secret(user), own_key.result)
    server_secret = k8s.core.v1.Secret(
        f"{name}-server-keys",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="seaweedfs-s3-keys", namespace=spec.namespace),
        string_data=keys, opts=inside,
    )
    for workload, (access, secret) in workload_keys.items():
        own = workload == args.workload_namespace
        k8s.core.v1.Secret(
            f"{name}-workload-keys" + ("" if own else f"-{workload}"),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ARTIFACT_CREDENTIALS_SECRET, namespace=workload),
            string_data={"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret},
            opts=pulumi.ResourceOptions(parent=store, depends_on=store.after),
        )
    data = claim(f"{name}-data", "seaweedfs-data", spec.namespace, spec.size, spec.storage_class,
                 ("ReadWriteOnce",), stateful_options(store, args.protect, depends_on=[namespace]))
    container = {
        "name": "seaweedfs",
        "image": spec.image,
        "args": ["server", "-dir=/data", "-s3", f"-s3.port={IN_CLUSTER_S3_PORT}", "-filer",
                 "-master.volumePreallocate=false"],
        "envFrom": [{"secretRef": {"name": "seaweedfs-s3-keys"}}],
        "ports": [{"name": "s3", "containerPort": IN_CLUSTER_S3_PORT}],
        "readinessProbe": {"httpGet": {"path": "/status", "port": IN_CLUSTER_S3_PORT}, "periodSeconds": 10},
        "lifecycle": {"postStart": {"exec": {"command": [
            "/bin/sh", "-ec", bootstrap]}}},
        "resources": _RESOURCES.to_k8s(),
        "securityContext": restricted_container_security_context(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    k8s.apps.v1.Deployment(
        f"{name}-server",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="seaweedfs", namespace=spec.namespace, labels=_LABELS),
        spec={
            "replicas": 1,
            # One pod owns the volume: stop the old one before the new one starts.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": _LABELS},
            "template": {
                "metadata": {"labels": _LABELS},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": restricted_pod_security_context(),
                    "containers": [container],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "seaweedfs-data"}}],
                },
            },
        },
        opts=pulumi.ResourceOptions(parent=store, depends_on=[namespace, server_secret, data]),
    )
    k8s.core.v1.Service(
        f"{name}-service",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=IN_CLUSTER_SERVICE, namespace=spec.namespace, labels=_LABELS),
        spec={"selector": _LABELS, "ports": [{"name": "s3", "port": IN_CLUSTER_S3_PORT,
                                              "targetPort": IN_CLUSTER_S3_PORT}]},
        opts=inside,
    )
    return {}  # keys, not workload identity: no ServiceAccount annotations
