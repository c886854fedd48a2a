"""A scheduled pipeline: its schedule (config) and the Argo ``CronWorkflow`` it becomes.

Kubeflow Pipelines installs Argo Workflows' CRDs, ``cronworkflows.argoproj.io`` among
them, on both release trains (kubeflow/manifests v1.8.1
``apps/pipeline/upstream/third-party/argo/upstream/manifests/base/crds/minimal`` and 26.03
``applications/pipeline/upstream/third-party/argo/installs/cluster``, which takes Argo
v3.7.3's ``manifests/base/crds/minimal``), and its workflow controller runs CronWorkflows
in every namespace. A CronWorkflow is one object: the plan declares it, never awaits it
(``pulumi.com/skipAwait``), and updates it in place when the pipeline changes; Argo makes
a Workflow of ``workflowSpec`` at each scheduled time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from mlplane.components.base import ArgsModel
from mlplane.components.pipeline import cron

#: The annotation carrying the schedule in words: a reviewer reads it in any diff (mlplane's
#: and ``pulumi preview --diff``), since it changes whenever the schedule does.
SCHEDULE_ANNOTATION = "mlplane.dev/schedule"
#: Argo's limit on a CronWorkflow's name: its runs are named ``<name>-<unix time>`` and must
#: stay a 63-character label (argoproj/argo-workflows workflow/validate/validate.go,
#: ``maxCharsInCronWorkflowName``).
CRON_NAME_MAX = 52


def _cron(value: str) -> str:
    try:
        cron.parse(value)
    except cron.CronError as exc:
        raise ValueError(f"is not a cron schedule Argo accepts: {exc}; allowed: {cron.ALLOWED}") from None
    return value


def _zone(value: str) -> str:
    try:
        return cron.check_timezone(value)
    except cron.CronError as exc:
        raise ValueError(str(exc)) from None


class ScheduleConfig(ArgsModel):
    """When a scheduled pipeline runs (argoproj/argo-workflows v3.3.10 and v3.7.3,
    pkg/apis/workflow/v1alpha1/cron_workflow_types.go ``CronWorkflowSpec``)."""

    cron: Annotated[str, AfterValidator(_cron)] = Field(
        description="When to run, in cron format as Argo reads it (robfig/cron v3 ParseStandard): "
                    "`0 3 * * *` is every day at 03:00; `@daily`, `@every 6h` work too.")
    timezone: Annotated[str, AfterValidator(_zone)] = Field(
        "UTC", description="IANA time zone the cron is read in (without one Argo would use the controller's).")
    concurrency: Literal["Allow", "Forbid", "Replace"] = Field(
        "Forbid", description="When a run is due while the last still runs: Allow both, Forbid (skip the new "
                              "one), Replace (stop the old one). Argo's concurrencyPolicy.")
    keep_succeeded: int = Field(3, ge=0, le=100, description="How many succeeded runs Argo keeps "
                                                             "(successfulJobsHistoryLimit).")
    keep_failed: int = Field(1, ge=0, le=100, description="How many failed runs Argo keeps (failedJobsHistoryLimit).")
    suspend: bool = Field(False, description="Pause the schedule without removing it.")

    @property
    def in_words(self) -> str:
        """The schedule as a reviewer reads it: ``every day at 03:00 UTC``."""
        return cron.describe(self.cron, self.timezone)


def cron_workflow_spec(schedule: ScheduleConfig, workflow_spec: dict[str, Any], release: str,
                       labels: dict[str, str]) -> dict[str, Any]:
    """The CronWorkflow's spec running ``workflow_spec`` on ``schedule``.

    Argo v3.3.10 (release 1.8.1) reads ``schedule``; v3.7.3 (26.03) deprecates it for
    ``schedules`` and refuses both at once (validate.go ``ValidateCronWorkflow``), so each
    train gets its own field.
    """
    spec: dict[str, Any] = {
        "timezone": schedule.timezone,
        "concurrencyPolicy": schedule.concurrency,
        "successfulJobsHistoryLimit": schedule.keep_succeeded,
        "failedJobsHistoryLimit": schedule.keep_failed,
        "suspend": schedule.suspend,
        "workflowMetadata": {"labels": dict(labels)},
        "workflowSpec": workflow_spec,
    }
    if release == "1.8.1":
        spec["schedule"] = schedule.cron
    else:
        spec["schedules"] = [schedule.cron]
    return spec
