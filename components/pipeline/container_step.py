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

from mlplane.components.base import ArgsModel, depends_of
from mlplane.components.mesh import without_sidecar
from mlplane.core.naming import k8s_name
from mlplane.components.pipeline import outputs
from mlplane.components.pipeline.spec import ContainerStepSpec, ResourceOverrides, SidecarSpec
from mlplane.components.pipeline.versioning import VERSION_LABEL
from mlplane.components.pod_security import ComputeResources, container, image_problem
from mlplane.components.pod_security import pod_spec as build_pod_spec
from mlplane.components.scheduling import Placement
from mlplane.components.serving.args import ModelStore

#: How long Pulumi waits for a step without its own timeout (training takes a while).
DEFAULT_AWAIT_SECONDS = 6 * 3600
_INIT_RESOURCES = ComputeResources(cpu_request="10m", cpu_limit="100m", memory_request="16Mi", memory_limit="32Mi")
#: Marks a step whose unpinned image its pipeline entry allows (``allow_unpinned_images``),
#: so the policy pack (policy/rules/images.py) sees the recorded exception on the object.
ALLOW_UNPINNED_ANNOTATION = "mlplane.dev/allow-unpinned-images"


class ContainerStepArgs(ArgsModel):
    """Arguments of :class:`ContainerStep`."""

    pipeline: str = Field(description="The pipeline's name (prefixes object names).")
    namespace: str = Field(description="Namespace the step runs in.")
    spec: ContainerStepSpec = Field(description="The step.")
    version: str = Field(description="The step's version (see components.pipeline.versioning).")
    placement: Placement | None = Field(None, description="Accelerators, placed on the stack's pools; None: CPU.")
    outputs_claim: str | None = Field(None, description="PVC that carries outputs between steps.")
    service_account: str | None = Field(None, description="ServiceAccount; none means no API token in the pod.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on the Job and its pods.")
    artifacts: ModelStore | None = Field(
        None, description="The artifact store's identity and settings, for steps with artifact_access."
    )
    allow_unpinned_images: bool = Field(
        False, description="The pipeline entry accepts unpinned images (marks such steps for the policy pack)."
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


def sidecar_container(args: ContainerStepArgs, sidecar: SidecarSpec) -> dict[str, Any]:
    """A sidecar as a native Kubernetes sidecar: an init container with ``restartPolicy:
    Always`` (KEP-753; the field is in the Kubernetes 1.30 schema the manifests are checked
    against), which the kubelet stops when the main container ends, so the Job completes."""
    mounts = list(main_container(args)["volumeMounts"]) if sidecar.mirror_volume_mounts and \
        "volumeMounts" in main_container(args) else None
    body = container(sidecar.name, sidecar.image, ResourceOverrides().resolve(), command=sidecar.command,
                     args=sidecar.args, env=list(sidecar.env) or None, volume_mounts=mounts)
    body["restartPolicy"] = "Always"
    return body


def pod_metadata(args: ContainerStepArgs, labels: dict[str, str]) -> dict[str, Any]:
    """The pod template's metadata: the step's own labels and annotations, then mlplane's
    labels (which win: selectors and versions rely on them)."""
    metadata: dict[str, Any] = {"labels": {**args.spec.pod_labels, **labels}}
    if args.spec.pod_annotations:
        metadata["annotations"] = dict(args.spec.pod_annotations)
    return metadata


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
    mounts += outputs.input_file_mounts(spec)
    env = list(spec.env)
    if spec.artifact_access and args.artifacts is not None:
        names = {e.get("name") for e in env}
        env += [dict(e) for e in args.artifacts.env if e.get("name") not in names]
    body = container(name, spec.image, spec.resources.resolve(), command=command, args=container_args,
                     env=env or None, volume_mounts=mounts or None)
    if spec.working_dir:
        body["workingDir"] = spec.working_dir
    if spec.image_pull_policy:
        body["imagePullPolicy"] = spec.image_pull_policy
    return body


def pod_spec(args: ContainerStepArgs, restart_policy: str = "Never", container_name: str = "main") -> dict[str, Any]:
    """The step's pod spec: restricted, sized, placed, with its volumes."""
    spec = args.spec
    volumes = list(spec.volumes)
    init_containers = []
    if spec.file_outputs or spec.all_references():
        if args.outputs_claim is None:
            raise ValueError(f"step {spec.name!r} passes outputs but the pipeline has no outputs claim")
        volumes.append({"name": outputs.VOLUME_NAME, "persistentVolumeClaim": {"claimName": args.outputs_claim}})
    if spec.file_outputs:
        init_containers.append(outputs.producer_init_container(spec, _INIT_RESOURCES))
    constant_inputs = outputs.inputs_init_container(spec, _INIT_RESOURCES)
    if constant_inputs is not None:
        volumes.append({"name": outputs.INPUT_VOLUME_NAME, "emptyDir": {"sizeLimit": "16Mi"}})
        init_containers.append(constant_inputs)
    # Sidecars last: the init containers before them finish first, then they start with the main one.
    init_containers += [sidecar_container(args, sidecar) for sidecar in spec.sidecars]
    service_account = args.service_account
    if spec.artifact_access:
        if args.artifacts is None or args.artifacts.service_account is None:
            raise ValueError(f"step {spec.name!r} needs the artifact store, and the stack has none")
        # Cloud identities (workload identity, IRSA) come with the account, not its API token.
        service_account = service_account or args.artifacts.service_account
    built = build_pod_spec(
        [main_container(args, container_name)],
        init_containers=init_containers or None,
        volumes=volumes or None,
        service_account=service_account,
        placement=args.placement,
        restart_policy=restart_policy,
        api_token=args.service_account is not None,
        node_selector=spec.node_selector,
        tolerations=list(spec.tolerations),
    )
    if spec.image_pull_secrets:
        built["imagePullSecrets"] = [{"name": name} for name in spec.image_pull_secrets]
    return built


def image_annotations(args: ContainerStepArgs) -> dict[str, str]:
    """The recorded unpinned-image exception, on a step whose image is unpinned and allowed."""
    if args.allow_unpinned_images and image_problem(args.spec.image):
        return {ALLOW_UNPINNED_ANNOTATION: "true"}
    return {}


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
            # Out of the mesh whatever the step's own annotations say (components/mesh.py).
            "template": {"metadata": without_sidecar(pod_metadata(args, labels)), "spec": pod_spec(args)},
        }
        if spec.timeout_seconds:
            job_spec["activeDeadlineSeconds"] = spec.timeout_seconds
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={"name": self.job_name, "namespace": args.namespace, "labels": labels,
                      "annotations": {**await_annotations(spec), **image_annotations(args)}},
            spec=job_spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_of(opts)),
        )
        self.register_outputs({"job_name": self.job_name, "version": args.version})
