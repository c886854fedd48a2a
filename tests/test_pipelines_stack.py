"""Pipelines in stacks: the MNIST pipeline natively and through KFP v1, diffs and bad input."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from mlplane.infra.cli import main

from .conftest import ROOT, rendered

JOB = "kubernetes:batch/v1:Job"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
SEED = ROOT / "pipelines" / "seed" / "mnist_pipeline.py"
DATA = Path(__file__).resolve().parent / "data" / "pipelines"


def stack_from(tmp_path: Path, base: str, change: Callable[[dict[str, Any]], None], name: str = "t") -> Path:
    """A copy of a repository stack, changed, in a temporary folder."""
    document = yaml.safe_load((ROOT / f"Pulumi.{base}.yaml").read_text())
    change(document["config"])
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def render(tmp_path: Path, stack: Path, capsys: pytest.CaptureFixture[str], out: str = "out") -> dict[str, Any]:
    code = main(["render", "--config-file", str(stack), "--out", str(tmp_path / out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads((tmp_path / out / "plan.json").read_text())


def render_error(stack: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    assert main(["render", "--config-file", str(stack), "--out", str(tmp_path / "never")]) == 2
    assert not (tmp_path / "never").exists()
    return capsys.readouterr().err


def named(plan: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [r for r in plan["resources"] if r["name"] == name]
    return found


# --- the native MNIST pipeline on the repository's stacks ----------------------------------

@pytest.mark.parametrize("stack", ["dev", "onprem", "gke"])
def test_mnist_is_three_steps_train_serve_web_ui(stack: str) -> None:
    plan = rendered(stack)
    steps = [r for r in plan if r.parent == plan.named("pipeline-mnist").urn]
    assert sorted(s.name for s in steps) == ["pipeline-mnist-serve", "pipeline-mnist-train", "pipeline-mnist-web-ui"]
    train = plan.named("pipeline-mnist-train-job")
    isvc = plan.named("pipeline-mnist-serve-inference-service")
    ui = plan.named("pipeline-mnist-web-ui-deployment")
    assert train.urn in isvc.dependencies
    assert isvc.urn in ui.dependencies
    assert train.urn not in ui.dependencies or isvc.urn in ui.dependencies
    version = train.inputs["metadata"]["labels"]["mlplane.dev/version"]
    assert isvc.inputs["metadata"]["labels"]["mlplane.dev/model-version"] == version


@pytest.mark.parametrize("stack", ["dev", "onprem"])
def test_mnist_exports_to_the_models_volume_on_self_hosted_clusters(stack: str) -> None:
    plan = rendered(stack)
    pod = plan.named("pipeline-mnist-train-job").inputs["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "local-storage", "persistentVolumeClaim": {"claimName": "models"}}]
    assert pod["containers"][0]["volumeMounts"] == [{"mountPath": "/mnt", "name": "local-storage"}]
    args = pod["containers"][0]["args"]
    export = args[args.index("--tf-export-dir") + 1]
    version = plan.named("pipeline-mnist-train-job").inputs["metadata"]["labels"]["mlplane.dev/version"]
    assert export == f"/mnt/export/mnist/{version}"
    model = plan.named("pipeline-mnist-serve-inference-service").inputs["spec"]["predictor"]["model"]
    assert model["storageUri"] == f"pvc://models/export/mnist/{version}"


def test_mnist_exports_to_gcs_with_workload_identity_on_gke() -> None:
    plan = rendered("gke")
    job = plan.named("pipeline-mnist-train-job").inputs
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mlplane-artifacts"
    assert "volumes" not in pod
    args = pod["containers"][0]["args"]
    version = job["metadata"]["labels"]["mlplane.dev/version"]
    assert args[args.index("--tf-export-dir") + 1] == f"gs://acme-ml-platform-artifacts/mnist/export/{version}"
    account = [r for r in plan if r.type == "kubernetes:core/v1:ServiceAccount"
               and r.inputs["metadata"]["name"] == "mlplane-artifacts"]
    assert account and "iam.gke.io/gcp-service-account" in account[0].inputs["metadata"]["annotations"]


def test_train_steps_change_retrains_and_rolls_the_server_only(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    def more_steps(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"][0]["params"]["train_steps"] = "400"

    # The same stack name before and after, so URNs match as they would for one stack.
    old = render(tmp_path, stack_from(tmp_path / "before", "dev", lambda c: None, "dev"), capsys, "old")
    new = render(tmp_path, stack_from(tmp_path / "after", "dev", more_steps, "dev"), capsys, "new")
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    ops = {c["urn"].rsplit("::", 1)[1]: c["op"] for c in result["changes"]}
    assert ops["pipeline-mnist-train-job"] == "replace"
    assert ops["pipeline-mnist-serve-inference-service"] == "update"
    assert not [name for name in ops if name.startswith("pipeline-mnist-web-ui")]
    assert not any(c["danger"] for c in result["changes"])
    assert set(ops) == {"pipeline-mnist-train-job", "pipeline-mnist-serve-inference-service"}


def test_unchanged_pipeline_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = render(tmp_path, ROOT / "Pulumi.dev.yaml", capsys, "a")
    second = render(tmp_path, ROOT / "Pulumi.dev.yaml", capsys, "b")
    assert first == second


# --- the seed, unchanged, through the KFP v1 layer -------------------------------------------

def kfp_stack(tmp_path: Path, source: Path, **entry: Any) -> Path:
    shutil.copy(source, tmp_path / source.name)

    def add(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [{"name": "mnist-v1", "kind": "kfp-v1",
                                        "source": f"{source.name}:mnist_pipeline", **entry}]

    return stack_from(tmp_path, "dev", add)


def test_seed_as_it_stands_gcp_branch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = render(tmp_path, kfp_stack(tmp_path, SEED, allow_unpinned_images=True, runner_permissions=True), capsys)
    # The pipeline's Jobs (the platform's credential migration Job is not a step).
    jobs = {r["name"]: r for r in plan["resources"] if r["type"] == JOB and r["name"].startswith("pipeline-")}
    assert set(jobs) == {"pipeline-mnist-v1-train-job", "pipeline-mnist-v1-serve-job", "pipeline-mnist-v1-web-ui-job"}
    assert jobs["pipeline-mnist-v1-train-job"]["urn"] in jobs["pipeline-mnist-v1-serve-job"]["dependencies"]
    assert jobs["pipeline-mnist-v1-serve-job"]["urn"] in jobs["pipeline-mnist-v1-web-ui-job"]["dependencies"]
    pod = jobs["pipeline-mnist-v1-train-job"]["inputs"]["spec"]["template"]["spec"]
    assert {"name": "gcp-credentials-user-gcp-sa", "secret": {"secretName": "user-gcp-sa"}} in pod["volumes"]
    assert pod["serviceAccountName"] == "mnist-v1-runner"
    role = named(plan, "mnist-v1-runner-role")
    assert role["inputs"]["metadata"]["namespace"] == "mlplane"


def test_seed_onprem_branch_mounts_the_pvc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "src" / "mnist_pipeline.py"
    copy.parent.mkdir()
    copy.write_text(SEED.read_text().replace("platform = 'GCP'", "platform = 'onprem'"))
    plan = render(tmp_path, kfp_stack(tmp_path, copy, allow_unpinned_images=True,
                                      params={"pvc_name": "models", "model_export_dir": "/mnt/export"}), capsys)
    serve = named(plan, "pipeline-mnist-v1-serve-job")["inputs"]["spec"]["template"]["spec"]
    assert {"name": "local-storage", "persistentVolumeClaim": {"claimName": "models"}} in serve["volumes"]
    assert serve["containers"][0]["args"][-2:] == ["--pvc-name", "models"]


def test_seed_latest_image_must_be_pinned_or_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = render_error(kfp_stack(tmp_path, SEED), capsys, tmp_path)
    assert "pipeline 'mnist-v1', step 'web-ui': image 'gcr.io/kubeflow-examples/mnist/deploy-service:latest' " \
           "uses the mutable tag 'latest'" in message
    assert "image_overrides" in message
    pinned = kfp_stack(tmp_path, SEED, image_overrides={
        "gcr.io/kubeflow-examples/mnist/deploy-service:latest": "registry.example/mnist/deploy-service:1.0.0"})
    plan = render(tmp_path, pinned, capsys)
    container = named(plan, "pipeline-mnist-v1-web-ui-job")["inputs"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/mnist/deploy-service:1.0.0"


def test_outputs_flow_between_steps_in_a_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(DATA / "kfp_v1_outputs.py", tmp_path / "surface.py")

    def add(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [{"name": "surface", "kind": "kfp-v1", "source": "surface.py:surface"}]
        # Its VolumeOp names the class `standard`: a VolumeOp obeys the stack's storage rules.
        config["mlplane:storage"]["classes"].append({"name": "standard", "kind": "local-path"})
        config["mlplane:accelerators"] = {"pools": [{"name": "mi300", "vendor": "amd", "model": "mi300x",
                                                     "accelerators_per_node": 8, "nodes": {"names": ["gpu-1"]}}]}

    plan = render(tmp_path, stack_from(tmp_path, "onprem", add), capsys)
    train = named(plan, "pipeline-surface-train-job")["inputs"]["spec"]["template"]["spec"]
    script = train["containers"][0]["command"][-1]
    assert '"$(cat /mlplane/outputs/prep/dataset)"' in script
    assert train["containers"][0]["resources"]["limits"]["amd.com/gpu"] == "2"
    prep = named(plan, "pipeline-surface-prep-job")
    assert prep["urn"] in named(plan, "pipeline-surface-train-job")["dependencies"]


# --- bad input: exit 2, nothing written ------------------------------------------------------

def pipelines_stack(tmp_path: Path, *entries: dict[str, Any]) -> Path:
    def add(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = list(entries)

    return stack_from(tmp_path, "dev", add)


@pytest.mark.parametrize(("entry", "expected"), [
    ({"name": "x", "source": "nowhere.py:f"}, "mlplane:pipelines[0].source: pipeline 'x': no such file 'nowhere.py'"),
    ({"name": "x", "source": "../../etc/passwd.py:f"}, "is outside the stack file's folder"),
    ({"name": "x", "source": "no.such.module:f"}, "cannot find module 'no.such.module'"),
    ({"name": "x", "source": "mlplane.pipelines.mnist:nope"}, "the module defines no function 'nope'"),
    ({"name": "x", "source": "mlplane.pipelines.mnist:MOUNT"}, "'MOUNT' is not a pipeline"),
    ({"name": "x", "source": "mlplane.pipelines.mnist:mnist_pipeline", "params": {"train_step": "1"}},
     "the pipeline takes no parameter 'train_step'"),
    ({"name": "x", "source": "not a source"}, "must be `module:function` or `path/to/file.py:function`"),
    # Importing runs code: only the project's modules and mlplane's own pipelines may be named.
    ({"name": "x", "source": "antigravity:f"}, "module 'antigravity' is not part of this project"),
    ({"name": "x", "source": "yaml.constructor:f"}, "module 'yaml.constructor' is not part of this project"),
    ({"name": "x", "source": "os.path:join"}, "module 'os.path' is not part of this project (it is a built-in"),
])
def test_bad_sources_and_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: dict[str, Any],
                                    expected: str) -> None:
    message = render_error(pipelines_stack(tmp_path, entry), capsys, tmp_path)
    assert expected in message
    assert "Traceback" not in message
    assert "antigravity" not in sys.modules  # refused before anything of it ran


@pytest.mark.parametrize(("function", "expected"), [
    ("cycle", "steps depend on each other in a cycle: a -> b -> a"),
    ("undeclared", "cycle.py:25: pipeline x: step 'a' has no output 'y' (outputs: x)"),
])
def test_inconsistent_kfp_pipelines(tmp_path: Path, capsys: pytest.CaptureFixture[str], function: str,
                                    expected: str) -> None:
    shutil.copy(DATA / "kfp_v1_cycle.py", tmp_path / "cycle.py")
    message = render_error(pipelines_stack(tmp_path, {"name": "x", "kind": "kfp-v1", "source": f"cycle.py:{function}"}),
                           capsys, tmp_path)
    assert "pipeline 'x' cannot be built" in message, message
    assert expected in message


def test_refused_construct_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(DATA / "kfp_v1_recursive.py", tmp_path / "refused.py")
    message = render_error(pipelines_stack(tmp_path, {"name": "x", "kind": "kfp-v1", "source": "refused.py:recursive"}),
                           capsys, tmp_path)
    assert "refused.py:12: pipeline x: dsl.graph_component its arguments must be step outputs" in message


def test_accelerators_no_pool_has(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(DATA / "kfp_v1_outputs.py", tmp_path / "surface.py")
    message = render_error(pipelines_stack(tmp_path, {"name": "surface", "kind": "kfp-v1",
                                                      "source": "surface.py:surface"}), capsys, tmp_path)
    assert "pipeline 'surface', step 'train':" in message
    assert "{vendor: amd, count: 2} cannot be placed on stack 't', which has no accelerator pools" in message


def test_two_pipelines_with_the_same_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = {"name": "mnist", "source": "mlplane.pipelines.mnist:mnist_pipeline"}
    assert "two pipelines are named 'mnist'" in render_error(pipelines_stack(tmp_path, entry, entry), capsys, tmp_path)


def test_distributed_training_needs_the_training_operator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "dist.py"
    source.write_text(
        "from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec\n"
        "from mlplane.pipelines.native import pipeline\n\n"
        "@pipeline\n"
        "def dist(ctx, workers='4'):\n"
        "    return PipelineSpec(name=ctx.pipeline, steps=(ContainerStepSpec(\n"
        "        name='train', image='trainer:1.0', command=('python', 't.py'), workers=int(workers)),))\n")
    message = render_error(pipelines_stack(tmp_path, {"name": "dist", "source": "dist.py:dist"}), capsys, tmp_path)
    assert "4 workers need Kubeflow's training operator (1.8.1) or Trainer (26.03)" in message

    def with_training(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [{"name": "dist", "source": "dist.py:dist"}]
        config["mlplane:kubeflow"]["components"]["training"] = {"enabled": True}

    plan = render(tmp_path, stack_from(tmp_path, "dev", with_training), capsys)
    kinds = {r["inputs"].get("kind") for r in plan["resources"] if r["name"].startswith("pipeline-dist")}
    assert {"TrainJob", "TrainingRuntime"} <= kinds


def test_kfp_components_and_resource_ops_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Lightweight and spec components, a ResourceOp and a sidecar render into one plan."""
    for name in ("light_files.py", "spec_components.py", "add.component.yaml", "resources_and_sidecars.py"):
        shutil.copy(DATA / "oracle" / name, tmp_path / name)
    stack = pipelines_stack(
        tmp_path,
        {"name": "files", "kind": "kfp-v1", "source": "light_files.py:pipeline"},
        {"name": "specs", "kind": "kfp-v1", "source": "spec_components.py:pipeline"},
        {"name": "objects", "kind": "kfp-v1", "source": "resources_and_sidecars.py:pipeline"},
    )
    plan = render(tmp_path, stack, capsys)
    jobs = {r["name"]: r for r in plan["resources"] if r["type"] == "kubernetes:batch/v1:Job"}
    assert {"pipeline-files-count-lines-job", "pipeline-specs-train-model-2-job", "pipeline-objects-write-job"} <= set(jobs)
    counted = jobs["pipeline-files-count-lines-job"]["inputs"]["spec"]["template"]["spec"]
    main_container = counted["containers"][0]
    assert main_container["command"][-1].endswith(  # split's head by value, write-csv's table as a file
        '--table /tmp/inputs/table/data --header "$(cat /mlplane/outputs/split/head)" --report /tmp/outputs/report/data')
    assert {"name": "mlplane-outputs", "mountPath": "/tmp/inputs/table/data", "subPath": "write-csv/table",
            "readOnly": True} in main_container["volumeMounts"]
    tfjob = named(plan, "pipeline-objects-tfjob-object")
    assert tfjob["type"] == "kubernetes:kubeflow.org/v1:TFJob"
    assert tfjob["inputs"]["metadata"]["annotations"]["pulumi.com/waitFor"] == "jsonpath={.status.phase}=Succeeded"
    assert tfjob["urn"] in jobs["pipeline-objects-write-job"]["dependencies"]  # .after(job): waits for its readiness


def _flow_stack(tmp_path: Path, change: Callable[[dict[str, Any]], None] | None = None,
                namespace: str | None = "kubeflow-user-example-com") -> Path:
    shutil.copy(DATA / "oracle" / "flow_loops.py", tmp_path / "flow.py")
    entry = {"name": "flow", "kind": "kfp-v1", "source": "flow.py:pipeline"}
    if namespace:
        entry["namespace"] = namespace

    def add(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [entry]
        if change:
            change(config)

    return stack_from(tmp_path, "dev", add)


def test_run_time_flow_renders_one_awaited_workflow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = render(tmp_path, _flow_stack(tmp_path), capsys)
    [workflow] = [r for r in plan["resources"] if r["type"] == "kubernetes:argoproj.io/v1alpha1:Workflow"]
    metadata = workflow["inputs"]["metadata"]
    assert metadata["namespace"] == "kubeflow-user-example-com"
    assert metadata["name"] == f"flow-{metadata['labels']['mlplane.dev/version']}"  # one name per version
    assert workflow["inputs"]["metadata"]["annotations"]["pulumi.com/waitFor"] == "jsonpath={.status.phase}=Succeeded"
    assert workflow["inputs"]["spec"]["serviceAccountName"] == "default-editor"
    assert workflow["replaceOnChanges"] == ["*"] and workflow["deleteBeforeReplace"] is True
    assert not [r for r in plan["resources"] if r["type"] == "kubernetes:batch/v1:Job" and "flow" in r["name"]]


def test_run_time_flow_needs_kubeflow_pipelines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def without_pipelines(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["components"]["pipelines"] = {"enabled": False}

    message = render_error(_flow_stack(tmp_path, without_pipelines), capsys, tmp_path)
    assert "pipeline 'flow' needs Kubeflow Pipelines: its flow is decided at run time (dsl.ParallelFor" in message


def test_run_time_flow_runs_in_a_profile_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = render_error(_flow_stack(tmp_path, namespace="mlplane"), capsys, tmp_path)
    assert "only Kubeflow profile namespaces have; 'mlplane' is not a profile" in message


# --- run-time flow: what a workflow's templates get from the stack ---------------------------

WORKFLOW = "kubernetes:argoproj.io/v1alpha1:Workflow"


def _oracle_flow_stack(tmp_path: Path, stem: str, base: str, release: str | None = None) -> Path:
    """A repository stack with one of the oracle's run-time pipelines, in its first profile."""
    shutil.copy(DATA / "oracle" / f"{stem}.py", tmp_path / f"{stem}.py")

    def add(config: dict[str, Any]) -> None:
        profile = config["mlplane:kubeflow"]["profiles"][0]["name"]
        config["mlplane:pipelines"] = [{"name": "flow", "kind": "kfp-v1", "source": f"{stem}.py:pipeline",
                                        "namespace": profile}]
        if release:
            config["mlplane:kubeflow"]["release"] = release

    return stack_from(tmp_path, base, add)


def _templates(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [workflow] = [r for r in plan["resources"] if r["type"] == WORKFLOW]
    return {t["name"]: t for t in workflow["inputs"]["spec"]["templates"]}


def _valid(tmp_path: Path, plan: dict[str, Any], out: str = "out") -> None:
    """The Workflow manifest against Argo's CRD, the pod of each container and resource template
    (Argo's executor containers as its podSpecPatch leaves them) against Kubernetes' schema,
    and the whole plan against the policy pack."""
    import jsonschema
    import kubernetes_validate

    from mlplane.policy.offline import plan_violations
    from tests.argo_pods import argo_pod, executor_containers
    from tests.crds import strict_schema

    [path] = (tmp_path / out / "manifests").glob("*/Workflow-*.yaml")
    workflow = yaml.safe_load(path.read_text())
    jsonschema.validate(workflow, strict_schema("argoproj.io/v1alpha1", "Workflow"))
    for template in workflow["spec"]["templates"]:
        if "container" in template or "resource" in template:
            kubernetes_validate.validate(argo_pod(template), "1.30.0", strict=True)
            executor = executor_containers(template)
            assert executor["containers"] and executor["initContainers"], template["name"]
            for container in executor["containers"] + executor["initContainers"]:
                assert container["securityContext"]["allowPrivilegeEscalation"] is False
                assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    violations = plan_violations(plan)
    assert violations == [], "\n".join(f"{v.policy}: {v.message}" for v in violations)


@pytest.mark.parametrize(("base", "release"), [("onprem", None), ("gke", None), ("onprem", "1.8.1")])
def test_a_gpu_step_inside_a_condition_is_placed(base: str, release: str | None, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from mlplane.components.scheduling import AcceleratorRequest, place, pools_for
    from mlplane.infra.load import load_stack_file

    stack = _oracle_flow_stack(tmp_path, "flow_gpu", base, release)
    expected = place(AcceleratorRequest(vendor="nvidia", count=1), pools_for(load_stack_file(stack)), stack="t")
    plan = render(tmp_path, stack, capsys)
    train = _templates(plan)["train"]
    # The pool's resource (request = limit), its node selector and tolerations, as a native step's pod.
    assert train["container"]["resources"] == {
        "requests": {"cpu": "100m", "memory": "8Gi", expected.resource_name: "1"},
        "limits": {"cpu": "1", "memory": "8Gi", expected.resource_name: "1"}}
    assert train["nodeSelector"] == expected.node_selector and train["nodeSelector"]
    assert train["tolerations"] == list(expected.tolerations)
    assert train["securityContext"]["runAsNonRoot"] is True
    assert train["container"]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    [sidecar] = train["sidecars"]
    assert sidecar["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                                    "limits": {"cpu": "1", "memory": "512Mi"}}
    assert sidecar["securityContext"]["allowPrivilegeEscalation"] is False
    assert train["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    # The CPU step of the same Workflow: defaults, no placement.
    decide = _templates(plan)["should-train"]
    assert "nodeSelector" not in decide and "tolerations" not in decide
    assert decide["container"]["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    _valid(tmp_path, plan)


@pytest.mark.parametrize(("release", "containers"), [(None, ["wait", "main"]), ("1.8.1", ["main"])])
def test_a_claim_and_an_object_inside_a_condition_get_a_restricted_sized_pod(
        release: str | None, containers: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A VolumeOp and a ResourceOp inside a Condition are Argo resource templates, whose pod is all
    Argo's executor: they get the restricted pod context, Istio's opt-out, and a podSpecPatch
    sizing and restricting exactly the containers that train's Argo puts in it (26.03's v3.7.3
    adds a log-archiving ``wait``, 1.8.1's v3.3.10 none)."""
    plan = render(tmp_path, _oracle_flow_stack(tmp_path, "flow_claim_condition", "onprem", release), capsys)
    templates = _templates(plan)
    for name in ("scratch", "note"):
        template = templates[name]
        assert "resource" in template and "container" not in template
        assert template["securityContext"] == {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000,
                                               "fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
        assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
        patch = json.loads(template["podSpecPatch"])
        assert [c["name"] for c in patch["initContainers"]] == ["init"]
        assert [c["name"] for c in patch["containers"]] == containers
        for container in patch["containers"] + patch["initContainers"]:
            assert container["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                                              "limits": {"cpu": "1", "memory": "512Mi"}}
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # The container template beside them keeps its own patch (init and wait on both trains).
    assert [c["name"] for c in json.loads(templates["use"]["podSpecPatch"])["containers"]] == ["wait"]
    _valid(tmp_path, plan)


def test_a_gpu_step_inside_a_condition_is_refused_on_a_cpu_stack(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    stack = _oracle_flow_stack(tmp_path, "flow_gpu", "dev")
    message = render_error(stack, capsys, tmp_path)
    line = stack.read_text().splitlines().index("  - name: flow") + 1  # the entry, as for a container step
    assert (f"{stack.name}:{line}: mlplane:pipelines[0]: pipeline 'flow', step 'train': accelerator request "
            "{vendor: nvidia, count: 1} cannot be placed on stack 't', which has no accelerator pools (CPU only)"
            in message), message
    assert "Traceback" not in message


def test_a_memory_limit_alone_inside_a_loop_is_the_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = render(tmp_path, _oracle_flow_stack(tmp_path, "flow_sized", "dev"), capsys)
    templates = _templates(plan)
    assert templates["work"]["container"]["resources"] == {"requests": {"cpu": "100m", "memory": "2Gi"},
                                                           "limits": {"cpu": "1", "memory": "2Gi"}}
    # A request above the default limit raises the limit to it, as for a container step.
    assert templates["heavy"]["container"]["resources"] == {"requests": {"cpu": "2", "memory": "128Mi"},
                                                            "limits": {"cpu": "2", "memory": "512Mi"}}
    assert "withParam" in json.dumps(templates["flow"])  # the loop over shards' output
    _valid(tmp_path, plan)


def test_a_workflows_unpinned_images_are_refused_or_marked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sidecar's image inside a Condition is judged like a Job step's: refused, or allowed and marked."""
    source = (DATA / "oracle" / "flow_gpu.py").read_text().replace("busybox:1.36.1", "busybox")
    (tmp_path / "unpinned.py").write_text(source.replace("train.set_gpu_limit(1)", "pass"))

    def add(allow: bool) -> Callable[[dict[str, Any]], None]:
        def change(config: dict[str, Any]) -> None:
            config["mlplane:pipelines"] = [{"name": "flow", "kind": "kfp-v1", "source": "unpinned.py:pipeline",
                                            "namespace": "kubeflow-user-example-com", "allow_unpinned_images": allow}]
        return change

    message = render_error(stack_from(tmp_path, "dev", add(False)), capsys, tmp_path)
    assert "pipeline 'flow', step 'train': image 'busybox' has no tag" in message, message
    plan = render(tmp_path, stack_from(tmp_path, "dev", add(True)), capsys)
    [workflow] = [r for r in plan["resources"] if r["type"] == WORKFLOW]
    assert workflow["inputs"]["metadata"]["annotations"]["mlplane.dev/allow-unpinned-images"] == "true"
    _valid(tmp_path, plan)
