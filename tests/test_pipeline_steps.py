"""Pipeline steps as infrastructure: Jobs, outputs between steps, versions, training jobs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest

from mlplane.components.pipeline import outputs
from mlplane.components.pipeline.pipeline import Pipeline, PipelineArgs
from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec, VolumeStepSpec, output_placeholder
from mlplane.components.pipeline.versioning import VERSION_LABEL, step_versions
from mlplane.components.pod_security import ResourceOverrides
from mlplane.components.scheduling import AcceleratorRequest, Placement
from mlplane.infra.offline.plan import Plan

from .crds import strict_schema
from .test_manifests import KUBERNETES_VERSION


def spec(train_args: tuple[str, ...] = ("--steps", "200"), workers: int = 1) -> PipelineSpec:
    return PipelineSpec(name="demo", steps=(
        VolumeStepSpec(name="scratch", resource_name="demo-scratch", size="5Gi"),
        ContainerStepSpec(name="prep", image="python:3.11.9-slim", command=("python", "prep.py"),
                          file_outputs={"data": "/tmp/data.txt"}, after=("scratch",)),
        ContainerStepSpec(name="train", image="trainer:1.0", command=("python", "train.py"),
                          args=("--data", output_placeholder("prep", "data"), *train_args),
                          file_outputs={"model": "/out/model"}, retries=3, timeout_seconds=600,
                          resources=ResourceOverrides(memory_limit="8Gi"),
                          accelerator=AcceleratorRequest(vendor="nvidia", count=1), workers=workers),
        ContainerStepSpec(name="report", image="python:3.11.9-slim", command=("python", "report.py")),
    ))


GPU = Placement(pool="l4", resource_name="nvidia.com/gpu", count=1, node_selector={"cloud.google.com/gke-accelerator": "nvidia-l4"},
                    tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},))


def declare(record, pipeline: PipelineSpec, **extra) -> Plan:
    def program() -> None:
        provider = k8s.Provider("k8s", context="x")
        Pipeline("demo", PipelineArgs(spec=pipeline, namespace="ml", placements={"train": GPU}, **extra),
                 pulumi.ResourceOptions(provider=provider))

    return record(program)


def test_steps_become_jobs_in_dependency_order(record) -> None:
    plan = declare(record, spec())
    train = plan.named("demo-train-job")
    assert plan.named("demo-prep-job").urn in train.dependencies
    assert plan.named("demo-outputs").urn in train.dependencies
    assert plan.named("demo-scratch-pvc").urn in plan.named("demo-prep-job").dependencies
    assert plan.named("demo-report-job").dependencies == ()  # independent: runs in parallel


def test_job_is_restricted_sized_placed_and_awaited(record) -> None:
    job = declare(record, spec()).named("demo-train-job").inputs
    assert job["metadata"]["name"] == "demo-train"
    assert job["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == "900"
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (3, 600)
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]
    assert pod["automountServiceAccountToken"] is False
    main = pod["containers"][0]
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert main["resources"]["limits"] == {"cpu": "1", "memory": "8Gi", "nvidia.com/gpu": "1"}
    assert main["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


def test_volume_steps_and_the_outputs_claim_are_protected(record) -> None:
    plan = declare(record, spec())
    for name in ("demo-scratch-pvc", "demo-outputs"):
        claim = plan.named(name)
        assert claim.protect and claim.retain_on_delete
        kubernetes_validate.validate(claim.inputs, KUBERNETES_VERSION, strict=True)


def test_producer_writes_outputs_onto_the_claim(record) -> None:
    pod = declare(record, spec()).named("demo-prep-job").inputs["spec"]["template"]["spec"]
    assert {"name": outputs.VOLUME_NAME, "mountPath": "/tmp/data.txt", "subPath": "prep/data"} in \
        pod["containers"][0]["volumeMounts"]
    init = pod["initContainers"][0]
    assert init["command"][-1] == "mkdir -p /claim/prep && : > /claim/prep/data"
    assert {"name": outputs.VOLUME_NAME, "persistentVolumeClaim": {"claimName": "demo-outputs"}} in pod["volumes"]


def test_consumer_reads_outputs_at_run_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "prep").mkdir()
    (tmp_path / "prep" / "data").write_text("s3://bucket/data v1\n")
    monkeypatch.setattr(outputs, "INPUTS_DIR", str(tmp_path))
    step = ContainerStepSpec(name="use", image="x:1", command=("printf", "%s|"),
                             args=("--data", output_placeholder("prep", "data"),
                                   "it's=" + output_placeholder("prep", "data") + "!", "$HOME"))
    command = outputs.consumer_command(step)
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert result.stdout == "--data|s3://bucket/data v1|it's=s3://bucket/data v1!|$HOME|"


def test_consumer_needs_a_command() -> None:
    step = ContainerStepSpec(name="use", image="x:1", args=(output_placeholder("prep", "data"),))
    with pytest.raises(ValueError, match="must set `command`"):
        outputs.consumer_command(step)


def test_versions_follow_inputs_and_upstream() -> None:
    before, after = step_versions(spec()), step_versions(spec(train_args=("--steps", "400")))
    assert before["train"] != after["train"]
    assert before["prep"] == after["prep"] and before["report"] == after["report"]
    assert step_versions(spec()) == before  # deterministic


def test_version_change_replaces_only_the_changed_job(record) -> None:
    from mlplane.infra.offline.diff import diff_plans

    diff = diff_plans(declare(record, spec()), declare(record, spec(train_args=("--steps", "400"))))
    ops = {change.name: change.op for change in diff.changes}
    assert ops == {"demo-train-job": "replace"}
    label = declare(record, spec()).named("demo-train-job").inputs["metadata"]["labels"][VERSION_LABEL]
    assert label == step_versions(spec())["train"]


@pytest.mark.parametrize(("api", "kinds"), [("pytorchjob", {"PyTorchJob"}), ("trainjob", {"TrainJob", "TrainingRuntime"})])
def test_distributed_training_steps(record, api: str, kinds: set[str]) -> None:
    plan = declare(record, spec(workers=4), training_api=api)
    custom = [r for r in plan if r.is_kubernetes_object and r.inputs["kind"] in kinds]
    assert {r.inputs["kind"] for r in custom} == kinds
    for resource in custom:
        schema = strict_schema(resource.inputs["apiVersion"], resource.inputs["kind"])
        assert schema is not None, resource.inputs["kind"]
        jsonschema.validate(resource.inputs, schema)
    job = next(r for r in custom if r.inputs["kind"] in ("PyTorchJob", "TrainJob"))
    assert job.inputs["metadata"]["annotations"]["pulumi.com/waitFor"].startswith("condition=")
    assert plan.named("demo-prep-job").urn in job.dependencies
    if api == "pytorchjob":
        replicas = job.inputs["spec"]["pytorchReplicaSpecs"]
        assert (replicas["Master"]["replicas"], replicas["Worker"]["replicas"]) == (1, 3)
        assert replicas["Worker"]["template"]["spec"]["containers"][0]["name"] == "pytorch"
    else:
        runtime = next(r for r in custom if r.inputs["kind"] == "TrainingRuntime")
        assert runtime.inputs["spec"]["mlPolicy"]["numNodes"] == 4
        assert job.inputs["spec"]["runtimeRef"]["name"] == runtime.inputs["metadata"]["name"]


def test_trainjob_runtime_marks_its_trainer_step(record) -> None:
    """Trainer finds the job it scales to numNodes by the ancestor-step label, as upstream's runtimes set it."""
    import yaml

    from tests.upstream import SHARED_UPSTREAM, needs_upstream

    plan = declare(record, spec(workers=4), training_api="trainjob")
    runtime = next(r for r in plan if r.is_kubernetes_object and r.inputs["kind"] == "TrainingRuntime")
    jobs = runtime.inputs["spec"]["template"]["spec"]["replicatedJobs"]
    labels = [job["template"]["metadata"]["labels"].get("trainer.kubeflow.org/trainjob-ancestor-step") for job in jobs]
    assert labels == ["trainer"]
    if needs_upstream.args[0]:
        pytest.skip(needs_upstream.kwargs["reason"])
    upstream = yaml.safe_load((SHARED_UPSTREAM / "kubeflow-manifests" / "26.03" / "applications" / "trainer" / "upstream"
                               / "base" / "runtimes" / "torch_distributed.yaml").read_text())
    node = upstream["spec"]["template"]["spec"]["replicatedJobs"][0]
    assert node["template"]["metadata"]["labels"] == {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}
