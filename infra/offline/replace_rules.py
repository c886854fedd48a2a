"""When an update is really a replacement: the fields the API server refuses to update.

Kubernetes rules follow pulumi-kubernetes' own table of force-new properties, plus what
Kubernetes' admission refuses on update: a claim's spec only allows a storage increase
(kubernetes/kubernetes ``pkg/apis/core/validation/validation.go``:
``ValidatePersistentVolumeClaimUpdate``), and only where the claim's StorageClass allows
expansion (``plugin/pkg/admission/storage/persistentvolume/resize/admission.go``:
"only dynamically provisioned pvc can be resized and the storageclass that provisions
the pvc must support resize"; a claim without a class, or whose class the plan does not
declare, cannot be shown to grow), and KServe 0.16's webhook refuses a changed
``serving.kserve.io/deploymentMode`` (kserve/kserve v0.16.0
``pkg/apis/serving/v1beta1/inference_service_validation.go``: ``validateDeploymentMode``).
Cloud rules list the force-new fields of the cloud resources mlplane creates.
``replaceOnChanges`` paths on a resource add to these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mlplane.infra.offline.kinds import is_kubernetes_object_type
from mlplane.infra.offline.paths import Path, parse_pattern, touches, value_at
from mlplane.infra.offline.plan import Plan, PlanResource

_METADATA = ("metadata.name", "metadata.namespace", "apiVersion", "kind")

_LABEL_SELECTOR = ("spec.selector",)

_CONTAINER_FIELDS = (
    "args", "command", "env", "image", "imagePullPolicy", "lifecycle", "livenessProbe", "ports",
    "readinessProbe", "resources", "securityContext", "stdin", "stdinOnce", "terminationMessagePath",
    "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts", "workingDir",
)

_POD_SPEC = (
    "spec.affinity", "spec.automountServiceAccountToken", "spec.dnsConfig", "spec.dnsPolicy",
    "spec.enableServiceLinks", "spec.hostAliases", "spec.hostIPC", "spec.hostNetwork", "spec.hostPID",
    "spec.hostname", "spec.imagePullSecrets", "spec.nodeName", "spec.nodeSelector", "spec.overhead",
    "spec.preemptionPolicy", "spec.priority", "spec.priorityClassName", "spec.readinessGates",
    "spec.restartPolicy", "spec.runtimeClassName", "spec.schedulerName", "spec.securityContext",
    "spec.serviceAccount", "spec.serviceAccountName", "spec.shareProcessNamespace", "spec.subdomain",
    "spec.terminationGracePeriodSeconds", "spec.volumes",
    *(f"spec.{group}[*].{field}" for group in ("containers", "initContainers") for field in _CONTAINER_FIELDS),
)

#: Force-new properties by type token (Kubernetes and cloud).
FORCE_NEW: dict[str, tuple[str, ...]] = {
    "kubernetes:batch/v1:Job": ("spec.completions", "spec.parallelism", "spec.template", *_LABEL_SELECTOR),
    "kubernetes:apps/v1:Deployment": _LABEL_SELECTOR,
    "kubernetes:apps/v1:DaemonSet": _LABEL_SELECTOR,
    "kubernetes:apps/v1:ReplicaSet": _LABEL_SELECTOR,
    "kubernetes:apps/v1:StatefulSet": (
        "spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.serviceName",
        "spec.volumeClaimTemplates", *_LABEL_SELECTOR,
    ),
    "kubernetes:core/v1:ConfigMap": ("data", "binaryData"),
    "kubernetes:core/v1:Secret": ("type", "data", "stringData"),
    "kubernetes:core/v1:Service": ("spec.clusterIP",),
    "kubernetes:core/v1:ResourceQuota": ("spec.scopes",),
    "kubernetes:core/v1:Pod": _POD_SPEC,
    "kubernetes:core/v1:PersistentVolume": (
        "spec.awsElasticBlockStore", "spec.azureDisk", "spec.azureFile", "spec.cephfs", "spec.cinder",
        "spec.csi", "spec.fc", "spec.flexVolume", "spec.flocker", "spec.gcePersistentDisk", "spec.glusterfs",
        "spec.hostPath", "spec.iscsi", "spec.local", "spec.nfs", "spec.photonPersistentDisk",
        "spec.portworxVolume", "spec.quobyte", "spec.rbd", "spec.scaleIO", "spec.storageos",
        "spec.vsphereVolume",
    ),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("roleRef",),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("roleRef",),
    "kubernetes:storage.k8s.io/v1:StorageClass": ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"),
    "kubernetes:serving.kserve.io/v1beta1:InferenceService": ('metadata.annotations["serving.kserve.io/deploymentMode"]',),
    # Cloud resources (force-new fields of the providers, for the fields mlplane sets).
    "gcp:container/nodePool:NodePool": (
        "name", "cluster", "location", "project", "nodeConfig.machineType", "nodeConfig.guestAccelerators",
        "nodeConfig.diskSizeGb", "nodeConfig.diskType", "nodeConfig.imageType", "nodeConfig.spot",
        "nodeConfig.preemptible", "nodeConfig.serviceAccount", "nodeConfig.oauthScopes",
        "nodeConfig.localSsdCount", "nodeConfig.reservationAffinity", "initialNodeCount",
    ),
    "gcp:storage/bucket:Bucket": ("name", "location", "project"),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("bucket", "role", "member"),
    "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccountId", "role", "member"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "region"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("bucket", "region"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:s3/bucketV2:BucketV2": ("bucket", "bucketPrefix"),
    "aws:iam/role:Role": ("name", "namePrefix"),
    "azure-native:containerservice:AgentPool": (
        "agentPoolName", "resourceName", "resourceGroupName", "vmSize", "osType", "osDiskSizeGB",
        "osDiskType", "vnetSubnetID", "scaleSetPriority",
    ),
    "azure-native:storage:StorageAccount": ("accountName", "resourceGroupName", "location"),
    "azure-native:storage:BlobContainer": ("containerName", "accountName", "resourceGroupName"),
    "azure-native:managedidentity:UserAssignedIdentity": ("resourceName", "resourceGroupName", "location"),
    "azure-native:managedidentity:FederatedIdentityCredential": (
        "federatedIdentityCredentialResourceName", "resourceName", "resourceGroupName",
    ),
    "azure-native:authorization:RoleAssignment": ("roleAssignmentName", "scope", "principalId", "roleDefinitionId"),
    # pulumi-random (bridged terraform-provider-random, ``internal/provider/resource_password.go``):
    # every argument "RequiresReplace"; a new keeper (a rotation token) makes a new password.
    "random:index/randomPassword:RandomPassword": (
        "keepers", "length", "special", "upper", "lower", "numeric", "number", "minLower", "minUpper",
        "minNumeric", "minSpecial", "overrideSpecial",
    ),
}

_PVC = "kubernetes:core/v1:PersistentVolumeClaim"
_PVC_STORAGE = ("spec", "resources", "requests", "storage")
_STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"


def expandable_classes(*plans: Plan) -> dict[str, bool]:
    """Whether each StorageClass the plans declare allows expansion (False if any plan says no)."""
    classes: dict[str, bool] = {}
    for plan in plans:
        for resource in plan.of_type(_STORAGE_CLASS):
            name = (resource.inputs.get("metadata") or {}).get("name")
            if isinstance(name, str):
                classes[name] = classes.get(name, True) and resource.inputs.get("allowVolumeExpansion") is True
    return classes


@dataclass(frozen=True)
class ReplaceReason:
    """Why a change replaces: the changed path and the rule that makes it immutable."""

    path: Path
    rule: str


def replace_reasons(old: PlanResource, new: PlanResource, changes: Iterable[Path],
                    classes: Mapping[str, bool] | None = None) -> list[ReplaceReason]:
    """The changed paths that force ``old`` to be replaced by ``new``.

    Args:
        old: The resource as it is in the old plan.
        new: The same resource in the new plan.
        changes: Paths (into ``inputs``) where the two differ.
        classes: StorageClasses by name and whether they allow expansion
            (:func:`expandable_classes`); a claim grows in place only on one that does.

    Returns:
        One reason per changed path that is immutable; empty for an in-place update.
    """
    patterns = [(parse_pattern(p), "immutable") for p in FORCE_NEW.get(new.type, ())]
    if is_kubernetes_object_type(new.type):
        patterns += [(parse_pattern(p), "immutable") for p in _METADATA]
    patterns += [(parse_pattern(p), "replaceOnChanges") for p in new.replace_on_changes]

    reasons = []
    for change in changes:
        if new.type == _PVC and change[:1] == ("spec",):
            if _is_storage_increase(old, new, change):
                klass = value_at(new.inputs, ("spec", "storageClassName"))
                if (classes or {}).get(klass) is True:
                    continue
                reasons.append(ReplaceReason(change, f"a claim grows only on a class that allows expansion, and "
                                             f"class {klass!r} " + ("does not" if klass in (classes or {})
                                                                    else "is not declared in the plan")))
                continue
            reasons.append(ReplaceReason(change, "immutable (a claim's spec only allows a storage increase)"))
            continue
        for pattern, rule in patterns:
            if touches(change, pattern):
                reasons.append(ReplaceReason(change, rule))
                break
    return reasons


def _is_storage_increase(old: PlanResource, new: PlanResource, change: Path) -> bool:
    if tuple(change) != _PVC_STORAGE:
        return False
    before, after = value_at(old.inputs, _PVC_STORAGE), value_at(new.inputs, _PVC_STORAGE)
    if before is None or after is None:
        return False
    from kubernetes.utils.quantity import parse_quantity  # slow import; only needed here

    try:
        return parse_quantity(after) > parse_quantity(before)
    except ValueError:
        return False
