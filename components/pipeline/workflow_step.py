"""``WorkflowStep``: a pipeline whose flow is decided at run time, as one Argo Workflow.

Kubeflow Pipelines installs Argo Workflows' controller, which runs the Workflow in the
pipeline's namespace. Pulumi awaits it (``pulumi.com/waitFor:
jsonpath={.status.phase}=Succeeded``; the syntax of pulumi-kubernetes
provider/pkg/jsonpath/jsonpath.go) and, since a Workflow runs once, replaces it whenever
anything in it changes (``replaceOnChanges: ["*"]``, the old run deleted first).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.components.base import ArgsModel, depends_of
from mlplane.components.mesh import without_sidecar
from mlplane.core.naming import k8s_name
from mlplane.components.pipeline.container_step import ALLOW_UNPINNED_ANNOTATION, DEFAULT_AWAIT_SECONDS
from mlplane.components.pipeline.schedule import CRON_NAME_MAX, SCHEDULE_ANNOTATION, ScheduleConfig, cron_workflow_spec
from mlplane.components.pipeline.spec import ResourceOverrides, WorkflowStepSpec
from mlplane.components.platform.releases import DEFAULT_RELEASE, ReleaseName
from mlplane.components.pod_security import hardened, image_problem, pod_spec, restricted_pod_security_context
from mlplane.components.scheduling import Placement

#: What the Workflow waits for: Argo's phase of a run that ended well.
WAIT_SUCCEEDED = "jsonpath={.status.phase}=Succeeded"
#: pulumi-kubernetes' annotation for "create it and move on" (no readiness wait).
SKIP_AWAIT = "pulumi.com/skipAwait"
#: How the run is treated, where it is not awaited (``run: async``): shown in reviews.
RUN_ANNOTATION = "mlplane.dev/run"


class WorkflowStepArgs(ArgsModel):
    """Arguments of :class:`WorkflowStep`."""

    namespace: str = Field(description="Namespace the Workflow runs in.")
    spec: WorkflowStepSpec = Field(description="The workflow step.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels mlplane adds (pipeline, version).")
    version: str = Field(description="The pipeline's version (see components.pipeline.versioning).")
    placements: dict[str, Placement] = Field(
        default_factory=dict, description="Each accelerator template's placement on the stack's pools, by "
                                          "template name (every name in spec.accelerators)."
    )
    allow_unpinned_images: bool = Field(
        False, description="The pipeline entry accepts unpinned images (marks the Workflow for the policy pack)."
    )
    release: ReleaseName = Field(
        DEFAULT_RELEASE, description="The Kubeflow release train whose Argo runs the Workflow (which executor containers "
                             "a resource template's pod has)."
    )
    schedule: ScheduleConfig | None = Field(
        None, description="Run on this schedule: a CronWorkflow instead of one Workflow (never awaited).")
    run_async: bool = Field(False, description="Start the run and do not await it (run: async).")


#: Pod-level fields a placed, restricted pod spec sets that an Argo template carries too.
#: (Not ``automountServiceAccountToken``: Argo's executor reads and reports the step's
#: outputs with the pod's ServiceAccount token.)
_TEMPLATE_POD_FIELDS = ("securityContext", "nodeSelector", "tolerations")


#: Argo's own containers in every pod of a container template, which the Workflow does not
#: declare: the executor's ``init`` (an init container) and ``wait`` (argoproj/argo-workflows
#: workflow/common/common.go: ``InitContainerName``, ``WaitContainerName``). Both release
#: trains configure them without requests and limits, and 1.8.1 without a security context
#: (the ``executor`` of kubeflow/manifests' workflow-controller-configmap-patch.yaml, checked
#: by tests/test_upstream_behaviours.py), so each template patches them: ``podSpecPatch``, a
#: strategic merge patch Argo applies to the pod after adding them (workflow/controller/
#: workflowpod.go ``createWorkflowPod``), matched by container name.
_EXECUTOR_CONTAINERS = (("initContainers", "init"), ("containers", "wait"))

#: Argo's containers in the pod of a resource template (``dsl.VolumeOp``, ``dsl.ResourceOp``),
#: by release train: all of them the executor's image, none declared by the Workflow.
#: ``main`` runs ``argoexec resource <action>`` (argoproj/argo-workflows v3.3.10 and v3.7.3
#: workflow/controller/operator.go ``executeResource``: ``newExecContainer(common.
#: MainContainerName, tmpl)``), on both trains; v3.7.3 restricts it itself only where the
#: executor has no security context configured (workflowpod.go ``newExecContainer``:
#: ``common.MinimalCtrSC()``), and 26.03 configures one (no requests or limits).
#: ``init``: Argo v3.3.10 (1.8.1) adds it when the executor is emissary, which 1.8.1's
#: workflow-controller-configmap-patch.yaml sets (``containerRuntimeExecutor: emissary``);
#: v3.7.3 (26.03) always. ``wait``: v3.3.10 never for a resource template; v3.7.3 when the
#: template archives its logs (``tmpl.SaveLogsAsArtifact()``), which it does wherever the
#: artifact repository says ``archiveLogs: true`` (``IsArchiveLogs``: "controller(on) >
#: template"), as 26.03's controller configmap and the per-namespace ``artifact-repositories``
#: of its pipelines-profile-controller sync.py do (workflow/controller/workflowpod.go at
#: v3.3.10 and v3.7.3, ``createWorkflowPod``, ``addArchiveLocation``). Exactly these: a
#: strategic merge patch adds a container it names that the pod lacks, image-less, and
#: such a pod is refused.
RESOURCE_EXECUTOR_CONTAINERS: dict[str, tuple[tuple[str, str], ...]] = {
    "1.8.1": (("initContainers", "init"), ("containers", "main")),
    "26.03": (("initContainers", "init"), ("containers", "wait"), ("containers", "main")),
}


def executor_patch(containers: tuple[tuple[str, str], ...] = _EXECUTOR_CONTAINERS) -> str:
    """The ``podSpecPatch`` giving Argo's executor ``containers`` (list key, name) a
    container step's sidecar defaults: requests and limits, the restricted security context."""
    patch: dict[str, list[dict[str, Any]]] = {}
    for key, name in containers:
        patch.setdefault(key, []).append(hardened({"name": name}, ResourceOverrides().resolve()))
    return json.dumps(patch, sort_keys=True)


def resource_template(template: dict[str, Any], release: ReleaseName) -> dict[str, Any]:
    """A resource template with what a container step's pod gets (a copy): the restricted
    pod security context (Argo gives a template's ``securityContext`` to its pod, whatever its
    type: workflowpod.go ``addSchedulingConstraints``) and, through ``podSpecPatch``, each of
    Argo's containers in its pod (:data:`RESOURCE_EXECUTOR_CONTAINERS`) the sidecars' defaults.
    The ServiceAccount token stays: ``main`` creates the object with it.
    """
    return {**template, "securityContext": restricted_pod_security_context(),
            "podSpecPatch": executor_patch(RESOURCE_EXECUTOR_CONTAINERS[release])}


def _resources(container: dict[str, Any]) -> ResourceOverrides:
    """The CPU and memory KFP put on a template's container, as a step's overrides."""
    given = container.get("resources") or {}
    return ResourceOverrides(**{f"{kind}_{part[:-1]}": (given.get(part) or {}).get(kind)
                                for kind in ("cpu", "memory") for part in ("requests", "limits")})


def pod_template(template: dict[str, Any], placement: Placement | None) -> dict[str, Any]:
    """A container template with what a container step's pod gets (a copy).

    Its containers (main and sidecars) get the restricted security context and requests
    and limits by the native rules (``ResourceOverrides.resolve``: defaults, a limit alone
    is the request too); the pod gets the restricted pod context and, with a placement, the
    pool's accelerator resource (request = limit; it replaces KFP's ``<vendor>.com/gpu``),
    node selector and tolerations, through the same ``pod_spec`` native steps use; Argo's
    executor containers get the sidecars' defaults (:func:`executor_patch`).
    Templates without a container (DAGs; resource templates: :func:`resource_template`) are
    returned unchanged.
    """
    if "container" not in template:
        return template
    main = hardened({**template["container"], "name": "main"}, _resources(template["container"]).resolve())
    placed = pod_spec([main], placement=placement, node_selector=template.get("nodeSelector"),
                      tolerations=template.get("tolerations"))
    result = {**template, **{key: placed[key] for key in _TEMPLATE_POD_FIELDS if key in placed}}
    result["container"] = {k: v for k, v in placed["containers"][0].items() if k != "name"}
    if template.get("sidecars"):
        result["sidecars"] = [hardened(sidecar, ResourceOverrides().resolve()) for sidecar in template["sidecars"]]
    result["podSpecPatch"] = executor_patch()
    return result


def workflow_manifest(args: WorkflowStepArgs) -> dict[str, Any]:
    """The Workflow with its namespace, labels and wait annotations, and each container
    template completed as a container step's pod (:func:`pod_template`), each resource
    template's pod too (:func:`resource_template`).

    Raises:
        ValueError: An accelerator template has no placement (the pipelines layer resolves them).
    """
    workflow = dict(args.spec.workflow)
    metadata = dict(workflow.get("metadata") or {})
    metadata["namespace"] = args.namespace
    # Named after its version: a changed pipeline is a new run whose per-run objects
    # (KFP's `{{workflow.name}}-<claim>`) do not clash with the last run's.
    metadata["name"] = k8s_name(str(metadata.get("name", args.spec.name)), args.version)
    metadata["labels"] = {**(metadata.get("labels") or {}), **args.labels}
    metadata["annotations"] = {**(metadata.get("annotations") or {}), "pulumi.com/waitFor": WAIT_SUCCEEDED,
                               "pulumi.com/timeoutSeconds": str(DEFAULT_AWAIT_SECONDS)}
    if args.run_async:
        # run: async: `pulumi up` creates the run and returns; the run is still replaced
        # when the pipeline changes, and never re-created while unchanged.
        metadata["annotations"] = {k: v for k, v in metadata["annotations"].items()
                                   if k not in ("pulumi.com/waitFor", "pulumi.com/timeoutSeconds")}
        metadata["annotations"].update({SKIP_AWAIT: "true", RUN_ANNOTATION: "async"})
    workflow["metadata"] = metadata
    # Applied directly, the Workflow skips KFP's API server, which opts every template's
    # pod out of Istio injection (kubeflow/pipelines backend/src/apiserver/resource/
    # resource_manager.go: SetAnnotationsToAllTemplatesIfKeyNotExist); mlplane does it
    # here, or an injected sidecar keeps each step's pod, and the Workflow, running.
    spec = dict(workflow.get("spec") or {})
    missing = sorted(set(args.spec.accelerators) - set(args.placements))
    if missing:
        raise ValueError(f"workflow {args.spec.name!r}: templates {missing} need accelerators and have no placement")
    templates = [resource_template(template, args.release) if "resource" in template
                 else pod_template(template, args.placements.get(template["name"]))
                 for template in spec.get("templates") or []]
    spec["templates"] = [{**template, "metadata": without_sidecar(dict(template.get("metadata") or {}))}
                         for template in templates]
    workflow["spec"] = spec
    images = [c["image"] for t in templates for c in [t.get("container") or {}, *(t.get("sidecars") or [])]
              if "image" in c]
    if args.allow_unpinned_images and any(image_problem(image) for image in images):
        metadata["annotations"][ALLOW_UNPINNED_ANNOTATION] = "true"
    return workflow


def cron_workflow_manifest(args: WorkflowStepArgs) -> dict[str, Any]:
    """The CronWorkflow running the Workflow of :func:`workflow_manifest` on ``args.schedule``.

    Named after the pipeline, not its version, so a changed pipeline updates it in place
    (the next run is the new pipeline's); never awaited (``pulumi.com/skipAwait``), and
    annotated with the schedule in words for reviews. Its runs carry the Workflow's labels.

    Raises:
        ValueError: ``args`` has no schedule.
    """
    if args.schedule is None:
        raise ValueError(f"workflow {args.spec.name!r} has no schedule")
    workflow = workflow_manifest(args)
    annotations = {k: v for k, v in workflow["metadata"]["annotations"].items()
                   if k not in ("pulumi.com/waitFor", "pulumi.com/timeoutSeconds")}
    annotations.update({SKIP_AWAIT: "true", SCHEDULE_ANNOTATION: args.schedule.in_words})
    labels = dict(workflow["metadata"]["labels"])
    return {"apiVersion": workflow["apiVersion"], "kind": "CronWorkflow",
            "metadata": {"name": k8s_name(args.spec.name, max_length=CRON_NAME_MAX), "namespace": args.namespace,
                         "labels": labels, "annotations": annotations},
            "spec": cron_workflow_spec(args.schedule, workflow["spec"], args.release, labels)}


class WorkflowStep(pulumi.ComponentResource):
    """A run-time pipeline as one Workflow, or a scheduled one as one CronWorkflow.

    Attributes:
        workflow: The Workflow (or CronWorkflow); depend on it to run after the pipeline
            succeeded (an awaited Workflow only).
    """

    def __init__(self, name: str, args: WorkflowStepArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:pipeline:WorkflowStep", name, None, opts)
        if args.schedule is not None:
            manifest = cron_workflow_manifest(args)
            # One object updated in place: its runs are Argo's, made at the scheduled times.
            self.workflow = k8s.apiextensions.CustomResource(
                f"{name}-schedule", api_version=manifest["apiVersion"], kind=manifest["kind"],
                metadata=manifest["metadata"], spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_of(opts)))
        else:
            manifest = workflow_manifest(args)
            self.workflow = k8s.apiextensions.CustomResource(
                f"{name}-workflow", api_version=manifest["apiVersion"], kind=manifest["kind"],
                metadata=manifest["metadata"], spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_of(opts), replace_on_changes=["*"],
                                            delete_before_replace=True),
            )
        self.register_outputs({"name": manifest["metadata"]["name"]})
