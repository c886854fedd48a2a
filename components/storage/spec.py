"""Storage specs: storage classes, volumes and the artifact store, and their facts.

Pure (no Pulumi): the config loader validates with these models and rules, and
:func:`artifact_store_facts` tells pipelines and serving endpoints how to reach the
artifact store without building anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import AfterValidator, Field

from mlplane.components.base import ArgsModel, SecretValue
from mlplane.core.naming import check_dns_label, is_dns_subdomain
from mlplane.components.pod_security import check_image
from mlplane.components.quantity import check_quantity
from mlplane.components.renames import RenameHistory

DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
Image = Annotated[str, AfterValidator(check_image)]


def check_storage_size(value: str) -> str:
    """Validate a storage size: a positive Kubernetes quantity of bytes (``10Gi``, ``500G``).

    Raises:
        ValueError: Not a quantity, not positive, or in milli-units.
    """
    check_quantity(value)
    number = re.match(r"^[+]?(\d+(\.\d*)?|\.\d+)", value)
    try:
        positive = number is not None and Decimal(number.group(1)) > 0
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        positive = False
    if not positive or value.endswith("m"):
        raise ValueError("must be a positive size in bytes, a Kubernetes quantity such as 10Gi or 500G")
    return value


def check_class_name(value: str) -> str:
    """Validate a StorageClass name (a DNS-1123 subdomain)."""
    if not is_dns_subdomain(value):
        raise ValueError("must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'")
    return value


StorageSize = Annotated[str, AfterValidator(check_storage_size)]
ClassName = Annotated[str, AfterValidator(check_class_name)]


class _ClassBase(ArgsModel):
    name: ClassName = Field(description="StorageClass name; volumes refer to it.")
    reclaim_policy: Literal["Retain", "Delete"] = Field(
        "Retain", description="What happens to a volume's disk when its claim is deleted (Retain keeps the data).",
    )
    default: bool = Field(False, description="Mark as the cluster's default StorageClass.")

    #: The CSI provisioner, and the cluster kinds it exists on.
    provisioner: ClassVar[str] = ""
    clusters: ClassVar[tuple[str, ...]] = ()
    #: Whether its driver grows volumes (allowVolumeExpansion). The cloud disk drivers
    #: advertise ControllerServiceCapability_RPC_EXPAND_VOLUME: kubernetes-sigs/
    #: gcp-compute-persistent-disk-csi-driver v1.26.0 pkg/gce-pd-csi-driver/gce-pd-driver.go,
    #: aws-ebs-csi-driver v1.64.0 pkg/driver/controller.go, azuredisk-csi-driver v1.34.0
    #: pkg/azuredisk/azuredisk.go.
    expandable: ClassVar[bool] = True
    #: Access modes its volumes can be mounted with (block devices: one node at a time).
    access_modes: ClassVar[tuple[str, ...]] = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteOncePod")
    #: Whether its volumes are network block devices that Kubernetes' attach/detach
    #: controller attaches to one node at a time: a second pod on another node waits with
    #: "Multi-Attach error for volume ... Volume is already used by pod(s)" (kubernetes/kubernetes
    #: pkg/controller/volume/attachdetach/reconciler/reconciler.go: isMultiAttachAllowed, false
    #: for a volume with ReadWriteOnce or ReadWriteOncePod; kserve/kserve#3409). Node-local
    #: (local-path) volumes pin their pods to the volume's node instead; NFS is not attached.
    attaches_to_one_node: ClassVar[bool] = True

    def parameters(self) -> dict[str, str]:
        """The StorageClass ``parameters``."""
        return {}

    def mount_options(self) -> list[str]:
        """The StorageClass ``mountOptions``."""
        return []


class GcePdClass(_ClassBase):
    """GKE persistent disk (pd.csi.storage.gke.io)."""

    kind: Literal["gce-pd"] = Field(description="GKE persistent disk.")
    disk_type: Literal["pd-balanced", "pd-ssd", "pd-standard", "hyperdisk-balanced"] = Field(
        "pd-balanced", description="Disk type."
    )
    provisioner: ClassVar[str] = "pd.csi.storage.gke.io"
    clusters: ClassVar[tuple[str, ...]] = ("gke",)

    def parameters(self) -> dict[str, str]:
        return {"type": self.disk_type}


class EbsClass(_ClassBase):
    """EBS volumes through the EBS CSI driver (the EKS add-on must be enabled)."""

    kind: Literal["ebs"] = Field(description="Amazon EBS.")
    volume_type: Literal["gp3", "gp2", "io2", "io1", "st1"] = Field("gp3", description="EBS volume type.")
    provisioner: ClassVar[str] = "ebs.csi.aws.com"
    clusters: ClassVar[tuple[str, ...]] = ("eks",)

    def parameters(self) -> dict[str, str]:
        return {"type": self.volume_type, "encrypted": "true"}


class AzureDiskClass(_ClassBase):
    """Azure managed disks (disk.csi.azure.com)."""

    kind: Literal["azure-disk"] = Field(description="Azure managed disk.")
    sku: Literal["StandardSSD_LRS", "Premium_LRS", "PremiumV2_LRS", "StandardSSD_ZRS", "Premium_ZRS"] = Field(
        "Premium_LRS", description="Disk SKU."
    )
    provisioner: ClassVar[str] = "disk.csi.azure.com"
    clusters: ClassVar[tuple[str, ...]] = ("aks",)

    def parameters(self) -> dict[str, str]:
        return {"skuName": self.sku}


class LocalPathClass(_ClassBase):
    """Node-local directories (rancher local-path-provisioner, as in kind and k3s)."""

    kind: Literal["local-path"] = Field(description="local-path-provisioner (kind, k3s, self-hosted).")
    provisioner: ClassVar[str] = "rancher.io/local-path"
    clusters: ClassVar[tuple[str, ...]] = ("local", "selfhosted")
    # rancher/local-path-provisioner (v0.0.37) has no resize path: a directory has no size.
    expandable: ClassVar[bool] = False
    # Its PersistentVolumes carry node affinity to the node holding the folder: every pod of
    # the claim is scheduled there, none is attached elsewhere.
    attaches_to_one_node: ClassVar[bool] = False


class NfsClass(_ClassBase):
    """An NFS export through csi-driver-nfs (ReadWriteMany)."""

    kind: Literal["nfs"] = Field(description="NFS (csi-driver-nfs).")
    server: str = Field(min_length=1, description="NFS server host name or address.")
    share: str = Field(pattern=r"^/", description="Exported path, e.g. /exports/ml.")
    nfs_version: Literal["3", "4.1"] = Field("4.1", description="NFS protocol version.")
    provisioner: ClassVar[str] = "nfs.csi.k8s.io"
    clusters: ClassVar[tuple[str, ...]] = ("local", "selfhosted")
    # csi-driver-nfs advertises EXPAND_VOLUME only from v4.10.0, and there its
    # ControllerExpandVolume only reports the new size (kubernetes-csi/csi-driver-nfs
    # v4.13.0 pkg/nfs/nfs.go, pkg/nfs/controllerserver.go): the export has no quota. The
    # driver is a prerequisite of any version, so growing a claim stays a replace.
    expandable: ClassVar[bool] = False
    access_modes: ClassVar[tuple[str, ...]] = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
    attaches_to_one_node: ClassVar[bool] = False  # csi-driver-nfs has no ControllerPublish (no attach)

    def parameters(self) -> dict[str, str]:
        return {"server": self.server, "share": self.share}

    def mount_options(self) -> list[str]:
        return [f"nfsvers={self.nfs_version}"]


class ExistingClass(ArgsModel):
    """A StorageClass the cluster already has (Ceph RBD or CephFS, vSphere, a storage vendor's CSI
    driver): volumes use it by name; mlplane creates and changes nothing of it.

    mlplane cannot read the driver's abilities from the plan, so the stack states them:
    the access modes its volumes support, whether they are block devices attached to one
    node at a time (the claims' consumers are then judged as on EBS or persistent disks:
    components/storage/rules.py ``one_node_claim``), and whether it grows volumes.
    ``mlplane preview`` prints the check that the class exists.
    """

    kind: Literal["existing"] = Field(description="A StorageClass the cluster has (not created by mlplane).")
    name: ClassName = Field(description="Its name on the cluster (`kubectl get storageclass`); volumes refer to it.")
    access_modes: tuple[AccessMode, ...] = Field(
        ("ReadWriteOnce", "ReadWriteOncePod"), min_length=1,
        description="Access modes its driver supports (add ReadWriteMany for a shared file system such as "
                    "CephFS or NFS; ReadOnlyMany where volumes mount read-only on many nodes).")
    attaches_to_one_node: bool = Field(
        True, description="Its volumes are block devices attached to one node at a time (Ceph RBD, vSphere, iSCSI); "
                          "false for file systems mounted over the network (CephFS, NFS).")
    expandable: bool = Field(False, description="Its allowVolumeExpansion is true (claims can grow in place).")
    default: bool = Field(False, description="Use it for claims that name no class (as the stack's default).")

    #: Every cluster kind may have a class of its own.
    clusters: ClassVar[tuple[str, ...]] = ("local", "selfhosted", "gke", "eks", "aks")
    provisioner: ClassVar[str] = "(the cluster's)"


StorageClassSpec = Annotated[
    Union[GcePdClass, EbsClass, AzureDiskClass, LocalPathClass, NfsClass, ExistingClass],
    Field(discriminator="kind", description="A StorageClass, by kind."),
]

AccessMode = Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"]


class VolumeSpec(RenameHistory):
    """A volume for datasets or models: a PersistentVolumeClaim in the workload namespace or a profile's."""

    name: DnsLabel = Field(description="Claim name; pipelines and endpoints mount it by this name.")
    namespace: DnsLabel | None = Field(
        None, description="Namespace of the claim: a profile of mlplane:kubeflow.profiles, for the team's pipelines "
                          "that run there (every pipeline that runs as an Argo Workflow, every search) and its "
                          "notebooks; a pod mounts claims of its own namespace only. Default: the workload namespace.")
    size: StorageSize = Field(description="Size, a Kubernetes quantity (e.g. 100Gi).")
    storage_class: ClassName = Field(description="One of mlplane:storage.classes.")
    access_modes: tuple[AccessMode, ...] = Field(("ReadWriteOnce",), min_length=1, description="Access modes.")
    protect: bool | None = Field(None, description="Protect from deletion (default: mlplane:storage.protect).")

    @property
    def claim_name(self) -> str:
        """The claim's Kubernetes name: the volume's first name, kept across renames."""
        return self.data_name


class InClusterStore(ArgsModel):
    """An S3-compatible store in the cluster (SeaweedFS, as Kubeflow Pipelines uses), for dev and on premises."""

    kind: Literal["in-cluster"] = Field(description="SeaweedFS in the cluster, S3 API.")
    bucket: DnsLabel = Field("mlpipeline", description="Bucket created for artifacts.")
    size: StorageSize = Field("20Gi", description="Volume size of the store.")
    storage_class: ClassName = Field(description="One of mlplane:storage.classes for the store's volume.")
    namespace: DnsLabel = Field("mlplane-artifacts", description="Namespace the store runs in.")
    image: Image = Field("chrislusf/seaweedfs:3.92", description="SeaweedFS image, pinned.")


class GcsStore(ArgsModel):
    """A Cloud Storage bucket, reached through GKE Workload Identity (no keys)."""

    kind: Literal["gcs"] = Field(description="Google Cloud Storage.")
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", description="Bucket name (globally unique).")
    location: str = Field(min_length=2, description="Bucket location, e.g. EUROPE-WEST4 or EU.")
    service_account_id: str = Field(
        "mlplane-artifacts", pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
        description="Id of the Google service account that workloads act as.",
    )


class S3Store(ArgsModel):
    """An S3 bucket, reached through IRSA (IAM roles for service accounts; no keys)."""

    kind: Literal["s3"] = Field(description="Amazon S3.")
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="Bucket name (globally unique).")
    oidc_provider_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+$",
        description="ARN of the cluster's IAM OIDC provider (aws eks describe-cluster ... identity.oidc.issuer).",
    )
    role_name: str = Field("mlplane-artifacts", pattern=r"^[\w+=,.@-]{1,64}$", description="IAM role workloads assume.")

    @property
    def oidc_issuer(self) -> str:
        """The issuer host and path (``oidc.eks.<region>.amazonaws.com/id/<id>``)."""
        return self.oidc_provider_arn.split("oidc-provider/", 1)[1]


class AzureBlobStore(ArgsModel):
    """An Azure Blob container, reached through Azure AD workload identity (no keys)."""

    kind: Literal["azure-blob"] = Field(description="Azure Blob Storage.")
    storage_account: str = Field(pattern=r"^[a-z0-9]{3,24}$", description="Storage account name (globally unique).")
    container: DnsLabel = Field("mlpipeline", description="Blob container for artifacts.")
    location: str = Field(min_length=2, description="Azure region, e.g. westeurope.")
    subscription_id: str = Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="Subscription of the storage account (scopes the role assignment).",
    )
    oidc_issuer_url: str = Field(pattern=r"^https://", description="The AKS cluster's OIDC issuer URL.")
    identity_name: str = Field("mlplane-artifacts", min_length=3, description="User-assigned managed identity name.")


def _check_endpoint(value: str) -> str:
    if not re.match(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/?$", value):
        raise ValueError("must be the store's URL: http(s)://host[:port], e.g. https://minio.dc1.example.internal:9000")
    return value.rstrip("/")


class S3CompatibleStore(ArgsModel):
    """An S3-compatible object store the team already runs (MinIO, Ceph RGW, a NAS's S3 API), with keys."""

    kind: Literal["s3-compatible"] = Field(description="An existing S3-compatible store (endpoint, bucket, keys).")
    endpoint: Annotated[str, AfterValidator(_check_endpoint)] = Field(
        description="The store's S3 URL, http(s)://host[:port] (https unless the store is inside a trusted network).")
    bucket: DnsLabel = Field(description="The bucket for artifacts and models (it must exist; mlplane creates none).")
    region: str = Field("us-east-1", min_length=1, description="The region the store expects in signatures.")
    verify_tls: bool = Field(True, description="Verify the store's certificate (https).")
    access_key_id: SecretValue | None = Field(
        None, description="Access key ID, as a secret (`pulumi config set --secret --path "
                          "'mlplane:storage.artifacts.access_key_id' ...`; `mlplane secrets` lists it).")
    secret_access_key: SecretValue | None = Field(None, description="Secret access key, as a secret.")

    @classmethod
    def secret_required(cls, field: str, raw: Any) -> bool:
        """Both keys are required (the loader refuses, or offline stands in, an unset one)."""
        return field in ("access_key_id", "secret_access_key")

    @property
    def host(self) -> str:
        """``host[:port]`` of the endpoint (KServe's ``s3-endpoint`` annotation takes no scheme)."""
        return self.endpoint.split("://", 1)[1]


ArtifactStoreSpec = Annotated[
    Union[InClusterStore, GcsStore, S3Store, AzureBlobStore, S3CompatibleStore],
    Field(discriminator="kind", description="Where pipelines and serving keep artifacts, by kind."),
]

#: Which cluster kinds each artifact store kind works on (the identity binding is the cloud's).
STORE_CLUSTERS = {"in-cluster": ("local", "selfhosted", "gke", "eks", "aks"), "gcs": ("gke",), "s3": ("eks",),
                  "azure-blob": ("aks",), "s3-compatible": ("local", "selfhosted", "gke", "eks", "aks")}
#: The Kubernetes ServiceAccount (in the workload namespace) that may use the artifact store.
ARTIFACT_SERVICE_ACCOUNT = "mlplane-artifacts"
#: The Secret (in the workload namespace) with the in-cluster store's S3 keys.
ARTIFACT_CREDENTIALS_SECRET = "mlplane-artifacts-s3"
#: The in-cluster store's Service name and S3 port.
IN_CLUSTER_SERVICE = "artifacts"
IN_CLUSTER_S3_PORT = 8333


@dataclass(frozen=True)
class ArtifactStoreFacts:
    """How work reaches the artifact store.

    Attributes:
        kind: ``in-cluster``, ``gcs``, ``s3`` or ``azure-blob``.
        scheme: URI scheme of artifact paths: ``s3``, ``gs`` or ``az``.
        bucket: Bucket (GCS, S3, in-cluster) or blob container (Azure).
        uri: Root of artifact paths, e.g. ``gs://acme-ml-artifacts``.
        endpoint: S3 endpoint URL for the in-cluster store (None: the cloud's own).
        account: Azure storage account (None elsewhere).
        namespace: Namespace of the service account and credentials secret.
        service_account: Kubernetes ServiceAccount that has access; pods run as it.
        credentials: How pods get credentials: ``workload-identity`` (GKE),
            ``irsa`` (EKS), ``azure-workload-identity`` (AKS) or ``secret`` (S3 keys in
            ``credentials_secret``, in-cluster store).
        credentials_secret: Secret with ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``.
        pod_labels: Labels pods need (Azure workload identity's webhook opt-in).
        env: Environment variables (Kubernetes EnvVar dicts) that point S3/GCS/Azure
            clients at the store.
    """

    kind: str
    scheme: str
    bucket: str
    uri: str
    endpoint: str | None
    account: str | None
    namespace: str
    service_account: str
    credentials: str
    credentials_secret: str | None = None
    pod_labels: dict[str, str] = field(default_factory=dict)
    env: tuple[dict[str, Any], ...] = ()

    __hash__ = None  # type: ignore[assignment]

    def apply_to_pod_spec(self, pod_spec: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``pod_spec`` that runs as the store's service account with its env on every container.

        Pod labels (:attr:`pod_labels`) belong on the pod template's metadata; add them there.
        """
        import copy

        spec = copy.deepcopy(pod_spec)
        spec["serviceAccountName"] = self.service_account
        for container in spec.get("containers") or []:
            names = {e.get("name") for e in container.get("env") or []}
            container["env"] = [*(container.get("env") or []), *(dict(e) for e in self.env if e["name"] not in names)]
        return spec


def artifact_store_facts(store: Any, *, namespace: str, region: str | None = None) -> ArtifactStoreFacts:
    """The facts of an artifact store spec (pure; see :class:`ArtifactStoreFacts`).

    Args:
        store: One of the artifact store specs.
        namespace: The workload namespace (where the service account lives).
        region: The cloud region, where clients need it (EKS).
    """
    if isinstance(store, InClusterStore):
        endpoint = f"http://{IN_CLUSTER_SERVICE}.{store.namespace}.svc.cluster.local:{IN_CLUSTER_S3_PORT}"
        secret_ref = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": ARTIFACT_CREDENTIALS_SECRET, "key": key}}}
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        ]
        return ArtifactStoreFacts(
            kind=store.kind, scheme="s3", bucket=store.bucket, uri=f"s3://{store.bucket}", endpoint=endpoint,
            account=None, namespace=namespace, service_account=ARTIFACT_SERVICE_ACCOUNT, credentials="secret",
            credentials_secret=ARTIFACT_CREDENTIALS_SECRET,
            env=(*secret_ref, {"name": "AWS_ENDPOINT_URL_S3", "value": endpoint},
                 {"name": "AWS_REGION", "value": "us-east-1"}),
        )
    if isinstance(store, S3CompatibleStore):
        keys = [{"name": key, "valueFrom": {"secretKeyRef": {"name": ARTIFACT_CREDENTIALS_SECRET, "key": key}}}
                for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")]
        return ArtifactStoreFacts(
            kind=store.kind, scheme="s3", bucket=store.bucket, uri=f"s3://{store.bucket}", endpoint=store.endpoint,
            account=None, namespace=namespace, service_account=ARTIFACT_SERVICE_ACCOUNT, credentials="secret",
            credentials_secret=ARTIFACT_CREDENTIALS_SECRET,
            env=(*keys, {"name": "AWS_ENDPOINT_URL_S3", "value": store.endpoint},
                 {"name": "AWS_REGION", "value": store.region}),
        )
    if isinstance(store, GcsStore):
        return ArtifactStoreFacts(kind=store.kind, scheme="gs", bucket=store.bucket, uri=f"gs://{store.bucket}",
                                  endpoint=None, account=None, namespace=namespace,
                                  service_account=ARTIFACT_SERVICE_ACCOUNT, credentials="workload-identity")
    if isinstance(store, S3Store):
        env = ({"name": "AWS_REGION", "value": region},) if region else ()
        return ArtifactStoreFacts(kind=store.kind, scheme="s3", bucket=store.bucket, uri=f"s3://{store.bucket}",
                                  endpoint=None, account=None, namespace=namespace,
                                  service_account=ARTIFACT_SERVICE_ACCOUNT, credentials="irsa", env=env)
    if isinstance(store, AzureBlobStore):
        return ArtifactStoreFacts(
            kind=store.kind, scheme="az", bucket=store.container, uri=f"az://{store.container}",
            endpoint=f"https://{store.storage_account}.blob.core.windows.net", account=store.storage_account,
            namespace=namespace, service_account=ARTIFACT_SERVICE_ACCOUNT, credentials="azure-workload-identity",
            pod_labels={"azure.workload.identity/use": "true"},
            env=({"name": "AZURE_STORAGE_ACCOUNT_NAME", "value": store.storage_account},),
        )
    raise TypeError(f"not an artifact store spec: {store!r}")
