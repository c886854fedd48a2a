"""``Board``: a Kubeflow ``Tensorboard`` over a log folder on a claim of its profile.

The tensorboard controller reads ``spec.logspath`` as ``pvc://<claim>/<path>`` (a claim
of the same namespace, mounted read-only with the path as subPath), makes a Deployment,
a Service and a VirtualService on ``/tensorboard/<namespace>/<name>/`` of the Kubeflow
gateway, and copies the Deployment's ``readyReplicas`` into ``status.readyReplicas``
(kubeflow/kubeflow components/tensorboard-controller/controllers/tensorboard_controller.go:
generateDeployment, isPVCPath, extractPVCSubPath, Reconcile). So the board is awaited with
``jsonpath={.status.readyReplicas}=1``.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.components.base import ArgsModel, depends_of
from mlplane.components.platform.install import WAIT_FOR
from mlplane.components.workbench.spec import TensorboardSpec

TENSORBOARD_API = "tensorboard.kubeflow.org/v1alpha1"


class BoardArgs(ArgsModel):
    """Arguments of :class:`Board`."""

    spec: TensorboardSpec = Field(description="The TensorBoard.")
    claim: str = Field(description="The claim holding the logs (a notebook's workspace, or the named claim).")


def logs_path(claim: str, path: str) -> str:
    """The controller's ``logspath`` for a folder on a claim."""
    return f"pvc://{claim}/{path.strip('/')}" if path.strip("/") else f"pvc://{claim}"


class Board(pulumi.ComponentResource):
    """A TensorBoard of a profile.

    Attributes:
        tensorboard: The Tensorboard custom resource (awaited until it serves).
    """

    def __init__(self, name: str, args: BoardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:workbench:Board", name, None, opts)
        spec = args.spec
        self.tensorboard = k8s.apiextensions.CustomResource(
            f"{name}-tensorboard",
            api_version=TENSORBOARD_API,
            kind="Tensorboard",
            metadata={"name": spec.name, "namespace": spec.profile,
                      "labels": {"app.kubernetes.io/managed-by": "mlplane",
                                 "app.kubernetes.io/component": "tensorboard"},
                      "annotations": {WAIT_FOR: "jsonpath={.status.readyReplicas}=1",
                                      "pulumi.com/timeoutSeconds": "900"}},
            spec={"logspath": logs_path(args.claim, spec.path)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_of(opts)),
        )
        self.register_outputs({"tensorboard": spec.name, "namespace": spec.profile,
                               "path": f"/tensorboard/{spec.profile}/{spec.name}/"})
