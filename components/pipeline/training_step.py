"""``TrainingStep``: a distributed training step (``workers > 1``) as a Kubeflow job.

On the 1.8.1 release train the Training Operator runs a ``PyTorchJob`` (one master,
``workers - 1`` workers); on 26.03, Kubeflow Trainer runs a ``TrainJob`` on a
``TrainingRuntime`` this step declares itself, so its pods keep mlplane's restricted
security context, placement and volumes. Either is awaited until it has finished.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.components.base import ArgsModel, depends_of
from mlplane.components.mesh import without_sidecar
from mlplane.core.naming import k8s_name
from mlplane.components.pipeline.container_step import (
    ContainerStepArgs,
    await_annotations,
    image_annotations,
    pod_labels,
    pod_spec,
)

TrainingApi = Literal["pytorchjob", "trainjob"]

#: Kubernetes' limit on a Service name (a DNS-1035 label).
_DNS_LABEL_MAX = 63


def training_name_problems(job_name: str, workers: int, api: TrainingApi) -> list[str]:
    """Why the training operator cannot name a distributed step's children (empty: it can).

    The Training Operator (release 1.8.1) validates a PyTorchJob's name as a DNS-1035
    label, a letter first (kubeflow/training-operator v1.7.0
    ``pkg/apis/kubeflow.org/v1/pytorch_validation.go``: ``NameIsDNS1035Label``), and names
    each replica's pod and Service ``<job>-<replica type>-<index>``
    (``pkg/core/utils.go``: ``GenGeneralName``, used by ``pkg/controller.v1/common/service.go``),
    a Service name that must itself fit a DNS label.

    Kubeflow Trainer (26.03) names the JobSet after the TrainJob (kubeflow/trainer v2.1.0
    ``pkg/runtime/framework/plugins/jobset/jobset.go``: ``JobSet(trainJob.Name, ...)``) and
    runs numNodes pods of the ``node`` replicated job; JobSet's webhook refuses a JobSet
    whose longest Job name ``<jobset>-<replicated job>-<index>`` or, for indexed Jobs, longest
    pod name ``<jobset>-<replicated job>-<job index>-<pod index>-abcde`` is not a DNS-1035
    label (kubernetes-sigs/jobset v0.10.1 ``pkg/webhooks/jobset_webhook.go``,
    ``pkg/util/placement/placement.go``).
    """
    if api == "trainjob":
        pod = f"{job_name}-node-0-{workers - 1}-abcde"
        problems = [] if job_name[:1].isalpha() else [
            f"the TrainJob name {job_name!r} must start with a letter (JobSet requires DNS-1035 labels)"]
        if len(pod) > _DNS_LABEL_MAX:
            problems.append(f"JobSet would name a trainer pod like {pod!r}, {len(pod)} characters; "
                            f"Kubernetes allows {_DNS_LABEL_MAX}")
        return problems
    problems = []
    if not job_name[:1].isalpha():
        problems.append(f"the PyTorchJob name {job_name!r} must start with a letter (a DNS-1035 label)")
    longest = f"{job_name}-worker-{workers - 2}" if workers > 1 else f"{job_name}-master-0"
    if len(longest) > _DNS_LABEL_MAX:
        problems.append(f"the Training Operator would name a replica's Service {longest!r}, {len(longest)} "
                        f"characters; Kubernetes allows {_DNS_LABEL_MAX}")
    return problems

#: The label by which Kubeflow Trainer finds the trainer's replicated job.
TRAINER_ANCESTOR_LABEL = "trainer.kubeflow.org/trainjob-ancestor-step"


class TrainingStepArgs(ArgsModel):
    """Arguments of :class:`TrainingStep`."""

    step: ContainerStepArgs = Field(description="The step, as for a single-pod container step.")
    api: TrainingApi = Field(description="pytorchjob (Training Operator, 1.8.1) or trainjob (Trainer, 26.03).")


def _pytorchjob(args: TrainingStepArgs, labels: dict[str, str]) -> dict[str, Any]:
    step = args.step
    template = {"metadata": without_sidecar({"labels": labels}), "spec": pod_spec(step, "OnFailure", "pytorch")}
    replicas: dict[str, Any] = {"Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": template}}
    if step.spec.workers > 1:
        replicas["Worker"] = {"replicas": step.spec.workers - 1, "restartPolicy": "OnFailure", "template": template}
    run_policy: dict[str, Any] = {"backoffLimit": step.spec.retries, "cleanPodPolicy": "None"}
    if step.spec.timeout_seconds:
        run_policy["activeDeadlineSeconds"] = step.spec.timeout_seconds
    return {"pytorchReplicaSpecs": replicas, "runPolicy": run_policy}


def _runtime(args: TrainingStepArgs, labels: dict[str, str]) -> dict[str, Any]:
    pod = pod_spec(args.step, "OnFailure", "node")
    return {
        "mlPolicy": {"numNodes": args.step.spec.workers, "torch": {}},
        "template": {"spec": {"replicatedJobs": [{
            "name": "node",
            "replicas": 1,
            "template": {
                # Trainer applies numNodes and the trainer's overrides only to the replicated job
                # labelled as the trainer step, as upstream's own torch runtime does
                # (kubeflow/manifests 26.03 applications/trainer/upstream/base/runtimes/
                # torch_distributed.yaml); without it numNodes is ignored and one pod runs.
                "metadata": {"labels": {**labels, TRAINER_ANCESTOR_LABEL: "trainer"}},
                "spec": {"backoffLimit": args.step.spec.retries, "template": {
                    "metadata": without_sidecar({"labels": labels}), "spec": pod}},
            },
        }]}},
    }


class TrainingStep(pulumi.ComponentResource):
    """A distributed training step.

    Attributes:
        job: The training job; depend on it to run after training has finished.
        job_name: Its Kubernetes name.
    """

    def __init__(self, name: str, args: TrainingStepArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:pipeline:TrainingStep", name, None, opts)
        step = args.step
        labels = pod_labels(step)
        self.job_name = k8s_name(step.pipeline, step.spec.name)
        child = pulumi.ResourceOptions(parent=self, depends_on=depends_of(opts))
        if args.api == "pytorchjob":
            annotations = {**await_annotations(step.spec), **image_annotations(step),
                           "pulumi.com/waitFor": "condition=Succeeded"}
            self.job = k8s.apiextensions.CustomResource(
                f"{name}-pytorchjob",
                api_version="kubeflow.org/v1",
                kind="PyTorchJob",
                metadata={"name": self.job_name, "namespace": step.namespace, "labels": labels,
                          "annotations": annotations},
                spec=_pytorchjob(args, labels),
                opts=child,
            )
        else:
            runtime = k8s.apiextensions.CustomResource(
                f"{name}-runtime",
                api_version="trainer.kubeflow.org/v1alpha1",
                kind="TrainingRuntime",
                metadata={"name": self.job_name, "namespace": step.namespace, "labels": labels,
                          **({"annotations": image_annotations(step)} if image_annotations(step) else {})},
                spec=_runtime(args, labels),
                opts=child,
            )
            annotations = {**await_annotations(step.spec), "pulumi.com/waitFor": "condition=Complete"}
            self.job = k8s.apiextensions.CustomResource(
                f"{name}-trainjob",
                api_version="trainer.kubeflow.org/v1alpha1",
                kind="TrainJob",
                metadata={"name": self.job_name, "namespace": step.namespace, "labels": labels,
                          "annotations": annotations},
                spec={"runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "TrainingRuntime",
                                     "name": self.job_name},
                      "trainer": {"numNodes": step.spec.workers}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*depends_of(opts), runtime]),
            )
        self.register_outputs({"job_name": self.job_name, "version": step.version})
