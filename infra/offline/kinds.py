"""Facts about resource types that the offline plan needs.

Which Pulumi types are Kubernetes objects (and so become manifests), which kinds are
cluster-scoped, and which resources hold state that must never be lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlplane.core.kinds import BUILTIN_CLUSTER_SCOPED_KINDS

#: pulumi-kubernetes types that are not single Kubernetes objects: providers, charts,
#: kustomize directories, YAML groups, and patches of objects that exist already.
_NOT_OBJECTS = frozenset(
    {
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:helm.sh/v3:Chart",
        "kubernetes:helm.sh/v4:Chart",
        "kubernetes:kustomize/v2:Directory",
        "kubernetes:kustomize:Directory",
        "kubernetes:yaml/v2:ConfigGroup",
        "kubernetes:yaml/v2:ConfigFile",
        "kubernetes:yaml:ConfigGroup",
        "kubernetes:yaml:ConfigFile",
    }
)

#: Kinds that live outside namespaces: the built-in ones and those of the CRDs mlplane uses.
CLUSTER_SCOPED_KINDS = BUILTIN_CLUSTER_SCOPED_KINDS | frozenset({
    "ClusterIssuer", "ClusterServingRuntime", "ClusterStorageContainer", "ClusterTrainingRuntime", "EC2NodeClass",
    "NodeFeatureRule", "NodePool", "Profile"})

#: Types whose deletion or replacement loses data.
STATEFUL_TYPES = frozenset(
    {
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:apps/v1:StatefulSet",
        # Buckets and databases on the clouds mlplane supports.
        "gcp:storage/bucket:Bucket",
        "gcp:sql/databaseInstance:DatabaseInstance",
        "gcp:sql/database:Database",
        "gcp:filestore/instance:Instance",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:efs/fileSystem:FileSystem",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
        "azure-native:dbforpostgresql:Server",
        "azure-native:dbformysql:Server",
        # Kubeflow deletes a profile's namespace, and the notebook volumes in it, with it.
        "kubernetes:kubeflow.org/v1:Profile",
    }
)


def is_kubernetes_object_type(type_: str) -> bool:
    """Whether a Pulumi type token stands for one Kubernetes object."""
    if not type_.startswith("kubernetes:") or type_ in _NOT_OBJECTS:
        return False
    return not type_.endswith("Patch")


#: The components whose children pulumi-kubernetes registers from rendered upstream objects.
EXPANDED_PARENTS = ("kubernetes:helm.sh/v4:Chart", "kubernetes:kustomize/v2:Directory")


def is_upstream_object(urn: str) -> bool:
    """Whether a resource is an object expanded from a chart or kustomize directory (its parent is one)."""
    chain = urn.split("::")[2] if urn.count("::") >= 3 else ""
    return any(f"{parent}$" in chain for parent in EXPANDED_PARENTS)


def kind_of(type_: str) -> str:
    """The Kubernetes kind in a type token: ``Job`` for ``kubernetes:batch/v1:Job``."""
    return type_.rsplit(":", 1)[-1]


def is_cluster_scoped(kind: str) -> bool:
    """Whether objects of this kind have no namespace (built-in kinds and mlplane's own CRDs only).

    Prefer :func:`is_namespaced` with the plan's CRD scopes: an upstream chart's custom
    resource (the GPU Operator's ``ClusterPolicy``) is known only through its CRD.
    """
    return kind in CLUSTER_SCOPED_KINDS


#: ``(API group, kind) -> namespaced``, as CustomResourceDefinitions' ``spec.scope`` says.
Scopes = Mapping[tuple[str, str], bool]


def crd_scopes(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], bool]:
    """``(group, kind) -> namespaced`` for every CustomResourceDefinition among ``objects``.

    ``spec.scope`` is ``Cluster`` or ``Namespaced`` (apiextensions.k8s.io/v1, required);
    the API server then serves the kind at cluster or namespace level, whatever the
    kind is called (NVIDIA's ``ClusterPolicy`` CRD in the gpu-operator chart says
    ``scope: Cluster``; a kind name never says it).
    """
    scopes: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            if isinstance(kind, str):
                scopes[(str(spec.get("group", "")), kind)] = spec.get("scope", "Namespaced") == "Namespaced"
    return scopes


def api_group(api_version: str) -> str:
    """The API group of an ``apiVersion`` (``""`` for the core group's ``v1``)."""
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def is_namespaced(obj: Mapping[str, Any], scopes: Scopes) -> bool:
    """Whether the object's kind is namespaced: a CRD among ``scopes`` says so, else the built-ins."""
    key = (api_group(str(obj.get("apiVersion", ""))), str(obj.get("kind", "")))
    if key in scopes:
        return scopes[key]
    return not is_cluster_scoped(key[1])


def is_stateful_type(type_: str) -> bool:
    """Whether resources of this type hold data (volumes, buckets, databases)."""
    return type_ in STATEFUL_TYPES


#: What the claims inside upstream installs hold, by ``metadata.name`` (the kubeflow/manifests
#: paths that declare them, at v1.8.1 and 26.03): named in the diff, so a reviewer sees
#: which data a deletion or replacement destroys.
UPSTREAM_DATA = {
    # apps|applications/pipeline/upstream/third-party/mysql/base/mysql-pv-claim.yaml
    "mysql-pv-claim": "Kubeflow Pipelines' MySQL database (runs, experiments, pipeline versions, ML Metadata)",
    # apps/pipeline/upstream/third-party/minio/base/minio-pvc.yaml (v1.8.1)
    "minio-pvc": "Kubeflow Pipelines' MinIO object store (pipeline artifacts and logs)",
    # applications/pipeline/upstream/third-party/seaweedfs/base/seaweedfs/seaweedfs-pvc.yaml (26.03)
    "seaweedfs-pvc": "Kubeflow Pipelines' SeaweedFS object store (pipeline artifacts and logs)",
    # apps|applications/katib/upstream/components/mysql/pvc.yaml
    "katib-mysql": "Katib's MySQL database (experiments, trials and their metrics)",
    # applications/model-registry/upstream/overlays/db/model-registry-db-pvc.yaml (26.03)
    "metadata-mysql": "Model Registry's MySQL database (registered models and their versions)",
}


def held_data(type_: str, inputs: dict) -> str | None:
    """What a stateful object holds, where known (an upstream install's claim), else None."""
    if type_ != "kubernetes:core/v1:PersistentVolumeClaim":
        return None
    return UPSTREAM_DATA.get(str((inputs.get("metadata") or {}).get("name", "")))
