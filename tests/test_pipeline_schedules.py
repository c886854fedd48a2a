"""Schedules and run modes: what a scheduled or async pipeline becomes, and what is refused.

A KFP v1 pipeline with ``schedule`` is one Argo CronWorkflow in its profile namespace
(never awaited, updated in place, its schedule in words); ``run: async`` is its Workflow
without a readiness wait. Bad schedules, and schedules or async runs where the plan uses
the run's results, exit 2 naming the stack file, the key path, the value and what is
allowed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.components.pipeline import cron
from mlplane.infra.cli import main
from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.plan import Plan, load_plan

from .conftest import ROOT

ORACLE = Path(__file__).resolve().parent / "data" / "pipelines" / "oracle"
PROFILE = "kubeflow-user-example-com"
CRON = "kubernetes:argoproj.io/v1alpha1:CronWorkflow"
WORKFLOW = "kubernetes:argoproj.io/v1alpha1:Workflow"


# --- cron, as Argo's parser reads it, and in words ----------------------------------------

@pytest.mark.parametrize(("schedule", "zone", "words"), [
    ("0 3 * * *", "UTC", "every day at 03:00 UTC"),
    ("30 6 * * 1-5", "Europe/Berlin", "every Monday to Friday at 06:30 Europe/Berlin"),
    ("0 22 * * sun,wed", "UTC", "every Sunday and Wednesday at 22:00 UTC"),
    ("15 1 1 * *", "UTC", "on day 1 of every month at 01:15 UTC"),
    ("*/15 * * * *", "UTC", "every 15 minutes"),
    ("5 */6 * * *", "UTC", "every 6 hours at minute 5 (UTC)"),
    ("@daily", "Asia/Tokyo", "every day at 00:00 Asia/Tokyo"),
    ("@every 90m", "UTC", "every 90m"),
    ("0 3 1-7 * 1", "UTC", "on the cron schedule '0 3 1-7 * 1' (UTC)"),
])
def test_schedules_in_words(schedule: str, zone: str, words: str) -> None:
    assert cron.describe(schedule, zone) == words


@pytest.mark.parametrize(("schedule", "problem"), [
    ("0 3 * *", "has 4 fields, not 5"),
    ("0 24 * * *", "hour: 24 is outside 0-23"),
    ("61 3 * * *", "minute: 61 is outside 0-59"),
    ("0 3 * * 7", "day of week: 7 is outside 0-6"),
    ("0 3 0 * *", "day of month: 0 is outside 1-31"),
    ("0 3 * foo *", "month: 'foo' is not a number or a name"),
    ("0 5-3 * * *", "hour: the range '5-3' runs backwards"),
    ("*/0 * * * *", "minute: the step in '*/0' must be a positive number"),
    ("@fortnightly", "unknown descriptor '@fortnightly'"),
    ("@every soon", "@every needs a Go duration"),
])
def test_schedules_argo_would_refuse(schedule: str, problem: str) -> None:
    with pytest.raises(cron.CronError) as caught:
        cron.parse(schedule)
    assert problem in str(caught.value)


def test_time_zones_are_iana_names() -> None:
    assert cron.check_timezone("America/New_York") == "America/New_York"
    with pytest.raises(cron.CronError, match="'Mars/Olympus' is not an IANA time zone"):
        cron.check_timezone("Mars/Olympus")


# --- stacks -------------------------------------------------------------------------------

def stack(tmp_path: Path, pipelines: list[dict[str, Any]], release: str = "26.03", keep_mnist: bool = False) -> Path:
    """The dev stack with ``pipelines`` (and the oracle's pipeline files beside it)."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config["mlplane:kubeflow"]["release"] = release
    config["mlplane:pipelines"] = (config["mlplane:pipelines"] if keep_mnist else []) + pipelines
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in ("caching_options.py", "flow_condition.py"):
        shutil.copy(ORACLE / name, tmp_path / name)
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


NIGHTLY = {"name": "nightly", "kind": "kfp-v1", "source": "caching_options.py:pipeline", "namespace": PROFILE,
           "schedule": {"cron": "0 3 * * *", "timezone": "Europe/Berlin", "keep_succeeded": 5}}
BACKFILL = {"name": "backfill", "kind": "kfp-v1", "source": "flow_condition.py:pipeline", "namespace": PROFILE,
            "run": "async"}


def render(path: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> Plan:
    code = main(["render", "--config-file", str(path), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    return load_plan(out / "plan.json")


def refused(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "never")]) == 2
    assert not (tmp_path / "never").exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(path) in err
    return err


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
def test_scheduled_and_async_pipelines(tmp_path: Path, capsys: pytest.CaptureFixture[str], release: str) -> None:
    from tests.crds import strict_schema

    plan = render(stack(tmp_path, [NIGHTLY, BACKFILL], release), tmp_path / "out", capsys)
    [schedule] = [r for r in plan if r.type == CRON]
    metadata, spec = schedule.inputs["metadata"], schedule.inputs["spec"]
    assert (metadata["name"], metadata["namespace"]) == ("nightly", PROFILE)
    assert metadata["annotations"] == {"pulumi.com/skipAwait": "true",
                                       "mlplane.dev/schedule": "every day at 03:00 Europe/Berlin"}
    # Argo v3.3.10 reads `schedule`; v3.7.3 `schedules` and refuses both at once.
    assert ({"schedule": "0 3 * * *"} if release == "1.8.1" else {"schedules": ["0 3 * * *"]}).items() <= spec.items()
    assert not ({"schedule", "schedules"} - {"schedule" if release == "1.8.1" else "schedules"}) & set(spec)
    assert (spec["timezone"], spec["concurrencyPolicy"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"], spec["suspend"]) == ("Europe/Berlin", "Forbid", 5, 1, False)
    assert spec["workflowSpec"]["serviceAccountName"] == "default-editor"
    assert {t["name"] for t in spec["workflowSpec"]["templates"]} >= {"fetch", "train", "report"}
    assert schedule.replace_on_changes == () and not schedule.delete_before_replace
    schema = strict_schema("argoproj.io/v1alpha1", "CronWorkflow")
    if schema is not None:
        import jsonschema

        jsonschema.validate({"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", **schedule.inputs},
                            schema)

    [run] = [r for r in plan if r.type == WORKFLOW]
    annotations = run.inputs["metadata"]["annotations"]
    assert annotations == {"pulumi.com/skipAwait": "true", "mlplane.dev/run": "async"}
    assert run.replace_on_changes == ("*",)  # a changed pipeline still runs again

    # The preview's tree says how each run starts.
    from mlplane.infra.offline.tree import format_tree

    tree = format_tree(plan)
    assert f"{CRON}  {schedule.name}  [runs every day at 03:00 Europe/Berlin; not awaited]" in tree
    assert f"{WORKFLOW}  {run.name}  [run not awaited]" in tree


def test_a_changed_scheduled_pipeline_updates_its_cron_workflow(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    before = render(stack(tmp_path / "a", [NIGHTLY]), tmp_path / "a" / "out", capsys)
    changed = stack(tmp_path / "b", [{**NIGHTLY, "params": {"rows": "20"},
                                      "schedule": {"cron": "0 4 * * 1", "timezone": "UTC"}}])
    after = render(changed, tmp_path / "b" / "out", capsys)
    [change] = [c for c in diff_plans(before, after).changes if c.type == CRON]
    assert change.op == "update"
    shown = {value.path: (value.before, value.after) for value in change.values}
    assert shown['metadata.annotations["mlplane.dev/schedule"]'] == ("every day at 03:00 Europe/Berlin",
                                                                    "every Monday at 04:00 UTC")
    assert 'metadata.labels["mlplane.dev/version"]' in shown  # the steps changed too

    # Only the schedule changed: only the schedule changes, in words and as Argo reads it.
    moved = stack(tmp_path / "c", [{**NIGHTLY, "schedule": {**NIGHTLY["schedule"], "cron": "30 6 * * 1-5"}}])
    [change] = [c for c in diff_plans(before, render(moved, tmp_path / "c" / "out", capsys)).changes]
    assert change.type == CRON and change.op == "update"
    assert {value.path: value.after for value in change.values} == {
        'metadata.annotations["mlplane.dev/schedule"]': "every Monday to Friday at 06:30 Europe/Berlin",
        "spec.schedules[0]": "30 6 * * 1-5"}


@pytest.mark.parametrize(("entry", "key", "value", "expected"), [
    ({**NIGHTLY, "schedule": {"cron": "0 25 * * *"}}, "mlplane:pipelines[0].schedule.cron", "0 25 * * *",
     "hour: 25 is outside 0-23"),
    ({**NIGHTLY, "schedule": {"cron": "0 3 * * *", "timezone": "Europe/Gotham"}},
     "mlplane:pipelines[0].schedule.timezone", "Europe/Gotham", "not an IANA time zone"),
    ({**NIGHTLY, "run": "async"}, "mlplane:pipelines[0]", None, "run: 'async' with a schedule"),
    ({**NIGHTLY, "namespace": "mlplane"}, "mlplane:pipelines[0].namespace", "mlplane", "is not a profile"),
    ({**BACKFILL, "namespace": "mlplane"}, "mlplane:pipelines[0].namespace", "mlplane", "is not a profile"),
])
def test_bad_schedules(tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: dict[str, Any], key: str,
                       value: str | None, expected: str) -> None:
    err = refused(stack(tmp_path, [entry]), tmp_path, capsys)
    assert key in err and expected in err, err
    if value is not None:
        assert value in err


@pytest.mark.parametrize(("change", "key", "value"), [
    ({"schedule": {"cron": "0 3 * * *"}}, "schedule", "0 3 * * *"),
    ({"run": "async"}, "run", "async"),
])
def test_no_schedule_or_async_run_where_the_plan_uses_the_results(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], key: str, value: str) -> None:
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    mnist = {**document["config"]["mlplane:pipelines"][0], **change}
    path = stack(tmp_path, [mnist])
    err = refused(path, tmp_path, capsys)
    assert f"mlplane:pipelines[0].{key}" in err and value in err, err
    assert "the plan uses the run's results (step 'serve' serves the model step 'train' makes)" in err
    assert "run: await (the default)" in err


def test_native_pipelines_are_not_scheduled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "native.py").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "native.py").write_text(
        "from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec\n"
        "from mlplane.pipelines.native import pipeline\n\n\n@pipeline\ndef p(ctx):\n"
        "    return PipelineSpec(name=ctx.pipeline, steps=(ContainerStepSpec(\n"
        "        name='hello', image='busybox:1.36.1', command=('echo', 'hi')),))\n")
    path = stack(tmp_path, [{"name": "p", "source": "native.py:p", "schedule": {"cron": "@daily"}}])
    err = refused(path, tmp_path, capsys)
    assert "mlplane:pipelines[0].schedule" in err and "kind: kfp-v1 for a scheduled or async pipeline" in err, err
