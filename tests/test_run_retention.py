"""Finished runs are never run again by accident.

A run mlplane starts is a resource of the plan (a step's Job, a pipeline's Workflow). If
the cluster deleted it once finished, ``pulumi refresh`` would drop it from the state and
the next ``pulumi up`` would create it, and run it, again (pulumi/pulumi-kubernetes#3089).
Three things could delete a finished run, and none of them may apply to mlplane's:

- a TTL on the object itself: a Job's ``ttlSecondsAfterFinished`` (Kubernetes' TTL
  controller), a Workflow's ``ttlStrategy`` (Argo; KFP 1.8.22's
  ``set_ttl_seconds_after_finished`` sets it, and mlplane refuses it);
- Argo's controller-wide defaults (``workflowDefaults`` in the workflow-controller
  configmap), which Kubeflow Pipelines' install could set on either train;
- Kubeflow Pipelines' garbage collection: its persistence agent reports a finished
  Workflow and the API server deletes it once its final state is persisted
  (``TTL_SECONDS_AFTER_WORKFLOW_FINISH``, 86400 in kubeflow/manifests), but only for
  Workflows labelled ``pipeline/runid``: the agent skips any other ("workflow does not
  have a Run ID label") and the API server refuses to report it (kubeflow/pipelines
  2.0.5 and 2.16.0, backend/src/agent/persistence/worker/workflow_saver.go ``Save``,
  backend/src/apiserver/resource/resource_manager.go ``ReportWorkflowResource``,
  backend/src/common/util/consts.go ``LabelKeyWorkflowRunId``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlplane.components.pipeline.schedule import ScheduleConfig
from mlplane.components.pipeline.spec import WorkflowStepSpec
from mlplane.components.pipeline.workflow_step import WorkflowStepArgs, cron_workflow_manifest, workflow_manifest
from mlplane.pipelines.kfp_v1 import load_kfp_v1_pipeline

from .conftest import rendered

ORACLE = Path(__file__).resolve().parent / "data" / "pipelines" / "oracle"
#: The label KFP garbage-collects finished Workflows by (kubeflow/pipelines consts.go).
KFP_RUN_ID = "pipeline/runid"


def removal_problems(kind: str, manifest: dict) -> list[str]:
    """What in ``manifest`` (a Job, Workflow or CronWorkflow) would have the cluster delete a finished run."""
    spec = manifest.get("spec") or {}
    labels = (manifest.get("metadata") or {}).get("labels") or {}
    found = []
    if kind == "Job" and "ttlSecondsAfterFinished" in spec:
        found.append("Job ttlSecondsAfterFinished")
    if kind == "CronWorkflow":
        labels = {**labels, **((spec.get("workflowMetadata") or {}).get("labels") or {})}
        spec = spec.get("workflowSpec") or {}
    if kind in ("Workflow", "CronWorkflow"):
        found += [f"{kind} {key}" for key in ("ttlStrategy", "ttlSecondsAfterFinished") if key in spec]
        if KFP_RUN_ID in labels:
            found.append(f"{kind} label {KFP_RUN_ID}")
    return found


def test_the_rule_sees_what_would_delete_a_run() -> None:
    assert removal_problems("Job", {"spec": {"ttlSecondsAfterFinished": 0}}) == ["Job ttlSecondsAfterFinished"]
    assert removal_problems("Workflow", {"metadata": {"labels": {KFP_RUN_ID: "x"}},
                                         "spec": {"ttlStrategy": {"secondsAfterCompletion": 60}}}) == [
        "Workflow ttlStrategy", "Workflow label pipeline/runid"]
    assert removal_problems("CronWorkflow", {"spec": {"workflowSpec": {"ttlStrategy": {}}}}) == [
        "CronWorkflow ttlStrategy"]


@pytest.mark.parametrize("stack", ["dev", "onprem", "gke", "eks", "aks"])
def test_no_run_of_a_stack_is_removed_once_finished(stack: str) -> None:
    runs = [r for r in rendered(stack) if r.type.rsplit(":", 1)[-1] in ("Job", "Workflow", "CronWorkflow")]
    if stack in ("dev", "onprem", "gke"):  # the stacks with the MNIST pipeline: its training Job at least
        assert any(r.type.endswith(":Job") for r in runs)
    for run in runs:
        assert not removal_problems(run.type.rsplit(":", 1)[-1], run.inputs), run.name


WORKFLOWS = sorted(p.stem for p in ORACLE.glob("flow_*.py")) + ["parallelism_limit"]


@pytest.mark.parametrize("stem", WORKFLOWS)
@pytest.mark.parametrize("mode", ["await", "async", "schedule"])
def test_no_workflow_is_removed_once_finished(stem: str, mode: str) -> None:
    spec = load_kfp_v1_pipeline(ORACLE / f"{stem}.py", "pipeline", {}, name=stem.replace("_", "-"),
                                project=ORACLE.parent)
    steps = [s for s in spec.steps if isinstance(s, WorkflowStepSpec)]
    assert steps
    for step in steps:
        if step.accelerators:
            continue  # placed on a stack's pool: covered by the oracle suite's own tests
        args = WorkflowStepArgs(namespace="team", spec=step, version="v1", run_async=mode == "async",
                                schedule=ScheduleConfig(cron="@daily") if mode == "schedule" else None)
        manifest = cron_workflow_manifest(args) if mode == "schedule" else workflow_manifest(args)
        assert not removal_problems(manifest["kind"], manifest)


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
def test_kubeflow_pipelines_argo_sets_no_default_ttl(release: str) -> None:
    """Argo's controller of each train's Kubeflow Pipelines install has no ``workflowDefaults``
    (which could give every Workflow a ``ttlStrategy`` or ``podGC``), so a Workflow without
    a TTL of its own is kept once finished."""
    from .upstream import argo_controller_config, argo_objects, needs_upstream

    if needs_upstream.args[0]:
        pytest.skip(needs_upstream.kwargs["reason"])
    config = argo_controller_config(argo_objects(release))
    assert "workflowDefaults" not in config["data"]
    assert not any("ttl" in str(yaml.safe_load(value)).lower() for value in config["data"].values())
