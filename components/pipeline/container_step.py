"""``ContainerStep``: one pipeline step as a Kubernetes Job, awaited to completion.

pulumi-kubernetes waits for a Job to complete (and fails the update when it fails), so
later steps, created only after this one, start after it has finished. A changed pod
template replaces the Job, which runs the step again; an unchanged step is left alone.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from components.base import ArgsModel
from components.naming import k8s_name
from components.pipeline import outputs
from components.pipeline.placement import StepPlacement
from components.pipeline.spec import ContainerStepSpec
from components.pipeline.versioning import VERSION_LABEL
from components.pod_security import (
    ComputeResources,
    restricted_container_security_context,
    restricted_pod_security_context,
)
from components.serving.args import ModelStore

#: How long Pulumi waits for a step without its own timeout (training takes a while).
DEFAULT_AWAIT_SECONDS = 6 * 3600
_INIT_RESOURCES = ComputeResources(cpu_request="10m", cpu_limit="100m", memory_request="16Mi", memory_limit="32Mi")


class ContainerStepArgs(ArgsModel):
    """Arguments of :class:`ContainerStep`."""

    pipeline: str = Field(description="The pipeline's name (prefixes object names).")
    namespace: str = Field(description="Namespace the step runs in.")
    spec: ContainerStepSpec = Field(description="The step.")
    version: str = Field(description="The step's version (see components.pipeline.versioning).")
    placement: StepPlacement = Field(default_factory=StepPlacement, description="Resolved scheduling.")
    outputs_claim: str | None = Field(None, description="PVC that carries outputs between steps.")
    service_account: str | None = Field(None, description="ServiceAccount; none means no API token in the pod.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on the Job and its pods.")
    artifacts: ModelStore | None = Field(
        None, description="The artifact store's identity and settings, for steps with artifact_access."
    )


def pod_labels(args: ContainerStepArgs) -> dict[str, str]:
    """Labels of the step's Job and pods."""
    store_labels = args.artifacts.pod_labels if args.artifacts and args.spec.artifact_access else {}
    return {
        **store_labels,
        "app.kubernetes.io/managed-by": "mlplane",
        "mlplane.dev/pipeline": k8s_name(args.pipeline),
        "mlplane.dev/step": k8s_name(args.spec.name),
        VERSION_LABEL: args.version,
        **args.labels,
    }


def main_container(args: ContainerStepArgs, name: str = "main") -> dict[str, Any]:
    """The step's container: command (rewritten if it reads outputs), mounts, resources."""
    spec = args.spec
    command: list[str] = list(spec.command)
    container_args: list[str] = list(spec.args)
    mounts = list(spec.volume_mounts)
    if outputs.consumes_outputs(spec):
        command, container_args = outputs.consumer_command(spec), []
        mounts.append(outputs.consumer_mount())
    if spec.file_outputs:
        mounts += outputs.producer_mounts(spec)
    container: dict[str, Any] = {
        "name": name,
        "image": spec.image,
        "securityContext": restricted_container_security_context(),
        "resources": spec.resources.resolve().to_k8s(extra_limits=args.placement.limits),
    }
    if command:
        container["command"] = command
    if container_args:
        container["args"] = container_args
    env = list(spec.env)
    if spec.artifact_access and args.artifacts is not None:
        names = {e.get("name") for e in env}
        env += [dict(e) for e in args.artifacts.env if e.get("name") not in names]
    if env:
        container["env"] = env
    if mounts:
        container["volumeMounts"] = mounts
    return container


def pod_spec(args: ContainerStepArgs, restart_policy: str = "Never", container_name: str = "main") -> dict[str, Any]:
    """The step's pod spec: restricted, sized, placed, with its volumes."""
    spec = args.spec
    placement = args.placement.merged(spec.node_selector, spec.tolerations)
    volumes = list(spec.volumes)
    init_containers = []
    uses_claim = spec.file_outputs or outputs.consumes_outputs(spec)
    if uses_claim:
        if args.outputs_claim is None:
            raise ValueError(f"step {spec.name!r} passes outputs but the pipeline has no outputs claim")
        volumes.append({"name": outputs.VOLUME_NAME, "persistentVolumeClaim": {"claimName": args.outputs_claim}})
    if spec.file_outputs:
        init_containers.append(outputs.producer_init_container(
            spec, restricted_container_security_context(), _INIT_RESOURCES.to_k8s()))
    service_account = args.service_account
    if spec.artifact_access:
        if args.artifacts is None or args.artifacts.service_account is None:
            raise ValueError(f"step {spec.name!r} needs the artifact store, and the stack has none")
        # Cloud identities (workload identity, IRSA) come with the account, not its API token.
        service_account = service_account or args.artifacts.service_account
    pod: dict[str, Any] = {
        "restartPolicy": restart_policy,
        "securityContext": restricted_pod_security_context(),
        "automountServiceAccountToken": args.service_account is not None,
        "containers": [main_container(args, container_name)],
    }
    if service_account:
        pod["serviceAccountName"] = service_account
    if init_containers:
        pod["initContainers"] = init_containers
    if volumes:
        pod["volumes"] = volumes
    if placement.node_selector:
        pod["nodeSelector"] = placement.node_selector
    if placement.tolerations:
        pod["tolerations"] = list(placement.tolerations)
    return pod


def after(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The component's own ``depends_on``, for its children.

    Children do not inherit a component's dependencies; a step's Job must wait for the
    steps before it, and the plan should show that edge on the Job itself.
    """
    if opts is None or opts.depends_on is None:
        return []
    depends = opts.depends_on
    return list(depends) if isinstance(depends, (list, tuple)) else [depends]  # type: ignore[list-item]


def await_annotations(spec: ContainerStepSpec) -> dict[str, str]:
    """How long Pulumi waits for the step: its timeout plus a margin, or the default."""
    seconds = spec.timeout_seconds + 300 if spec.timeout_seconds else DEFAULT_AWAIT_SECONDS
    return {"pulumi.com/timeoutSeconds": str(seconds)}


class ContainerStep(pulumi.ComponentResource):
    """A pipeline step that runs a container to completion as a Job.

    Attributes:
        job: The Job; depend on it to run after the step has completed.
        job_name: The Job's Kubernetes name.
    """

    def __init__(self, name: str, args: ContainerStepArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:pipeline:ContainerStep", name, None, opts)
        spec = args.spec
        labels = pod_labels(args)
        self.job_name = k8s_name(args.pipeline, spec.name)
        job_spec: dict[str, Any] = {
            "backoffLimit": spec.retries,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec(args)},
        }
        if spec.timeout_seconds:
            job_spec["activeDeadlineSeconds"] = spec.timeout_seconds
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={"name": self.job_name, "namespace": args.namespace, "labels": labels,
                      "annotations": await_annotations(spec)},
            spec=job_spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after(opts)),
        )
        self.register_outputs({"job_name": self.job_name, "version": args.version})
