"""KFP v1 ops, as a pipeline function declared them, into a :class:`PipelineSpec`."""

from __future__ import annotations

import json
from typing import Any

from mlplane.components.pipeline.spec import (
    ContainerStepSpec,
    PipelineSpec,
    ResourceOverrides,
    ResourceStepSpec,
    VolumeStepSpec,
    WorkflowStepSpec,
    output_references,
)
from mlplane.components.scheduling import AcceleratorRequest
from mlplane.core.naming import k8s_name
from mlplane.pipelines.kfp_v1.placeholders import substitute_run_placeholders
from mlplane.pipelines.kfp_v1.unroll import NotUnrollable, literal_loops, unroll
from mlplane.pipelines.kfp_v1.workflow import WorkflowError, compile_workflow
from mlplane.pipelines.kfp_v1.api.dsl import ContainerOp, ResourceOp, VolumeOp


def _resources(op: ContainerOp) -> ResourceOverrides:
    container = op.container
    return ResourceOverrides(
        cpu_request=container.requests.get("cpu"),
        cpu_limit=container.limits.get("cpu"),
        # KFP v1's memory strings ("2G") are Kubernetes quantities already.
        memory_request=container.requests.get("memory"),
        memory_limit=container.limits.get("memory"),
    )


#: The annotation KFP 1.8.22 puts a step's display name in (kfp/compiler/_op_to_template.py).
DISPLAY_NAME_ANNOTATION = "pipelines.kubeflow.org/task_display_name"
#: ... and its caching limit (``execution_options.caching_strategy.max_cache_staleness``).
CACHE_STALENESS_ANNOTATION = "pipelines.kubeflow.org/max_cache_staleness"


def _pod_annotations(op: ContainerOp) -> dict[str, str]:
    annotations = dict(op.pod_annotations)
    if op.display_name:
        annotations[DISPLAY_NAME_ANNOTATION] = op.display_name
    staleness = op.execution_options.caching_strategy.max_cache_staleness
    if staleness:
        annotations[CACHE_STALENESS_ANNOTATION] = str(staleness)
    return annotations


def container_step(op: ContainerOp) -> ContainerStepSpec:
    """One ContainerOp as a container step."""
    container = op.container
    return ContainerStepSpec(
        name=op.name,
        image=container.image,
        command=tuple(str(c) for c in container.command),
        args=tuple(str(a) for a in container.args),
        env=tuple(container.env),
        volumes=tuple(op.volumes),
        volume_mounts=tuple(container.volume_mounts),
        file_outputs=dict(op.file_outputs),
        input_files=dict(op.input_files),
        pod_annotations=_pod_annotations(op),
        pod_labels=dict(op.pod_labels),
        working_dir=container.working_dir,
        image_pull_policy=container.image_pull_policy,
        image_pull_secrets=tuple(op.image_pull_secrets),
        sidecars=tuple(sidecar.as_dict() for sidecar in op.sidecars),
        resources=_resources(op),
        accelerator=AcceleratorRequest(**container.accelerator) if container.accelerator else None,
        node_selector=dict(op.node_selector),
        tolerations=tuple(op.tolerations),
        retries=op.num_retries,
        timeout_seconds=op.timeout or None,
        after=tuple(dict.fromkeys(op.dependent_names)),
    )


def volume_step(op: VolumeOp) -> VolumeStepSpec:
    """One VolumeOp as a volume step."""
    return VolumeStepSpec(
        name=op.name,
        resource_name=op.claim_name,
        size=op.size,
        modes=tuple(op.modes),
        storage_class=op.storage_class,
        after=tuple(dict.fromkeys(op.dependent_names)),
    )


def resource_step(op: ResourceOp) -> ResourceStepSpec:
    """One ResourceOp (or VolumeSnapshotOp) as a resource step."""
    return ResourceStepSpec(name=op.name, manifest=op.k8s_resource, wait_for=op.wait_for,
                            success_condition=op.success_condition,
                            failure_condition=op.failure_condition, after=tuple(dict.fromkeys(op.dependent_names)))


def _step(op: Any) -> Any:
    if isinstance(op, ContainerOp):
        return container_step(op)
    if isinstance(op, ResourceOp):
        return resource_step(op)
    return volume_step(op)


def _declared(ops: list[Any]) -> list[Any]:
    """The ops a plan declares: not those inside a condition known, when the plan is made, to be false."""
    return [op for op in ops if not any(g.kind == "condition" and g.static is False for g in op.groups)]


def static_value_uses(steps: list[Any]) -> tuple[list[str], list[str]]:
    """Where steps use another step's output in a field the plan must know.

    Returns:
        ``(env, other)``: environment variables (the workflow engine passes those at run
        time), and any other field (not compiled to a workflow either, yet).
    """
    env, other = [], []
    for step in steps:
        if isinstance(step, ContainerStepSpec):
            for variable in step.env:
                if output_references(str(variable.get("value", ""))):
                    env.append(f"step {step.name!r}, env {variable.get('name')}")
            fields = step.model_dump(mode="json", exclude={"command", "args", "env", "input_files"})
        else:
            fields = step.model_dump(mode="json")
        if output_references(json.dumps(fields)):
            other.append(f"step {step.name!r}")
    return env, other


def to_spec(name: str, description: str, ops: list[Any], engine_reasons: list[str] | None = None,
            service_account: str = "default-editor", parallelism: int | None = None,
            calls: list[Any] | None = None) -> PipelineSpec:
    """The whole declaration as a pipeline spec (validated: names, references, cycles).

    A pipeline whose flow is decided at run time (``engine_reasons``) becomes one
    workflow step holding its Argo Workflow.
    """
    ops = _declared(ops)
    steps = [_step(op) for op in ops]
    env, other = static_value_uses(steps)
    if other:
        raise WorkflowError(f"{other[0]} uses another step's output where the plan needs a value it knows (a volume, "
                            "resource, node selector or object); only arguments, environment variables and input "
                            "files can receive outputs")
    engine_reasons = list(engine_reasons or []) + [f"an output in {where}" for where in env[:1]]
    if any(literal_loops(op) for op in ops):
        # A literal list becomes one step per item when nothing else needs the workflow
        # engine; otherwise the Workflow runs it (withItems), as KFP's does.
        try:
            if engine_reasons:
                raise NotUnrollable("the pipeline runs on the workflow engine")
            if parallelism:  # set_parallelism: a limit only the workflow engine keeps
                raise NotUnrollable("PipelineConf.set_parallelism limits the run's pods")
            steps = unroll(ops, steps)
        except NotUnrollable as exc:
            engine_reasons.append("dsl.ParallelFor" if engine_reasons else f"dsl.ParallelFor ({exc})")
    spec = PipelineSpec(name=name, description=description, steps=tuple(steps))
    if not engine_reasons:
        return substitute_run_placeholders(spec)
    # On the workflow engine, Argo fills in {{workflow.uid}} and the like for each run.
    containers = {step.name: step for step in spec.steps if isinstance(step, ContainerStepSpec)}
    workflow = compile_workflow(k8s_name(name), ops, containers, service_account, parallelism, calls)
    accelerators = {step.name: step.accelerator for step in containers.values() if step.accelerator is not None}
    return PipelineSpec(name=name, description=description, steps=(
        WorkflowStepSpec(name=k8s_name(name), workflow=workflow, reasons=tuple(engine_reasons),
                         accelerators=accelerators),))
