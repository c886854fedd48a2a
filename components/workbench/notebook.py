"""``Workbench``: one notebook server of a profile, its volumes, awaited until it serves.

The server is a Kubeflow ``Notebook`` (kubeflow.org/v1) in the profile's namespace. The
notebook controller turns it into a StatefulSet, a Service and an Istio VirtualService
on ``/notebook/<namespace>/<name>/`` of the Kubeflow gateway, so it is reached through
the dashboard, behind the gateway's login (kubeflow/kubeflow
components/notebook-controller/controllers/notebook_controller.go, generateVirtualService).

Readiness: that controller copies its StatefulSet's ``readyReplicas`` into the
Notebook's ``status.readyReplicas``; its conditions are the container's states
(Running, Waiting, Terminated), not a ``Ready`` condition. So the Notebook is awaited
with ``jsonpath={.status.readyReplicas}=1`` (same file, Reconcile and getNextCondition).
The container carries the Notebook's name: the controller reads the state of the
container named like the Notebook.

The workspace and data claims hold the user's work: protected and kept on delete, named
after the notebook's oldest name (``formerly``), so a renamed server keeps its home.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import ConfigDict, Field

from mlplane.components.base import ArgsModel, depends_of
from mlplane.components.platform.install import WAIT_FOR
from mlplane.components.platform.pipelines_access import ACCESS_LABEL
from mlplane.components.pod_security import ComputeResources, restricted_container_security_context
from mlplane.components.scheduling import Placement
from mlplane.components.serving.args import ModelStore
from mlplane.components.storage.volume import claim, stateful_options
from mlplane.components.workbench.spec import NOTEBOOK_FS_GROUP, NOTEBOOK_UID, NotebookSpec

NOTEBOOK_API = "kubeflow.org/v1"
#: What the Jupyter web app writes on servers it spawns (kubeflow/kubeflow
#: components/crud-web-apps/jupyter/backend/apps/common/form.py, set_server_type):
#: the server type, and for VS Code and RStudio a rewrite of the prefix to ``/``
#: (RStudio also learns its root path from a header).
SERVER_TYPE_ANNOTATION = "notebooks.kubeflow.org/server-type"
URI_REWRITE_ANNOTATION = "notebooks.kubeflow.org/http-rewrite-uri"
HEADERS_ANNOTATION = "notebooks.kubeflow.org/http-headers-request-set"
SERVER_TYPES = {"jupyter": "jupyter", "vscode": "group-one", "rstudio": "group-two"}
#: The notebook controller's stop annotation (kubeflow/kubeflow v1.8.0 and v1.10.0
#: components/notebook-controller/controllers/culling_controller.go, STOP_ANNOTATION): while it is
#: set, generateStatefulSet (notebook_controller.go) gives the server 0 replicas; the culler sets it too.
STOP_ANNOTATION = "kubeflow-resource-stopped"
#: The ServiceAccount the profile controller creates in every profile namespace (what the
#: spawner gives notebooks); with its token, kubectl and the KFP SDK work from the server.
DEFAULT_EDITOR = "default-editor"
#: Waiting for a server: image pulls of the CUDA images take a while.
AWAIT_SECONDS = 1800


class WorkbenchArgs(ArgsModel):
    """Arguments of :class:`Workbench`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    spec: NotebookSpec = Field(description="The notebook server.")
    image: str = Field(description="The resolved image (the release's default when the spec names none).")
    restricted: bool = Field(True, description="Run the container with the restricted security context.")
    resources: ComputeResources = Field(description="Resolved CPU and memory.")
    placement: Placement | None = Field(None, description="Accelerators, placed on the stack's pools.")
    workspace_class: str | None = Field(None, description="Resolved storage class of the workspace claim.")
    data_classes: dict[str, str | None] = Field(
        default_factory=dict, description="Resolved storage class of each new data claim, by volume name.")
    store: ModelStore | None = Field(None, description="The artifact store's identity, with artifact_access.")
    pipelines_access: bool = Field(
        False, description="The profile opted in to KFP access: the server is labelled for its "
                           "access-ml-pipeline PodDefault (a token with the KFP audience).")
    protect: bool = Field(True, description="protect and retainOnDelete on the claims.")


def server_annotations(spec: NotebookSpec, namespace: str) -> dict[str, str]:
    """The annotations the spawner would set for this kind of server, and the stop switch."""
    annotations = {SERVER_TYPE_ANNOTATION: SERVER_TYPES[spec.kind]}
    if spec.kind in ("vscode", "rstudio"):
        annotations[URI_REWRITE_ANNOTATION] = "/"
    if spec.kind == "rstudio":
        annotations[HEADERS_ANNOTATION] = f'{{"X-RStudio-Root-Path":"/notebook/{namespace}/{spec.name}/"}}'
    if spec.stopped:
        # The controller reads only that the key is present; its culler writes a timestamp.
        annotations[STOP_ANNOTATION] = "mlplane"
    return annotations


def notebook_pod_spec(args: WorkbenchArgs) -> dict[str, Any]:
    """The server's pod spec: its container, volumes, identity, placement and security."""
    spec = args.spec
    mounts = [{"name": "workspace", "mountPath": spec.workspace.mount_path}]
    volumes: list[dict[str, Any]] = [{"name": "workspace",
                                      "persistentVolumeClaim": {"claimName": spec.workspace_claim}}]
    for volume in spec.data_volumes:
        mounts.append({"name": volume.name, "mountPath": volume.mount_path, "readOnly": volume.read_only})
        volumes.append({"name": volume.name, "persistentVolumeClaim": {
            "claimName": spec.data_claim(volume), "readOnly": volume.read_only}})
    if spec.shared_memory:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory"}})
    container: dict[str, Any] = {
        "name": spec.name,  # the controller reports the state of the container named like the Notebook
        "image": args.image,
        "imagePullPolicy": "IfNotPresent",
        "resources": args.resources.to_k8s(),
        "volumeMounts": mounts,
    }
    env: list[dict[str, Any]] = []
    pod: dict[str, Any] = {"containers": [container], "volumes": volumes}
    if args.restricted:
        container["securityContext"] = restricted_container_security_context()
        # No runAsGroup: the images choose their primary group (100 before v1.9, 0 since
        # kubeflow/kubeflow#7622); the controller's default fsGroup keeps the home writable.
        pod["securityContext"] = {"runAsNonRoot": True, "runAsUser": NOTEBOOK_UID, "fsGroup": NOTEBOOK_FS_GROUP,
                                  "seccompProfile": {"type": "RuntimeDefault"}}
    else:
        pod["securityContext"] = {"fsGroup": NOTEBOOK_FS_GROUP}
    if spec.artifact_access:
        if args.store is None or args.store.service_account is None:
            raise ValueError(f"notebook {spec.name!r} needs the artifact store, and the stack has none")
        pod["serviceAccountName"] = args.store.service_account
        pod["automountServiceAccountToken"] = False
        env += [dict(e) for e in args.store.env]
    elif spec.kubernetes_api:
        pod["serviceAccountName"] = DEFAULT_EDITOR
        pod["automountServiceAccountToken"] = True
    else:
        pod["serviceAccountName"] = DEFAULT_EDITOR
        pod["automountServiceAccountToken"] = False
    if env:
        container["env"] = env
    if args.placement is not None:
        pod = args.placement.apply_to_pod_spec(pod, spec.name)
    return pod


class Workbench(pulumi.ComponentResource):
    """A notebook server with its workspace and data claims.

    Attributes:
        notebook: The Notebook custom resource (awaited until its server is ready).
        claims: The claims mlplane made for it, by volume name (``workspace`` first).
    """

    def __init__(self, name: str, args: WorkbenchArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:workbench:Workbench", name, None, opts)
        spec = args.spec
        namespace = spec.profile
        after = depends_of(opts)
        self.claims: dict[str, pulumi.Resource] = {}
        workspace = claim(f"{name}-workspace", spec.workspace_claim, namespace, spec.workspace.size,
                          args.workspace_class, ("ReadWriteOnce",),
                          stateful_options(self, args.protect, depends_on=after))
        self.claims["workspace"] = workspace
        for volume in spec.data_volumes:
            if volume.size is None:
                continue
            self.claims[volume.name] = claim(
                f"{name}-data-{volume.name}", spec.data_claim(volume), namespace, volume.size,
                args.data_classes.get(volume.name), ("ReadWriteMany",) if volume.shared else ("ReadWriteOnce",),
                stateful_options(self, args.protect, depends_on=after))
        labels = {"app.kubernetes.io/managed-by": "mlplane", "app.kubernetes.io/component": "workbench",
                  **(args.store.pod_labels if spec.artifact_access and args.store is not None else {}),
                  # The controller copies these to the pod; the profile's PodDefault selects it.
                  **({ACCESS_LABEL: "true"} if args.pipelines_access else {})}
        annotations = {**server_annotations(spec, namespace), "pulumi.com/timeoutSeconds": str(AWAIT_SECONDS)}
        if not spec.stopped:
            annotations[WAIT_FOR] = "jsonpath={.status.readyReplicas}=1"
        self.notebook = k8s.apiextensions.CustomResource(
            f"{name}-notebook",
            api_version=NOTEBOOK_API,
            kind="Notebook",
            metadata={"name": spec.name, "namespace": namespace, "labels": labels, "annotations": annotations},
            spec={"template": {"spec": notebook_pod_spec(args)}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, *self.claims.values()]),
        )
        self.register_outputs({"notebook": spec.name, "namespace": namespace,
                               "path": f"/notebook/{namespace}/{spec.name}/"})
