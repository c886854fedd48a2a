"""Hyperparameter search as a pipeline step: the Experiment, its trials, and its best parameters as outputs."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from pydantic import ValidationError

from mlplane.components.pipeline import katib_best, outputs
from mlplane.components.pipeline.experiment_spec import ALGORITHMS, ExperimentStepSpec, SearchParameter
from mlplane.components.pipeline.experiment_step import READER_IMAGE, TRIAL_CONTAINER, reader_step
from mlplane.components.pipeline.pipeline import Pipeline, PipelineArgs
from mlplane.components.pipeline.spec import PipelineSpec
from mlplane.infra.cli import main
from mlplane.pipelines.context import PipelineContext

from .conftest import ROOT
from .crds import strict_schema
from .upstream import SHARED_UPSTREAM, needs_upstream

DATA = Path(__file__).resolve().parent / "data" / "pipelines"
UPSTREAM = SHARED_UPSTREAM / "kubeflow-manifests"
KATIB_CONFIG = {"1.8.1": "v1.8.1/apps/katib/upstream/installs/katib-cert-manager/katib-config.yaml",
                "26.03": "26.03/applications/katib/upstream/installs/katib-cert-manager/katib-config.yaml"}


def search_spec(**params: Any) -> PipelineSpec:
    sys.path.insert(0, str(DATA))
    try:
        import search  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return search.search_pipeline(PipelineContext(pipeline="hpo", stack="t", cluster_kind="local",
                                                  namespace="team"), **params)


def declare(record) -> Any:
    def program() -> None:
        provider = k8s.Provider("k8s", context="x")
        Pipeline("hpo", PipelineArgs(spec=search_spec(), namespace="team"), pulumi.ResourceOptions(provider=provider))

    return record(program)


def test_the_experiment_is_awaited_valid_and_its_trials_are_restricted_without_sidecar(record) -> None:
    plan = declare(record)
    experiment = plan.named("hpo-tune-experiment")
    body = experiment.inputs
    assert body["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Succeeded"
    schema = strict_schema(body["apiVersion"], body["kind"])
    assert schema is not None
    import jsonschema
    jsonschema.validate(body, schema)
    spec = body["spec"]
    assert spec["objective"] == {"type": "maximize", "objectiveMetricName": "accuracy", "goal": 0.99}
    assert spec["parameters"] == [
        {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.001", "max": "0.1"}},
        {"name": "optimizer", "parameterType": "categorical", "feasibleSpace": {"list": ["sgd", "adam"]}}]
    template = spec["trialTemplate"]
    assert template["primaryContainerName"] == TRIAL_CONTAINER
    assert [p["reference"] for p in template["trialParameters"]] == ["lr", "optimizer"]
    job = template["trialSpec"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    container = pod["spec"]["containers"][0]
    assert container["name"] == TRIAL_CONTAINER
    assert container["args"] == ["--lr", "${trialParameters.lr}", "--optimizer", "${trialParameters.optimizer}"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["automountServiceAccountToken"] is False


def test_the_trial_job_is_a_valid_kubernetes_job(record) -> None:
    import kubernetes_validate

    from .test_manifests import KUBERNETES_VERSION

    job = declare(record).named("hpo-tune-experiment").inputs["spec"]["trialTemplate"]["trialSpec"]
    body = {**job, "metadata": {"name": "trial", "namespace": "team"}}
    kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)


def test_the_best_parameters_reach_the_later_step(record) -> None:
    plan = declare(record)
    reader = plan.named("hpo-tune-best-job")
    train = plan.named("hpo-train-job")
    assert reader.urn in train.dependencies  # train runs once the best values are written
    assert plan.named("hpo-tune-experiment").urn in reader.dependencies
    pod = reader.inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "hpo-tune-reader" and pod["automountServiceAccountToken"] is True
    mounts = {m["mountPath"]: m["subPath"] for m in pod["containers"][0]["volumeMounts"] if "subPath" in m}
    # the reader's files are the claim's <step>/<output>, exactly where consumers read them
    assert mounts == {"/mlplane/best/lr": outputs.output_key("tune", "lr"),
                      "/mlplane/best/optimizer": outputs.output_key("tune", "optimizer")}
    command = train.inputs["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"{outputs.INPUTS_DIR}/{outputs.output_key('tune', 'lr')}" in command[-1]
    role = plan.named("hpo-tune-reader-role").inputs
    assert role["rules"] == [{"apiGroups": ["kubeflow.org"], "resources": ["experiments"],
                              "resourceNames": ["hpo-tune"], "verbs": ["get"]}]


class _Api(http.server.BaseHTTPRequestHandler):
    experiment: dict[str, Any] = {}
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps(self.experiment).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_reader_and_consumer_run_end_to_end(tmp_path: Path) -> None:
    """Run the reader's real script against a fake API server, then the consumer's real command."""
    spec = search_spec().step("tune")
    _Api.experiment = {"status": {
        "conditions": [{"type": "Created", "status": "True"}, {"type": "Succeeded", "status": "True"}],
        "currentOptimalTrial": {"bestTrialName": "hpo-tune-x", "parameterAssignments": [
            {"name": "lr", "value": "0.0123"}, {"name": "optimizer", "value": "adam"}]}}}
    server = http.server.HTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("t0k3n")
    claim = tmp_path / "claim"
    reader = reader_step(spec, "team", "hpo-tune")
    assert reader.image == READER_IMAGE
    # Each output file is a subPath of the claim: map the container paths to the claim's files.
    paths = {m["mountPath"]: claim / m["subPath"] for m in outputs.producer_mounts(reader)}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    args = [a.split("=", 1)[0] + "=" + str(paths[a.split("=", 1)[1]]) if "=" in a else a for a in reader.args]
    env = {"KUBERNETES_API": f"http://127.0.0.1:{server.server_port}", "SERVICEACCOUNT_DIR": str(account),
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", reader.command[2], *args], env=env, capture_output=True, text=True,
                          timeout=60)
    server.shutdown()
    assert done.returncode == 0, done.stderr
    assert _Api.seen == [("/apis/kubeflow.org/v1beta1/namespaces/team/experiments/hpo-tune", "Bearer t0k3n")]
    # The consumer's own command, as the plan declares it, reading the claim at INPUTS_DIR.
    train = search_spec().step("train")
    command = outputs.consumer_command(train)
    script = command[2].replace(outputs.INPUTS_DIR, str(claim)).replace("exec python train.py", "exec echo")
    run = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert run.stdout.split() == ["--lr", "0.0123", "--optimizer", "adam"]


def test_the_reader_refuses_an_unfinished_search() -> None:
    with pytest.raises(ValueError, match="not succeeded"):
        katib_best.best_parameters({"status": {"conditions": [{"type": "Running", "status": "True"}]}})


@needs_upstream
@pytest.mark.parametrize("release", sorted(KATIB_CONFIG))
def test_the_algorithms_are_katib_suggestions_of_the_release(release: str) -> None:
    path = UPSTREAM / KATIB_CONFIG[release]
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    config = yaml.safe_load(next(d for d in documents if d.get("kind") == "ConfigMap")["data"]["katib-config.yaml"]) \
        if any(d.get("kind") == "ConfigMap" for d in documents) else documents[0]
    names = {s["algorithmName"] for s in config["runtime"]["suggestions"]}
    assert set(ALGORITHMS) <= names
    assert "Job.v1.batch" in config["init"]["controller"]["trialResources"]  # trials may be plain Jobs


@pytest.mark.parametrize("change, message", [
    ({"parameters": ()}, "search space is empty"),
    ({"parameters": ({"name": "lr", "type": "double", "min": 0.1, "max": 0.1},)}, "range is empty"),
    ({"parameters": ({"name": "lr", "type": "double", "min": 0.5, "max": 0.1},)}, "range is empty"),
    ({"parameters": ({"name": "lr", "type": "int", "min": 1, "max": 5, "step": 9},)}, "larger than the range"),
    ({"parameters": ({"name": "lr", "type": "categorical", "values": ()},)}, "at least one value"),
    ({"parameters": ({"name": "lr", "type": "categorical", "values": ("a", "a")},)}, "values repeat"),
    ({"parameters": ({"name": "lr", "type": "discrete", "values": ("x",)},)}, "takes numbers"),
    ({"parameters": ({"name": "lr", "type": "double", "min": 0, "max": 1, "values": (1,)},)}, "not values"),
    ({"parameters": ({"name": "lr", "type": "double", "min": 0, "max": 1},
                     {"name": "lr", "type": "double", "min": 0, "max": 1})}, "named twice"),
    ({"parameters": ({"name": "lr", "type": "double", "min": 0, "max": 1},
                     {"name": "momentum", "type": "double", "min": 0, "max": 1})}, "never receives: momentum"),
    ({"algorithm": "grid"}, "grid search needs a step"),
    ({"parallel_trials": 50}, "exceeds max_trials"),
])
def test_empty_or_contradictory_search_spaces_are_refused(change: dict[str, Any], message: str) -> None:
    base = {"name": "tune", "objective": {"type": "minimize", "metric": "loss"},
            "parameters": ({"name": "lr", "type": "double", "min": 0.001, "max": 0.1},),
            "trial": {"image": "t:1", "command": ("python", "t.py"), "args": ("--lr=${trialParameters.lr}",)}}
    with pytest.raises(ValidationError, match=message):
        ExperimentStepSpec.model_validate({**base, **change})


def test_an_undeclared_reference_and_an_unknown_output_are_refused() -> None:
    with pytest.raises(ValidationError, match="undeclared parameters: momentum"):
        ExperimentStepSpec.model_validate({
            "name": "tune", "objective": {"type": "minimize", "metric": "loss"},
            "parameters": ({"name": "lr", "type": "double", "min": 0.001, "max": 0.1},),
            "trial": {"image": "t:1", "command": ("t",), "args": ("${trialParameters.lr}",
                                                                 "${trialParameters.momentum}")}})
    spec = search_spec()
    train = spec.step("train").model_copy(update={"args": ("{{mlplane.output:tune:momentum}}",)})
    with pytest.raises(ValidationError, match="has no output 'momentum'"):
        PipelineSpec(name="hpo", steps=(spec.step("tune"), train))


def test_feasible_space_writes_katib_strings() -> None:
    assert SearchParameter(name="n", type="int", min=2, max=5, step=1).feasible_space() == \
        {"min": "2", "max": "5", "step": "1"}


# --- through the CLI: a stack without Katib, a pipeline outside a profile -------------------


def _stack(tmp_path: Path, katib: bool, namespace: str | None) -> Path:
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config["mlplane:kubeflow"]["components"]["katib"] = {"enabled": katib}
    entry = {"name": "hpo", "source": "search.py:search_pipeline"}
    if namespace:
        entry["namespace"] = namespace
    config["mlplane:pipelines"] = [entry]
    shutil.copy(DATA / "search.py", tmp_path / "search.py")
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_search_renders_on_a_stack_with_katib(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = _stack(tmp_path, katib=True, namespace="kubeflow-user-example-com")
    code = main(["render", "--config-file", str(stack), "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "manifests" / "kubeflow-user-example-com" / "Experiment-hpo-tune.yaml").is_file()


def test_a_search_is_refused_on_a_stack_without_katib(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = _stack(tmp_path, katib=False, namespace="kubeflow-user-example-com")
    code = main(["render", "--config-file", str(stack), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "needs Katib" in err and "mlplane:kubeflow.components.katib" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_a_search_outside_a_profile_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = _stack(tmp_path, katib=True, namespace=None)
    code = main(["render", "--config-file", str(stack), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "profile namespace" in err and "kubeflow-user-example-com" in err
