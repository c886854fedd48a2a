"""``ExperimentStep``: a hyperparameter search as a Katib ``Experiment``, awaited, and its best parameters as outputs.

Three parts, in order:

1. the ``Experiment`` (kubeflow.org/v1beta1), awaited with ``condition=Succeeded``
   (Katib's ExperimentSucceeded condition; a failed search fails the update). Its
   trials are Jobs whose pod comes from the same builder as every step's
   (:func:`components.pipeline.container_step.pod_spec`: restricted, sized, placed),
   opted out of Istio injection (label and annotation, :mod:`components.mesh`) as
   Katib's own examples do in Istio-injected profile namespaces (an injected sidecar
   keeps a trial Job running);
2. a ServiceAccount that may only ``get`` that Experiment;
3. a Job (a :class:`ContainerStep` under the search step's name) that reads the best
   trial's ``parameterAssignments`` through the API (:mod:`components.pipeline.katib_best`)
   and writes each to the step's output file on the pipeline's outputs claim, where later
   steps read ``{{mlplane.output:<step>:<parameter>}}`` as they read any output.
"""

from __future__ import annotations

import inspect
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.components.base import ArgsModel, depends_of
from mlplane.components.mesh import without_sidecar
from mlplane.core.naming import k8s_name
from mlplane.components.pipeline import katib_best
from mlplane.components.pipeline.container_step import ContainerStep, ContainerStepArgs, pod_labels, pod_spec
from mlplane.components.pipeline.experiment_spec import ExperimentStepSpec, trial_reference
from mlplane.components.pipeline.spec import ContainerStepSpec
from mlplane.components.platform.install import WAIT_FOR
from mlplane.components.platform.releases import DEFAULT_RELEASE, ReleaseName
from mlplane.components.upstream_names import longest_name, rules_for

EXPERIMENT_API = "kubeflow.org/v1beta1"
#: The trial's container (Katib's primaryContainerName: the one its collector watches).
TRIAL_CONTAINER = "main"
#: A small Python to run the reader script with the standard library only: a tag of Docker's
#: official ``python`` image (docker-library/official-images@73f6781860cc5c7cc01c3cefc6f1ee32ff4b894c
#: library/python) pinned to the digest of its multi-platform index (docker-library/repo-info
#: @bc9bbb47fc709dc4b29d3b128d66823b953b97a7 repos/python/remote/3.12.14-slim-bookworm.md);
#: ``tests/test_image_sources.py`` checks both against the copies in ``tests/data/images``.
READER_IMAGE = ("python:3.12.14-slim-bookworm"
                "@sha256:b64e9d3a71eddaa1b3f80c04abf292b3139e3b7c4dd272d19c31dc1f91194d1b")
#: Where the reader writes the best values (each file is a mount of the outputs claim).
BEST_DIR = "/mlplane/best"
#: Pulumi's wait for a search without its own timeout.
DEFAULT_AWAIT_SECONDS = 12 * 3600


class ExperimentStepArgs(ArgsModel):
    """Arguments of :class:`ExperimentStep`."""

    search: ExperimentStepSpec = Field(description="The search.")
    trial: ContainerStepArgs = Field(
        description="The trial as a container step (:func:`trial_step`): pipeline, namespace (a profile's), "
                    "version, placement, and the outputs claim where the best values go.")
    release: ReleaseName = Field(DEFAULT_RELEASE, description="The release train, whose Katib judges the "
                                 "Experiment's name (26.03: at most 40 characters).")


def experiment_name(pipeline: str, step: str, algorithm: str, release: str) -> str:
    """The Experiment's name: ``<pipeline>-<step>``, fitted (cut, with a hash) to what the train's
    Katib accepts and derives (components/upstream_names.py: 40 characters on 26.03; on both,
    ``<name>-<algorithm>`` and ``<name>-<8 characters>`` are DNS labels)."""
    rule = rules_for(EXPERIMENT_API, "Experiment", release)
    assert rule is not None  # both trains have one
    return k8s_name(pipeline, step, max_length=longest_name(rule, algorithm=algorithm))


def trial_step(spec: ExperimentStepSpec) -> ContainerStepSpec:
    """The trial as a container step (so its pod is built like every step's)."""
    trial = spec.trial
    return ContainerStepSpec(name=spec.name, image=trial.image, command=trial.command, args=trial.args,
                             env=trial.env, resources=trial.resources, accelerator=trial.accelerator,
                             volumes=trial.volumes, volume_mounts=trial.volume_mounts,
                             timeout_seconds=trial.timeout_seconds)


def trial_template(args: ExperimentStepArgs) -> dict[str, Any]:
    """Katib's ``trialTemplate``: a Job per trial, its parameters by name."""
    spec, step_args = args.search, args.trial
    job: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {
            # Out of the mesh like every run-to-completion pod (components/mesh.py).
            "metadata": without_sidecar({"labels": pod_labels(step_args)}),
            "spec": pod_spec(step_args, "Never", TRIAL_CONTAINER),
        },
    }
    if spec.trial.timeout_seconds:
        job["activeDeadlineSeconds"] = spec.trial.timeout_seconds
    return {
        "primaryContainerName": TRIAL_CONTAINER,
        "trialParameters": [{"name": p.name, "reference": p.name,
                             "description": f"{p.name}, written {trial_reference(p.name)} in the trial"}
                            for p in spec.parameters],
        "trialSpec": {"apiVersion": "batch/v1", "kind": "Job", "spec": job},
    }


def experiment_spec(args: ExperimentStepArgs) -> dict[str, Any]:
    """The Experiment's ``spec``."""
    spec = args.search
    objective: dict[str, Any] = {"type": spec.objective.type, "objectiveMetricName": spec.objective.metric}
    if spec.objective.goal is not None:
        objective["goal"] = spec.objective.goal
    if spec.objective.additional_metrics:
        objective["additionalMetricNames"] = list(spec.objective.additional_metrics)
    return {
        "objective": objective,
        "algorithm": {"algorithmName": spec.algorithm},
        "parallelTrialCount": spec.parallel_trials,
        "maxTrialCount": spec.max_trials,
        "maxFailedTrialCount": spec.max_failed_trials,
        # The search's suggestion service is removed once it has finished (nothing resumes it).
        "resumePolicy": "Never",
        "parameters": [{"name": p.name, "parameterType": p.type, "feasibleSpace": p.feasible_space()}
                       for p in spec.parameters],
        "trialTemplate": trial_template(args),
    }


def best_file(parameter: str) -> str:
    """The reader's output file of a parameter."""
    return f"{BEST_DIR}/{k8s_name(parameter)}"


def reader_step(spec: ExperimentStepSpec, namespace: str, experiment: str) -> ContainerStepSpec:
    """The Job that writes the best values to the step's outputs (named like the search step)."""
    source = inspect.getsource(katib_best)
    targets = [f"{p}={best_file(p)}" for p in spec.outputs]
    return ContainerStepSpec(name=spec.name, image=READER_IMAGE, command=("python", "-c", source),
                             args=(namespace, experiment, *targets),
                             file_outputs={p: best_file(p) for p in spec.outputs},
                             resources={"cpu_request": "10m", "cpu_limit": "200m", "memory_request": "32Mi",
                                        "memory_limit": "128Mi"})


class ExperimentStep(pulumi.ComponentResource):
    """A hyperparameter search step.

    Attributes:
        experiment: The Experiment (awaited until it succeeded).
        job: The Job that published the best parameters; depend on it to read them.
        experiment_name: The Experiment's Kubernetes name.
    """

    def __init__(self, name: str, args: ExperimentStepArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:pipeline:ExperimentStep", name, None, opts)
        spec, trial = args.search, args.trial
        if trial.outputs_claim is None:
            raise ValueError(f"search step {spec.name!r} publishes outputs, and the pipeline has no outputs claim")
        after = depends_of(opts)
        self.experiment_name = experiment_name(trial.pipeline, spec.name, spec.algorithm, args.release)
        labels = {key: value for key, value in pod_labels(trial).items() if not key.startswith("azure.")}
        seconds = spec.timeout_seconds + 300 if spec.timeout_seconds else DEFAULT_AWAIT_SECONDS
        self.experiment = k8s.apiextensions.CustomResource(
            f"{name}-experiment", api_version=EXPERIMENT_API, kind="Experiment",
            metadata={"name": self.experiment_name, "namespace": trial.namespace, "labels": labels,
                      "annotations": {WAIT_FOR: "condition=Succeeded", "pulumi.com/timeoutSeconds": str(seconds)}},
            spec=experiment_spec(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        reader = k8s_name(trial.pipeline, spec.name, "reader")
        meta = {"name": reader, "namespace": trial.namespace, "labels": labels}
        account = k8s.core.v1.ServiceAccount(f"{name}-reader", metadata=meta, automount_service_account_token=False,
                                             opts=pulumi.ResourceOptions(parent=self, depends_on=after))
        role = k8s.rbac.v1.Role(f"{name}-reader-role", metadata=meta, rules=[{
            "apiGroups": ["kubeflow.org"], "resources": ["experiments"], "resourceNames": [self.experiment_name],
            "verbs": ["get"]}], opts=pulumi.ResourceOptions(parent=self, depends_on=after))
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-reader-binding", metadata=meta,
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": reader},
            subjects=[{"kind": "ServiceAccount", "name": reader, "namespace": trial.namespace}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, role]))
        best = ContainerStep(
            f"{name}-best",
            trial.model_copy(update={"spec": reader_step(spec, trial.namespace, self.experiment_name),
                                     "placement": None, "service_account": reader}),
            pulumi.ResourceOptions(parent=self, depends_on=[*after, self.experiment, binding]))
        self.job = best.job
        self.register_outputs({"experiment": self.experiment_name, "outputs": list(spec.outputs)})
