"""What a dangerous change destroys, said so that a reviewer knows which data.

A change is dangerous when it deletes or replaces something that holds data or is
protected. The reason names the thing by what people know it as: the claim
``namespace/name`` and its size, the bucket by its name, the database, the profile.
"""

from __future__ import annotations

from typing import Any

from mlplane.infra.offline.kinds import EXPANDED_PARENTS, held_data, is_stateful_type, kind_of
from mlplane.infra.offline.plan import Plan, PlanResource

#: The input that names a bucket, storage account or database, per cloud type.
_CLOUD_NAME_KEYS = {
    "gcp:storage/bucket:Bucket": ("bucket gs://{}", "name"),
    "aws:s3/bucket:Bucket": ("bucket s3://{}", "bucket"),
    "aws:s3/bucketV2:BucketV2": ("bucket s3://{}", "bucket"),
    "azure-native:storage:StorageAccount": ("storage account {}", "accountName"),
    "azure-native:storage:BlobContainer": ("blob container {}", "containerName"),
    "gcp:sql/databaseInstance:DatabaseInstance": ("database instance {}", "name"),
    "gcp:sql/database:Database": ("database {}", "name"),
    "gcp:filestore/instance:Instance": ("Filestore instance {}", "name"),
    "aws:rds/instance:Instance": ("database {}", "identifier"),
    "aws:rds/cluster:Cluster": ("database cluster {}", "clusterIdentifier"),
    "aws:efs/fileSystem:FileSystem": ("EFS file system {}", "creationToken"),
    "azure-native:dbforpostgresql:Server": ("PostgreSQL server {}", "serverName"),
    "azure-native:dbformysql:Server": ("MySQL server {}", "serverName"),
}


def holds_data(resource: PlanResource) -> str | None:
    """Why losing ``resource`` matters (protected, retained, holds data), or None."""
    if resource.protect:
        return "protected"
    # A retained Patch leaves its fields on the object it patched: nothing is lost when it goes.
    if resource.retain_on_delete and not resource.type.endswith("Patch"):
        return "retained on delete"
    if is_stateful_type(resource.type):
        return "holds data"
    return None


def loses_data(resource: PlanResource) -> str | None:
    """Why deleting ``resource`` loses data (``holds data``, ``holds data, protected``), or None.

    Only what holds data counts: a protected or retained object that holds none (a
    Service, a ConfigMap) is no danger; :func:`guarded` says what its options do instead.
    """
    if is_stateful_type(resource.type):
        return "holds data, protected" if resource.protect else "holds data"
    # mlplane protects a chart or directory because of the data inside it (KFP's and Katib's
    # databases): unexpanded, it is the only resource that stands for those claims.
    if resource.type in EXPANDED_PARENTS and (resource.protect or resource.retain_on_delete):
        return "protected: its objects hold data"
    return None


def guarded(resource: PlanResource) -> str:
    """What ``protect`` or ``retainOnDelete`` do to a delete or replace of ``resource`` ("" for neither)."""
    if resource.protect:
        return ("protected: `pulumi up` refuses to delete or replace it until its protect option is removed "
                "(it holds no data)")
    if resource.retain_on_delete and not resource.type.endswith("Patch"):
        return "retained on delete: Pulumi stops managing it and leaves it in the cluster"
    return ""


CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def crd_kind(resource: PlanResource) -> tuple[str, str] | None:
    """``(kind, "plural.group")`` of a CustomResourceDefinition resource, or None for any other."""
    if resource.type != CRD_TYPE:
        return None
    spec = resource.inputs.get("spec") or {}
    names = spec.get("names") or {}
    kind, group = names.get("kind"), spec.get("group")
    if not isinstance(kind, str) or not isinstance(group, str):
        return None
    return kind, f"{names.get('plural') or kind.lower()}.{group}"


def crd_objects(resource: PlanResource, plan: Plan) -> list[PlanResource]:
    """The plan's objects of the kind a CRD resource defines (any version of its group)."""
    found = crd_kind(resource)
    if found is None:
        return []
    group = (resource.inputs.get("spec") or {}).get("group")
    return [r for r in plan if r.type.startswith(f"kubernetes:{group}/") and r.type.endswith(f":{found[0]}")]


def crd_loss(resource: PlanResource, plan: Plan) -> str:
    """What deleting a CRD takes with it: ``every PyTorchJob (pytorchjobs.kubeflow.org) ...``.

    Kubernetes deletes a CRD's objects with it (kubernetes/website
    content/en/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions.md:
    deleting a CustomResourceDefinition uninstalls its API endpoint and deletes all custom
    objects stored in it).
    """
    kind, name = crd_kind(resource) or (kind_of(resource.type), resource.name)
    objects = crd_objects(resource, plan)
    known = f"; the plan's own: {', '.join(object_name(o) for o in objects[:5])}" if objects else ""
    more = f" and {len(objects) - 5} more" if len(objects) > 5 else ""
    return f"every {kind} in the cluster ({name}) goes with it, and with them their status and history{known}{more}"


def _metadata(resource: PlanResource) -> dict[str, Any]:
    metadata = resource.inputs.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def object_name(resource: PlanResource) -> str:
    """``namespace/name`` of a Kubernetes object (its logical name where it has none)."""
    metadata = _metadata(resource)
    name = metadata.get("name") or resource.name
    return f"{metadata['namespace']}/{name}" if metadata.get("namespace") else str(name)


def data_at_stake(resource: PlanResource) -> str:
    """One phrase for what is lost with ``resource``: ``claim ml/data (10Gi, class standard)``."""
    kind = kind_of(resource.type)
    if resource.type in _CLOUD_NAME_KEYS:
        template, key = _CLOUD_NAME_KEYS[resource.type]
        value = resource.inputs.get(key)
        named = template.format(value) if isinstance(value, str) else f"{kind} {resource.name!r}"
        return f"{named} and everything stored in it"
    if kind == "PersistentVolumeClaim":
        spec = resource.inputs.get("spec") or {}
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        details = ", ".join(p for p in (str(size) if size else "", f"class {spec['storageClassName']}"
                                        if spec.get("storageClassName") else "") if p)
        held = held_data(resource.type, resource.inputs)
        return (f"claim {object_name(resource)}{f' ({details})' if details else ''} and the data on its volume"
                + (f": {held}" if held else ""))
    if resource.type in EXPANDED_PARENTS:
        return f"{kind} {resource.name!r} and everything it installs, the volumes and databases inside included"
    if kind == "PersistentVolume":
        return f"volume {object_name(resource)} and the data on it"
    if kind == "StatefulSet":
        return f"StatefulSet {object_name(resource)} (its pods and the data they keep)"
    if kind == "Profile":
        return f"profile {object_name(resource)}: Kubeflow deletes its namespace and the notebook volumes in it"
    if resource.is_kubernetes_object:
        return f"{kind} {object_name(resource)}"
    return f"{kind} {resource.name!r}"


def stateful_in_namespace(resource: PlanResource, plan: Plan) -> list[PlanResource]:
    """The volumes and other stateful objects that live in a Namespace resource's namespace."""
    # Kubernetes deletes everything in a namespace with it, volumes included.
    if resource.type != "kubernetes:core/v1:Namespace":
        return []
    namespace = _metadata(resource).get("name")
    return [r for r in plan if is_stateful_type(r.type) and _metadata(r).get("namespace") == namespace]


def listing(resources: list[PlanResource], limit: int = 3) -> str:
    """``claim ml/a (1Gi), claim ml/b and 2 more`` for a reason line."""
    shown = [f"{kind_of(r.type)} {r.name!r}" for r in resources[:limit]]
    more = len(resources) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
