"""What a stack says about workbenches: notebook servers and TensorBoards, per profile.

Pure (no Pulumi): the stack-config section ``mlplane:workbenches`` is made of these
models, and the rules of :mod:`infra.config.workbenches` check them against the rest of
the stack (profiles, release images, pools, storage) before anything is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.core.naming import check_dns_label, k8s_name
from mlplane.components.pod_security import ResourceOverrides
from mlplane.components.renames import RenameHistory
from mlplane.components.scheduling import AcceleratorRequest
from mlplane.components.storage.spec import ClassName, StorageSize
from mlplane.components.upstream_names import longest_name, rules_for
from mlplane.components.workbench.images import NotebookKind

DnsLabel = Annotated[str, AfterValidator(check_dns_label)]

#: The longest notebook name: the controller names its StatefulSet after the Notebook, and
#: a StatefulSet's pods carry ``controller-revision-hash: <name>-<10-character hash>``, a
#: label value of at most 63 characters (kubernetes/kubernetes#64023).
NOTEBOOK_NAME_MAX = 52


def _check_notebook_name(value: str) -> str:
    check_dns_label(value)
    if len(value) > NOTEBOOK_NAME_MAX:
        raise ValueError(f"must be at most {NOTEBOOK_NAME_MAX} characters: the server's StatefulSet pods carry "
                         "a label of the name plus an 11-character hash, and labels hold 63")
    return _check_letter_first(value)


#: The longest TensorBoard name: the controller names the Service's port ``http-<name>``, a
#: DNS label (components/upstream_names.py, the Tensorboard rows: 58 on both trains).
TENSORBOARD_NAME_MAX = longest_name(_TENSORBOARD_RULE) if (
    _TENSORBOARD_RULE := rules_for("tensorboard.kubeflow.org/v1alpha1", "Tensorboard", "26.03")) else 63


def _check_tensorboard_name(value: str) -> str:
    if len(value) > TENSORBOARD_NAME_MAX:
        raise ValueError(f"must be at most {TENSORBOARD_NAME_MAX} characters: the controller names its Service's "
                         "port http-<name>, and port names hold 63")
    return _check_letter_first(value)


def _check_letter_first(value: str) -> str:
    # The notebook and tensorboard controllers name a Service after the object, and Service
    # names are DNS-1035 labels (components/upstream_names.py: NAME_RULES).
    if not value[:1].isalpha():
        raise ValueError("must start with a letter: the controller names a Service after it, and Service names "
                         "are DNS-1035 labels")
    return value


NotebookName = Annotated[str, AfterValidator(_check_notebook_name)]

#: Where Kubeflow's notebook images keep the user's home (the spawner's workspace mount).
HOME = "/home/jovyan"
#: Kubeflow's notebook images run as ``jovyan``, uid 1000 (NB_UID of the images).
NOTEBOOK_UID = 1000
#: The notebook controller's default fsGroup (kubeflow/kubeflow
#: components/notebook-controller/controllers/notebook_controller.go, DefaultFSGroup).
NOTEBOOK_FS_GROUP = 100


def _check_mount_path(value: str) -> str:
    if not value.startswith("/") or any(part == ".." for part in value.split("/")):
        raise ValueError("must be an absolute path in the container, without '..'")
    if value.rstrip("/") in ("", "/dev", "/proc", "/sys", "/etc", "/dev/shm"):
        raise ValueError("must not hide a system folder (/, /dev, /proc, /sys, /etc)")
    return value


MountPath = Annotated[str, AfterValidator(_check_mount_path)]


class WorkspaceSpec(ArgsModel):
    """The notebook's home: a claim that outlives the server (protected, kept across renames)."""

    size: StorageSize = Field("10Gi", description="Size of the workspace claim; it may grow, never shrink.")
    storage_class: ClassName | None = Field(
        None, description="One of mlplane:storage.classes. Default: the stack's default class, else the "
                          "cluster's.")
    mount_path: MountPath = Field(HOME, description="Where the workspace is mounted (the images' home).")


class DataVolumeSpec(ArgsModel):
    """A further volume of the notebook: a new claim mlplane keeps, or an existing claim of the profile."""

    name: DnsLabel = Field(description="The volume's name in the notebook (and of the claim mlplane makes).")
    mount_path: MountPath = Field(description="Where it is mounted.")
    size: StorageSize | None = Field(None, description="Make a claim of this size (protected).")
    storage_class: ClassName | None = Field(None, description="Class of a claim mlplane makes.")
    claim: DnsLabel | None = Field(None, description="Mount this existing claim of the profile's namespace instead.")
    read_only: bool = Field(False, description="Mount read-only.")
    shared: bool = Field(
        False, description="Make the new claim ReadWriteMany (an nfs class), so a TensorBoard or other pods can "
                           "mount it while the server runs on another node.")

    @model_validator(mode="after")
    def _one_source(self) -> "DataVolumeSpec":
        if (self.size is None) == (self.claim is None):
            raise ValueError("give either size (a new claim) or claim (an existing one), not both or neither")
        if self.claim is not None and self.storage_class is not None:
            raise ValueError("storage_class applies to a new claim only (size), not to an existing claim")
        return self


#: Idle culling is one setting of the notebook controller, for every server: Kubeflow reads
#: no per-Notebook switch or idle time (components/platform/notebook_culling.py).
_CULLING_IS_PLATFORM_WIDE = (
    "idle culling is not a per-server setting in Kubeflow (the notebook controller culls every server alike "
    "and reads no per-Notebook switch or idle time): set mlplane:kubeflow.components.notebooks.culling for the "
    "platform, or stopped: true to stop this server")


class NotebookSpec(RenameHistory):
    """A notebook server of a profile: Jupyter, VS Code (code-server) or RStudio."""

    #: Keys users write on a server that belong elsewhere (the config loader says where).
    misplaced_keys: ClassVar[Mapping[str, str]] = MappingProxyType(dict.fromkeys(
        ("culling", "cull", "cull_idle_time", "idle_minutes", "idle_time", "idle_timeout", "enable_culling",
         "culling_enabled"), _CULLING_IS_PLATFORM_WIDE))

    name: NotebookName = Field(description="The server's name in its profile (the Notebook's name), at most "
                                           f"{NOTEBOOK_NAME_MAX} characters.")
    profile: DnsLabel = Field(description="The profile (from mlplane:kubeflow.profiles) it runs in.")
    kind: NotebookKind = Field("jupyter", description="jupyter, vscode (code-server) or rstudio.")
    image: str | None = Field(
        None, description="One of the images Kubeflow's spawner offers for this kind on the release, in full or "
                          "by its short name (jupyter-pytorch-cuda-full: follows the release train); default: the "
                          "spawner's default. Another image needs custom_image: true.")
    custom_image: bool = Field(
        False, description="The image is the team's own (pinned), not one the release offers.")
    security: Literal["restricted", "baseline"] | None = Field(
        None, description="Pod Security of the server's container: restricted (non-root, no privilege "
                          "escalation, no capabilities) or baseline. Default: restricted, except for the "
                          "1.8.1 release images, which cannot run that way (see docs/workbenches.md).")
    resources: ResourceOverrides = Field(default_factory=ResourceOverrides, description="CPU and memory.")
    accelerator: AcceleratorRequest | None = Field(
        None, description="Accelerators, placed on the stack's pools (a vendor or a pool; shared pools give a "
                          "slice).")
    workspace: WorkspaceSpec = Field(default_factory=WorkspaceSpec, description="The home volume.")
    data_volumes: tuple[DataVolumeSpec, ...] = Field((), description="Further volumes.")
    artifact_access: bool = Field(
        False, description="Run as the artifact store's identity (workload identity, IRSA, or its S3 keys), "
                           "as pipeline steps with artifact_access do.")
    kubernetes_api: bool = Field(
        False, description="Run as the profile's default-editor ServiceAccount with its API token (kubectl, "
                           "the KFP SDK from the notebook). Not with artifact_access.")
    shared_memory: bool = Field(True, description="Mount a memory-backed /dev/shm (PyTorch data loaders).")
    stopped: bool = Field(False, description="Stop the server (Kubeflow's stop annotation): volumes stay.")
    protect: bool | None = Field(
        None, description="Protect its claims (default: mlplane:kubeflow.protect_data, which protects users' "
                          "notebook volumes with the profiles).")

    @model_validator(mode="after")
    def _coherent(self) -> "NotebookSpec":
        if self.custom_image and self.image is None:
            raise ValueError("custom_image: true needs an image")
        if self.kubernetes_api and self.artifact_access:
            raise ValueError("a server runs as one ServiceAccount: choose kubernetes_api or artifact_access")
        names = [v.name for v in self.data_volumes]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"data volume names used twice: {', '.join(repeated)}")
        paths = [self.workspace.mount_path, *(v.mount_path for v in self.data_volumes)]
        if self.shared_memory:
            paths.append("/dev/shm")
        # Nested mounts are fine (a data volume inside the home); the same path twice is not.
        cleaned = [p.rstrip("/") for p in paths]
        twice = sorted({p for p in cleaned if cleaned.count(p) > 1})
        if twice:
            raise ValueError(f"two volumes are mounted at {', '.join(twice)}")
        return self

    @property
    def workspace_claim(self) -> str:
        """The workspace claim's name: the spawner's ``<notebook>-workspace``, after the oldest name."""
        return k8s_name(self.data_name, "workspace")

    def data_claim(self, volume: DataVolumeSpec) -> str:
        """The claim a data volume mounts (an existing one, or the one mlplane makes)."""
        return volume.claim if volume.claim is not None else k8s_name(self.data_name, volume.name)


_LOG_PATH = re.compile(r"^[A-Za-z0-9._/-]*$")


def _check_log_path(value: str) -> str:
    if value.startswith("/") or ".." in value.split("/") or not _LOG_PATH.match(value):
        raise ValueError("must be a path inside the volume: relative, without '..', letters, digits, ._-/ only")
    return value


class TensorboardSpec(RenameHistory):
    """A TensorBoard of a profile over a log folder: a notebook's workspace or a claim of the profile."""

    name: Annotated[DnsLabel, AfterValidator(_check_tensorboard_name)] = Field(
        description=f"The TensorBoard's name in its profile: a letter first, at most {TENSORBOARD_NAME_MAX} "
                    "characters (its Service and the Service's port http-<name> are named after it).")
    profile: DnsLabel = Field(description="The profile it runs in.")
    notebook: DnsLabel | None = Field(
        None, description="Read the logs from this notebook's workspace (a notebook of the same profile).")
    claim: DnsLabel | None = Field(
        None, description="Read the logs from this claim of the profile's namespace (e.g. a pipeline's "
                          "volume when the pipeline runs in the profile).")
    volume: DnsLabel | None = Field(
        None, description="With notebook: read this data volume of the notebook instead of its workspace.")
    path: Annotated[str, AfterValidator(_check_log_path)] = Field(
        "", description="The log folder inside the volume, e.g. logs/mnist.")

    @model_validator(mode="after")
    def _one_source(self) -> "TensorboardSpec":
        if (self.notebook is None) == (self.claim is None):
            raise ValueError("give either notebook or claim as the log source")
        if self.volume is not None and self.notebook is None:
            raise ValueError("volume names a data volume of a notebook: give notebook too")
        return self


class WorkbenchesSpec(ArgsModel):
    """Notebook servers and TensorBoards of a stack's profiles."""

    notebooks: tuple[NotebookSpec, ...] = Field((), description="Notebook servers, per profile.")
    tensorboards: tuple[TensorboardSpec, ...] = Field((), description="TensorBoards, per profile.")
