"""``Pipeline``: a pipeline's steps as one component, ordered by their dependencies.

Each step becomes a child component (a Job, a training job, a claim, ...). A step
depends on the resources of the steps it runs after and whose outputs it reads, so
Pulumi creates it only once they have completed; steps that are independent run in
parallel. Steps are versioned (:mod:`components.pipeline.versioning`): a changed step
re-runs, and so do the steps downstream of it; unchanged steps are left alone.
"""

from __future__ import annotations

from typing import TypeVar

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.components.base import ArgsModel
from mlplane.core.naming import k8s_name
from mlplane.components.pipeline.container_step import ContainerStep, ContainerStepArgs
from mlplane.components.pipeline.experiment_step import ExperimentStep, ExperimentStepArgs, trial_step
from mlplane.components.pipeline.resource_step import ResourceStep, ResourceStepArgs
from mlplane.components.pipeline.schedule import ScheduleConfig
from mlplane.components.pipeline.spec import (
    ContainerStepSpec,
    ExperimentStepSpec,
    PipelineSpec,
    ResourceStepSpec,
    WorkflowStepSpec,
    ServeStepSpec,
    VolumeStepSpec,
    WebAppStepSpec,
    resolve_versions,
)
from mlplane.components.pipeline.training_step import TrainingApi, TrainingStep, TrainingStepArgs
from mlplane.components.pipeline.versioning import VERSION_LABEL, step_versions
from mlplane.components.pipeline.workflow_step import WorkflowStep, WorkflowStepArgs
from mlplane.components.platform.releases import DEFAULT_RELEASE, ReleaseName
from mlplane.components.pipeline.volume_step import VolumeStep, VolumeStepArgs
from mlplane.components.quantity import Quantity
from mlplane.components.renames import aliases
from mlplane.components.scheduling import Placement
from mlplane.components.serving.args import ModelStore, ServingEndpointArgs
from mlplane.components.serving.endpoint import ServingEndpoint
from mlplane.components.serving.webapp import WebApp, WebAppArgs

ArgsT = TypeVar("ArgsT")


class PipelineArgs(ArgsModel):
    """Arguments of :class:`Pipeline`."""

    spec: PipelineSpec = Field(description="The pipeline, validated.")
    namespace: str = Field(description="Namespace its steps run in.")
    placements: dict[str, Placement] = Field(
        default_factory=dict, description="Resolved scheduling per step name (accelerator steps)."
    )
    workflow_placements: dict[str, Placement] = Field(
        default_factory=dict, description="Resolved scheduling per accelerator template of a workflow step, by "
                                          "template name."
    )
    training_api: TrainingApi = Field("trainjob", description="Which Kubeflow API runs distributed steps.")
    release: ReleaseName = Field(DEFAULT_RELEASE, description="The Kubeflow release train (its Argo runs workflow "
                                                               "steps).")
    storage_class: str | None = Field(None, description="Storage class for the outputs claim and volume steps.")
    outputs_size: Quantity = Field("1Gi", description="Size of the claim that carries outputs between steps.")
    service_account: str | None = Field(None, description="ServiceAccount of step pods (none: no API token).")
    protect_volumes: bool = Field(True, description="Protect claims from deletion and replacement.")
    artifacts: ModelStore | None = Field(None, description="The artifact store, for steps that use it.")
    versions: dict[str, str] | None = Field(
        None, description="Step versions (see versioning.step_versions); computed from spec when None."
    )
    endpoints: dict[str, ServingEndpointArgs] = Field(
        default_factory=dict, description="Resolved args of each serve step's endpoint, by step name."
    )
    web_apps: dict[str, WebAppArgs] = Field(
        default_factory=dict, description="Resolved args of each web-app step's app, by step name."
    )
    allow_unpinned_images: bool = Field(
        False, description="The pipeline entry accepts unpinned images (allow_unpinned_images)."
    )
    data_name: str | None = Field(
        None, description="The name its claims are named after (its oldest name, kept across renames); "
                          "default: the spec's name."
    )
    renamed_steps: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Earlier names of steps, by current step name (aliases keep them)."
    )
    schedule: ScheduleConfig | None = Field(
        None, description="Its schedule: its workflow step becomes a CronWorkflow (KFP v1 pipelines on the "
                          "workflow engine).")
    run_async: bool = Field(False, description="Start its workflow step's run without awaiting it (run: async).")


class Pipeline(pulumi.ComponentResource):
    """A pipeline's steps, declared as infrastructure.

    Attributes:
        steps: Step components by step name.
        versions: Step versions by step name.
        ready: The resource of each step that signals it has finished (or, for serve
            and web-app steps, is ready), by step name.
    """

    def __init__(self, name: str, args: PipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:pipeline:Pipeline", name, None, opts)
        self.versions = args.versions or step_versions(args.spec)
        spec = resolve_versions(args.spec, self.versions)
        # Steps wait for what the pipeline waits for (namespace, storage, platform) through
        # their parent: a child registers only once the pipeline has. Repeating those edges
        # on every step would add nothing but work (the SDK checks each edge for cycles).
        self.steps: dict[str, pulumi.ComponentResource] = {}
        self.ready: dict[str, pulumi.Resource] = {}

        outputs_claim = None
        claim_resources: list[pulumi.Resource] = []
        if any(isinstance(s, ContainerStepSpec) and s.file_outputs or isinstance(s, ExperimentStepSpec)
               for s in spec.steps):
            outputs_claim = k8s_name(args.data_name or spec.name, "outputs")
            claim = k8s.core.v1.PersistentVolumeClaim(
                f"{name}-outputs",
                metadata={"name": outputs_claim, "namespace": args.namespace,
                          "labels": {"app.kubernetes.io/managed-by": "mlplane",
                                     "mlplane.dev/pipeline": k8s_name(spec.name)},
                          "annotations": {"pulumi.com/skipAwait": "true"}},
                spec=_claim_spec(args.outputs_size, args.storage_class),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect_volumes,
                                            retain_on_delete=args.protect_volumes),
            )
            claim_resources.append(claim)

        def role_of(step: str) -> str:
            return f"{name}-{k8s_name(step)}"

        endpoints: dict[str, ServingEndpoint] = {}
        for step_name in spec.order():
            step = spec.step(step_name)
            depends = [self.ready[other] for other in spec.upstream(step)]
            if isinstance(step, ContainerStepSpec) and (step.file_outputs or step.all_references()) \
                    or isinstance(step, ExperimentStepSpec):
                depends += claim_resources
            role = role_of(step_name)
            child = pulumi.ResourceOptions(parent=self, depends_on=depends,
                                           aliases=aliases(args.renamed_steps.get(step_name, ()), role_of))
            if isinstance(step, VolumeStepSpec):
                volume = VolumeStep(role, VolumeStepArgs(namespace=args.namespace, spec=step,
                                                         default_storage_class=args.storage_class,
                                                         protect=args.protect_volumes), child)
                self.steps[step_name], self.ready[step_name] = volume, volume.claim
                continue
            labels = {"app.kubernetes.io/managed-by": "mlplane", "mlplane.dev/pipeline": k8s_name(spec.name),
                      "mlplane.dev/step": k8s_name(step_name), VERSION_LABEL: self.versions[step_name]}
            if isinstance(step, WorkflowStepSpec):
                flow = WorkflowStep(role, WorkflowStepArgs(
                    namespace=args.namespace, spec=step, labels=labels, version=self.versions[step_name],
                    placements={t: args.workflow_placements[t] for t in step.accelerators if t in args.workflow_placements},
                    allow_unpinned_images=args.allow_unpinned_images, release=args.release,
                    schedule=args.schedule, run_async=args.run_async), child)
                self.steps[step_name], self.ready[step_name] = flow, flow.workflow
                continue
            if isinstance(step, ResourceStepSpec):
                resource = ResourceStep(role, ResourceStepArgs(namespace=args.namespace, spec=step, labels=labels),
                                        child)
                self.steps[step_name], self.ready[step_name] = resource, resource.object
                continue
            if isinstance(step, ExperimentStepSpec):
                search = ExperimentStep(role, ExperimentStepArgs(search=step, trial=ContainerStepArgs(
                    pipeline=spec.name, namespace=args.namespace, spec=trial_step(step),
                    version=self.versions[step_name], placement=args.placements.get(step_name),
                    outputs_claim=outputs_claim, allow_unpinned_images=args.allow_unpinned_images),
                    release=args.release), child)
                self.steps[step_name], self.ready[step_name] = search, search.job
                continue
            if isinstance(step, ServeStepSpec):
                endpoint = ServingEndpoint(role, _given(args.endpoints, step_name, "endpoint"), child)
                self.steps[step_name] = self.ready[step_name] = endpoint
                endpoints[step.endpoint.name] = endpoint
                continue
            if isinstance(step, WebAppStepSpec):
                backend = endpoints[step.app.backend.endpoint].reference() if step.app.backend else None
                app = WebApp(role, _given(args.web_apps, step_name, "web app"), child, backend=backend)
                self.steps[step_name] = self.ready[step_name] = app
                continue
            step_args = ContainerStepArgs(
                pipeline=spec.name, namespace=args.namespace, spec=step, version=self.versions[step_name],
                placement=args.placements.get(step_name), outputs_claim=outputs_claim,
                service_account=args.service_account, artifacts=args.artifacts,
                allow_unpinned_images=args.allow_unpinned_images,
            )
            if step.workers > 1:
                training = TrainingStep(role, TrainingStepArgs(step=step_args, api=args.training_api), child)
                self.steps[step_name], self.ready[step_name] = training, training.job
            else:
                container = ContainerStep(role, step_args, child)
                self.steps[step_name], self.ready[step_name] = container, container.job
        self.register_outputs({"versions": self.versions})


def _given(resolved: dict[str, ArgsT], step: str, what: str) -> ArgsT:
    if step not in resolved:
        raise ValueError(f"step {step!r} needs its resolved {what} args (PipelineArgs)")
    return resolved[step]


def _claim_spec(size: str, storage_class: str | None) -> dict[str, object]:
    spec: dict[str, object] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return spec


