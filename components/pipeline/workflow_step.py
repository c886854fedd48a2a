"""``WorkflowStep``: a pipeline whose flow is decided at run time, as one Argo Workflow.

Kubeflow Pipelines installs Argo Workflows' controller, which runs the Workflow in the
pipeline's namespace. Pulumi awaits it (``pulumi.com/waitFor:
jsonpath={.status.phase}=Succeeded``; the syntax of pulumi-kubernetes
provider/pkg/jsonpath/jsonpath.go) and, since a Workflow runs once, replaces it whenever
anything in it changes (``replaceOnChanges: ["*"]``, the old run deleted first).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from components.base import ArgsModel, depends_of
from components.mesh import without_sidecar
from components.naming import k8s_name
from components.pipeline.container_step import DEFAULT_AWAIT_SECONDS
from components.pipeline.spec import WorkflowStepSpec

#: What the Workflow waits for: Argo's phase of a run that ended well.
WAIT_SUCCEEDED = "jsonpath={.status.phase}=Succeeded"


class WorkflowStepArgs(ArgsModel):
    """Arguments of :class:`WorkflowStep`."""

    namespace: str = Field(description="Namespace the Workflow runs in.")
    spec: WorkflowStepSpec = Field(description="The workflow step.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels mlplane adds (pipeline, version).")
    version: str = Field(description="The pipeline's version (see components.pipeline.versioning).")


def workflow_manifest(args: WorkflowStepArgs) -> dict[str, Any]:
    """The Workflow with its namespace, labels and wait annotations."""
    workflow = dict(args.spec.workflow)
    metadata = dict(workflow.get("metadata") or {})
    metadata["namespace"] = args.namespace
    # Named after its version: a changed pipeline is a new run whose per-run objects
    # (KFP's `{{workflow.name}}-<claim>`) do not clash with the last run's.
    metadata["name"] = k8s_name(str(metadata.get("name", args.spec.name)), args.version)
    metadata["labels"] = {**(metadata.get("labels") or {}), **args.labels}
    metadata["annotations"] = {**(metadata.get("annotations") or {}), "pulumi.com/waitFor": WAIT_SUCCEEDED,
                               "pulumi.com/timeoutSeconds": str(DEFAULT_AWAIT_SECONDS)}
    workflow["metadata"] = metadata
    # Applied directly, the Workflow skips KFP's API server, which opts every template's
    # pod out of Istio injection (kubeflow/pipelines backend/src/apiserver/resource/
    # resource_manager.go: SetAnnotationsToAllTemplatesIfKeyNotExist); mlplane does it
    # here, or an injected sidecar keeps each step's pod, and the Workflow, running.
    spec = dict(workflow.get("spec") or {})
    spec["templates"] = [{**template, "metadata": without_sidecar(dict(template.get("metadata") or {}))}
                         for template in spec.get("templates") or []]
    workflow["spec"] = spec
    return workflow


class WorkflowStep(pulumi.ComponentResource):
    """A run-time pipeline as one Workflow.

    Attributes:
        workflow: The Workflow; depend on it to run after the pipeline succeeded.
    """

    def __init__(self, name: str, args: WorkflowStepArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:pipeline:WorkflowStep", name, None, opts)
        manifest = workflow_manifest(args)
        self.workflow = k8s.apiextensions.CustomResource(
            f"{name}-workflow", api_version=manifest["apiVersion"], kind=manifest["kind"],
            metadata=manifest["metadata"], spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_of(opts), replace_on_changes=["*"],
                                        delete_before_replace=True),
        )
        self.register_outputs({"name": manifest["metadata"]["name"]})
