"""Idle culling of notebook servers: a setting of the one notebook controller, never of a server.

What upstream does (kubeflow/kubeflow tags v1.8.0 and v1.10.0, the controllers of the
1.8.1 and 26.03 trains, whose ``components/notebook-controller/controllers/
culling_controller.go`` is the same file, git blob f76a136; kubeflow/notebooks v1.11.0
changes only its import paths):

- ``main.go`` starts the culler only when the controller's environment has
  ``ENABLE_CULLING=true``; ``initGlobalVars`` reads ``CULL_IDLE_TIME`` and
  ``IDLENESS_CHECK_PERIOD`` (minutes) once, at start.
- Per Notebook the culler keeps two annotations it writes itself
  (``notebooks.kubeflow.org/last-activity`` and ``.../last_activity_check_timestamp``) and
  sets ``kubeflow-resource-stopped`` once last-activity is CULL_IDLE_TIME minutes old. No
  annotation, label or field lets a server opt out or have its own idle time.
- last-activity moves only on answers of Jupyter's ``GET /notebook/<ns>/<name>/api/kernels``
  (a busy kernel: now; all idle: the newest kernel's ``last_activity``); no kernels or no
  answer leaves it where it was. So a VS Code or RStudio server, which has no such
  endpoint, keeps the time it was first seen and is stopped CULL_IDLE_TIME minutes after it
  started, busy or not; a Jupyter server with no kernel open counts as idle.

Both trains' manifests pass the three as keys of the controller's generated ConfigMap
``config`` (``params.env``; kustomize appends a content hash to its name), read with
``configMapKeyRef``. mlplane installs the directory unchanged (``kustomize.v2.Directory``
takes no patches), so it sets them afterwards with two server-side-apply patches: the keys
of that ConfigMap (forced: the directory's field manager owns them) and an annotation of the
controller's pod template that rolls the controller, since it reads them only at start.
``tests/test_notebook_culling.py`` proves the names against ``kubectl kustomize`` of both
trains' directories.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, PositiveInt

from mlplane.components.base import ArgsModel

#: The controller's environment variables, as its manager.yaml reads them from the ConfigMap.
ENABLE_CULLING = "ENABLE_CULLING"
CULL_IDLE_TIME = "CULL_IDLE_TIME"
IDLENESS_CHECK_PERIOD = "IDLENESS_CHECK_PERIOD"

#: The notebook controller's ConfigMap as each release's directory generates it (name with
#: kustomize's content hash: fixed by the pinned tag) and its Deployment, in ``kubeflow``.
CONTROLLER_CONFIG_MAPS: Mapping[str, str] = MappingProxyType({
    "1.8.1": "notebook-controller-config-dm5b6dd458",
    "26.03": "notebook-controller-config-fhm9f7tdt5",
})
CONTROLLER_DEPLOYMENT = "notebook-controller-deployment"
#: Where each release's tree keeps the controller's defaults (``../shared/upstream`` layout).
CONTROLLER_PARAMS: Mapping[str, str] = MappingProxyType({
    "1.8.1": "v1.8.1/apps/jupyter/notebook-controller/upstream/manager/params.env",
    "26.03": "26.03/applications/jupyter/notebook-controller/upstream/manager/params.env",
})
#: The most minutes the controller can hold: it turns both settings into
#: ``time.Duration(n) * time.Minute`` (``notebookIsIdle``, ``getRequeueTime`` in
#: culling_controller.go), an int64 of nanoseconds that wraps silently beyond this; a
#: wrapped idle time can be negative, and then every server is culled at its next check.
MAX_MINUTES = (2**63 - 1) // (60 * 10**9)
#: The pod-template annotation that restarts the controller when the settings change.
ROLLOUT_ANNOTATION = "mlplane.dev/notebook-culling"
#: pulumi-kubernetes' Patch resources fail on another field manager's fields unless forced
#: (pulumi_kubernetes core/v1 ConfigMapPatch docstring: "pulumi.com/patchForce").
PATCH_FORCE = "pulumi.com/patchForce"


class NotebookCulling(ArgsModel):
    """Idle culling of every notebook server of the platform (the notebook controller's setting).

    The defaults are what both release trains ship (``params.env``): off, one day, one minute.
    """

    enabled: bool = Field(False, description="Stop idle notebook servers (the controller's ENABLE_CULLING).")
    idle_minutes: PositiveInt = Field(
        1440, le=MAX_MINUTES, description="Minutes without kernel activity before a server is stopped (CULL_IDLE_TIME). The "
                          "culler sees only Jupyter kernels: VS Code and RStudio servers are stopped this long "
                          "after they start, busy or not.")
    check_period_minutes: PositiveInt = Field(
        1, le=MAX_MINUTES, description="Minutes between two checks of a server (IDLENESS_CHECK_PERIOD).")
    stop_busy_vscode_rstudio: bool = Field(
        False, description="Accept that, with culling on, declared VS Code and RStudio servers are stopped "
                           "idle_minutes after they start, busy or not (the culler sees only Jupyter kernels). "
                           "Without it such servers are refused while culling is on.")

    def environment(self) -> dict[str, str]:
        """The controller's environment for these settings."""
        return {ENABLE_CULLING: "true" if self.enabled else "false", CULL_IDLE_TIME: str(self.idle_minutes),
                IDLENESS_CHECK_PERIOD: str(self.check_period_minutes)}


def rollout_token(culling: NotebookCulling) -> str:
    """The pod-template annotation's value: changes exactly when the settings do."""
    return ",".join(f"{key}={value}" for key, value in culling.environment().items())


def declare_culling(name: str, release: str, namespace: str, culling: NotebookCulling,
                    opts: pulumi.ResourceOptions) -> list[pulumi.CustomResource]:
    """The two patches that give the release's notebook controller these culling settings.

    Kept on delete: relinquishing the forced ConfigMap keys would remove them, and the
    controller's ``configMapKeyRef`` (not optional) would then keep it from starting. They
    are declared whenever mlplane installs the controller, so the settings always follow
    the stack (a stack that says nothing gets upstream's defaults back).

    Args:
        name: Pulumi name prefix (``f"{name}-culling-config"``, ``f"{name}-culling-rollout"``).
        release: The release train (selects the ConfigMap's generated name).
        namespace: Where the controller runs (``kubeflow``).
        culling: The settings.
        opts: Parent and the controller's directory to wait for.
    """
    kept = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
    config = k8s.core.v1.ConfigMapPatch(
        f"{name}-culling-config",
        metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=CONTROLLER_CONFIG_MAPS[release], namespace=namespace,
                                                 annotations={PATCH_FORCE: "true"}),
        data=culling.environment(), opts=kept)
    rollout = k8s.apps.v1.DeploymentPatch(
        f"{name}-culling-rollout",
        metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=CONTROLLER_DEPLOYMENT, namespace=namespace),
        spec=k8s.apps.v1.DeploymentSpecPatchArgs(template=k8s.core.v1.PodTemplateSpecPatchArgs(
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(annotations={ROLLOUT_ANNOTATION: rollout_token(culling)}))),
        opts=pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(depends_on=[config])))
    return [config, rollout]
