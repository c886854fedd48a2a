"""The pipelines layer: every pipeline of the stack, its steps as resources.

The pipelines were compiled (and checked) while the config loaded; this layer resolves
each step's placement on the stack's pools, picks the training API of the release train,
wires storage and identity, and declares a ``Pipeline`` component per pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from mlplane.core.naming import k8s_name
from mlplane.components.namespace import PlatformNamespace, PlatformNamespaceArgs
from mlplane.components.pipeline.pipeline import Pipeline, PipelineArgs
from mlplane.components.pipeline.runner import PipelineRunner, PipelineRunnerArgs
from mlplane.components.pipeline.spec import (
    ContainerStepSpec,
    ExperimentStepSpec,
    ServeStepSpec,
    WebAppStepSpec,
    WorkflowStepSpec,
    resolve_versions,
)
from mlplane.components.pipeline.versioning import step_versions
from mlplane.components.renames import aliases
from mlplane.components.serving.args import ServingEndpointArgs
from mlplane.components.serving.webapp import WebAppArgs
from mlplane.infra.config.workbenches import release_of
from mlplane.infra.layers.capacity import CapacityFacts
from mlplane.infra.layers.context import StackContext
from mlplane.infra.layers.platform import PlatformFacts
from mlplane.infra.layers.serving import ServingFacts, endpoint_args, web_app_args
from mlplane.components.scheduling import Placement
from mlplane.infra.layers.compile import CompiledPipeline, compile_entry, training_api


@dataclass(frozen=True)
class PipelinesFacts:
    """What the pipelines layer made.

    Attributes:
        pipelines: The ``Pipeline`` components by pipeline name.
    """

    pipelines: dict[str, Pipeline]

    __hash__ = None  # type: ignore[assignment]


def pipeline_name(name: str) -> str:
    """The Pulumi name of the ``Pipeline`` component of the stack's pipeline ``name``."""
    return f"pipeline-{k8s_name(name)}"


def runner_name(name: str) -> str:
    """The Pulumi name of the pipeline ``name``'s runner permissions."""
    return f"{name}-runner"


def placements(compiled: CompiledPipeline, capacity: CapacityFacts) -> dict[str, Placement]:
    """Each accelerator step's placement on the stack's pools (checked at config load already)."""
    placed = {step.name: capacity.place(step.accelerator) for step in compiled.spec.steps
              if isinstance(step, ContainerStepSpec) and step.accelerator is not None}
    placed.update({step.name: capacity.place(step.trial.accelerator) for step in compiled.spec.steps
                   if isinstance(step, ExperimentStepSpec) and step.trial.accelerator is not None})
    return placed


def workflow_placements(compiled: CompiledPipeline, capacity: CapacityFacts) -> dict[str, Placement]:
    """Each accelerator template's placement, of the pipeline's workflow steps (checked at config load)."""
    return {template: capacity.place(request) for step in compiled.spec.steps if isinstance(step, WorkflowStepSpec)
            for template, request in step.accelerators.items()}


def serving_args(compiled: CompiledPipeline, versions: dict[str, str], serving: ServingFacts,
                 capacity: CapacityFacts) -> tuple[dict[str, ServingEndpointArgs], dict[str, WebAppArgs]]:
    """Resolved args of the pipeline's serve and web-app steps (model versions filled in)."""
    resolved = resolve_versions(compiled.spec, versions)
    endpoints: dict[str, ServingEndpointArgs] = {}
    apps: dict[str, WebAppArgs] = {}
    callers: dict[str, list[str]] = {}
    for step in resolved.steps:
        if isinstance(step, WebAppStepSpec):
            app = step.app.model_copy(update={"namespace": step.app.namespace or compiled.namespace})
            apps[step.name] = web_app_args(app, serving.context)
            if app.backend is not None:
                callers.setdefault(app.backend.endpoint, []).append(app.namespace)
    for step in resolved.steps:
        if isinstance(step, ServeStepSpec):
            endpoint = step.endpoint.model_copy(update={"namespace": step.endpoint.namespace or compiled.namespace})
            if endpoint.model is not None and step.model_step is not None:
                endpoint = endpoint.model_copy(update={
                    "model": endpoint.model.model_copy(update={"version": versions[step.model_step]})})
            others = tuple(ns for ns in callers.get(endpoint.name, []) if ns != endpoint.namespace)
            endpoints[step.name] = endpoint_args(endpoint, serving.context, capacity, others)
    return endpoints, apps


def _namespace(ctx: StackContext, platform: PlatformFacts, namespace: str,
               made: dict[str, pulumi.Resource]) -> pulumi.Resource:
    for ns in platform.namespaces.values():
        if ns.namespace_name == namespace:
            return ns
    if namespace not in made:
        made[namespace] = PlatformNamespace(f"pipelines-{namespace}", PlatformNamespaceArgs(namespace=namespace),
                                            ctx.opts())
    return made[namespace]


def declare_pipelines(ctx: StackContext, platform: PlatformFacts, capacity: CapacityFacts,
                      serving: ServingFacts) -> PipelinesFacts:
    """Declare every pipeline listed under ``mlplane:pipelines``.

    Args:
        ctx: The stack's config and Kubernetes provider.
        platform: Namespaces (and the platform steps wait for).
        capacity: Pools (placements), storage classes, volumes and the artifact store.
        serving: What serve and web-app steps are built from.
    """
    config = ctx.config
    made_namespaces: dict[str, pulumi.Resource] = {}
    declared: dict[str, Pipeline] = {}
    for entry in config.pipelines:
        compiled = compile_entry(entry, config)
        namespace = _namespace(ctx, platform, compiled.namespace, made_namespaces)
        after: list[pulumi.Resource] = [namespace, *capacity.storage_resources]
        if any(isinstance(step, (ServeStepSpec, WebAppStepSpec)) for step in compiled.spec.steps):
            after += serving.context.after  # KServe, the gateway, issuers and login
        service_account = None
        if entry.runner_permissions:
            runner = PipelineRunner(runner_name(entry.name),
                                    PipelineRunnerArgs(pipeline=entry.name, namespace=compiled.namespace),
                                    ctx.opts(depends_on=[namespace], aliases=aliases(entry.formerly, runner_name)))
            service_account = runner.service_account
            after.append(runner)
        versions = step_versions(compiled.spec)
        endpoints, apps = serving_args(compiled, versions, serving, capacity)
        declared[entry.name] = Pipeline(
            pipeline_name(entry.name),
            PipelineArgs(
                spec=compiled.spec,
                versions=versions,
                endpoints=endpoints,
                web_apps=apps,
                artifacts=serving.context.store,
                namespace=compiled.namespace,
                placements=placements(compiled, capacity),
                workflow_placements=workflow_placements(compiled, capacity),
                training_api=training_api(config),
                release=release_of(config),
                storage_class=capacity.default_storage_class,
                # The pipeline's claims follow the stack's one switch for data (mlplane:storage.protect).
                protect_volumes=config.storage.protect if config.storage is not None else True,
                service_account=service_account,
                allow_unpinned_images=entry.allow_unpinned_images,
                data_name=entry.data_name,
                renamed_steps=entry.renamed_steps,
                schedule=entry.schedule,
                run_async=entry.run == "async",
            ),
            ctx.opts(depends_on=after, aliases=aliases(entry.formerly, pipeline_name)),
        )
    return PipelinesFacts(pipelines=declared)
