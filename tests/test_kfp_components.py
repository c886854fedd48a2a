"""KFP v1 components in mlplane: bad input, placeholders, source handling, step wiring."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplane.components.pipeline import outputs
from mlplane.components.pipeline.container_step import ContainerStepArgs, main_container, pod_metadata, pod_spec
from mlplane.core.errors import InputError
from mlplane.pipelines.kfp_v1 import load_kfp_v1_pipeline
from mlplane.pipelines.kfp_v1.lightweight import strip_type_hints

DATA = Path(__file__).resolve().parent / "data" / "pipelines"
BAD = DATA / "kfp_v1_bad_components.py"
ORACLE = DATA / "oracle"


def load(path: Path, function: str, name: str = "p"):
    return load_kfp_v1_pipeline(path, function, {}, name=name, display=path.name)


def error(function: str) -> str:
    with pytest.raises(InputError) as caught:
        load(BAD, function)
    return str(caught.value)


@pytest.mark.parametrize(("function", "line", "expected"), [
    ("unknown_input", 19, "component 'Echo' has no input 'colour' (inputs: text)"),
    ("missing_input", 24, "component 'Echo' needs a value for its input 'text'"),
    ("undeclared_output", 30, "step 'echo' has no output 'result' (outputs: out)"),
    ("not_a_spec", 35, "components.load_component the component text is not a component spec: it has no "
                       "implementation.container"),
    ("no_source", 42, "the source of 'made_up' cannot be read"),
    ("root", 53, "set_security_context running as root is refused"),
    ("own_label", 58, "add_pod_label 'mlplane.dev/step' is one of mlplane's own keys"),
])
def test_bad_input_names_pipeline_step_file_and_line(function: str, line: int, expected: str) -> None:
    message = error(function)
    assert message.startswith(f"{BAD.name}:{line}: pipeline p: "), message
    assert expected in message, message


def test_a_component_file_that_is_not_a_spec_is_named(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("name: x\ninputs: nope\n")
    (tmp_path / "p.py").write_text("from kfp import components, dsl\n\n\n@dsl.pipeline(name='p')\ndef p():\n"
                                   "    components.load_component_from_file('c.yaml')\n")
    with pytest.raises(InputError) as caught:
        load(tmp_path / "p.py", "p")
    assert str(caught.value).startswith("p.py:6: pipeline p: components.load_component ")
    assert "inputs must be a list" in str(caught.value) or "c.yaml" in str(caught.value)


def test_run_placeholders_are_substituted_never_left() -> None:
    spec = load(BAD, "run_id")
    step = spec.steps[0]
    text = " ".join(step.command)
    assert "{{" not in spec.model_dump_json()
    uid = text.split("run ", 1)[1].split(" ", 1)[0]
    assert len(uid) == 12 and f"in {uid}-p-echo" in text


def test_user_files_do_not_inherit_mlplanes_future_flags() -> None:
    # With `from __future__ import annotations` inherited, OutputPath(str) would be the
    # string "OutputPath(str)" and the output would turn into an input.
    spec = load(DATA / "kfp_v1_future.py", "future")
    assert spec.steps[0].file_outputs == {"out": "/tmp/outputs/out/data"}
    assert spec.steps[0].args == ("--out", "/tmp/outputs/out/data")


def test_type_hints_are_stripped_as_kfp_strips_them() -> None:
    source = ("def f(a: int, b: 'List[str]' = None, *args: str, c: float = 1.0, **kw: dict) -> NamedTuple(\n"
              "        'O', [('x', int)]):\n    y: int = 3\n    return (a,)\n")
    assert strip_type_hints(source) == ("def f(a, b = None, *args, c = 1.0, **kw):\n    y: int = 3\n"
                                        "    return (a,)\n")


def _args(step) -> ContainerStepArgs:
    return ContainerStepArgs(pipeline="p", namespace="ns", spec=step, version="v1", outputs_claim="p-outputs")


def test_input_files_reach_the_step_read_only() -> None:
    spec = load(ORACLE / "light_files.py", "pipeline")
    counted = spec.step("count-lines")
    mounts = main_container(_args(counted))["volumeMounts"]
    assert {"name": outputs.VOLUME_NAME, "mountPath": "/tmp/inputs/table/data",
            "subPath": "write-csv/table", "readOnly": True} in mounts
    shown = spec.step("show-2")  # called with constants: written by an init container
    pod = pod_spec(_args(shown))
    init = next(c for c in pod["initContainers"] if c["name"] == "prepare-inputs")
    assert {"name": "INPUT_0", "value": "extra data"} in init["env"]
    assert {"name": outputs.INPUT_VOLUME_NAME, "emptyDir": {"sizeLimit": "16Mi"}} in pod["volumes"]
    assert {"name": outputs.INPUT_VOLUME_NAME, "mountPath": "/tmp/inputs/extra/data", "subPath": "input-0",
            "readOnly": True} in main_container(_args(shown))["volumeMounts"]
    assert spec.upstream(counted) == ["split", "write-csv"]


def test_pod_metadata_pull_policy_and_working_dir() -> None:
    spec = load(ORACLE / "modifiers.py", "pipeline")
    first, second = spec.step("echo"), spec.step("echo-2")
    metadata = pod_metadata(_args(first), {"mlplane.dev/step": "echo"})
    assert metadata["labels"] == {"example.com/cost-center": "research", "mlplane.dev/step": "echo"}
    assert metadata["annotations"] == {"example.com/owner": "ml-team",
                                       "pipelines.kubeflow.org/task_display_name": "First echo"}
    container = main_container(_args(second))
    assert (container["workingDir"], container["imagePullPolicy"]) == ("/work", "IfNotPresent")
    assert [s.name for s in spec.steps] == ["echo", "echo-2", "same-name", "same-name-2"]


PINNED = ("https://raw.githubusercontent.com/kubeflow/pipelines/0123456789abcdef0123456789abcdef01234567/"
          "components/echo/component.yaml")


def _url_pipeline(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "url.py"
    path.write_text(f"from kfp import components, dsl\n\n\n@dsl.pipeline(name='u')\ndef u():\n"
                    f"    op = components.load_component_from_url({url!r})\n    op(text='hi')\n")
    return path


def test_url_components_are_read_from_the_vendored_copy_only(tmp_path: Path) -> None:
    copy = tmp_path / "echo.yaml"
    copy.write_text("name: Echo\ninputs: [{name: text}]\nimplementation:\n  container:\n    image: busybox:1.36.1\n"
                    "    command: [echo, {inputValue: text}]\n")
    path = _url_pipeline(tmp_path, PINNED)
    spec = load_kfp_v1_pipeline(path, "u", {}, name="u", display="url.py", component_copies={PINNED: copy})
    assert spec.steps[0].command == ("echo", "hi")
    with pytest.raises(InputError) as caught:
        load(path, "u")
    assert "url.py:6: pipeline p: components.load_component_from_url mlplane fetches nothing" in str(caught.value)
    assert "component_copies" in str(caught.value)
    with pytest.raises(InputError) as caught:
        load(_url_pipeline(tmp_path, "https://example.com/main/component.yaml"), "u")
    assert "is not pinned to a commit or digest" in str(caught.value)


def test_stack_entries_accept_copies_only_for_pinned_urls() -> None:
    from pydantic import ValidationError

    from mlplane.infra.config.pipelines import PipelineEntry

    entry = PipelineEntry(name="u", source="u.py:u", kind="kfp-v1", component_copies={PINNED: "vendor/echo.yaml"})
    assert entry.component_copies == {PINNED: "vendor/echo.yaml"}
    with pytest.raises(ValidationError, match="is not pinned"):
        PipelineEntry(name="u", source="u.py:u", kind="kfp-v1",
                      component_copies={"https://example.com/main/c.yaml": "c.yaml"})


def test_resource_ops_become_awaited_objects_and_sidecars_native_sidecars() -> None:
    from mlplane.components.pipeline.resource_step import ResourceStepArgs, object_manifest, type_token

    spec = load(ORACLE / "resources_and_sidecars.py", "pipeline", name="rs")
    job = spec.step("tfjob")
    manifest = object_manifest(ResourceStepArgs(namespace="team", spec=job, labels={"mlplane.dev/step": "tfjob"}))
    assert manifest["metadata"]["namespace"] == "team"
    assert manifest["metadata"]["annotations"] == {"pulumi.com/waitFor": "jsonpath={.status.phase}=Succeeded",
                                                   "mlplane.dev/failure-condition": "status.phase == Failed"}
    assert type_token("kubeflow.org/v1", "TFJob") == "kubernetes:kubeflow.org/v1:TFJob"
    assert type_token("v1", "ConfigMap") == "kubernetes:core/v1:ConfigMap"
    snapshot = spec.step("snap")
    assert snapshot.manifest["spec"]["source"] == {"kind": "PersistentVolumeClaim", "name": "rs-data"}
    assert snapshot.wait_for == "jsonpath={.status.readyToUse}=true"
    assert sorted(spec.upstream(spec.step("read"))) == ["data", "snap", "write"]  # writer.pvolume waits for the writer
    pod = pod_spec(_args(spec.step("write")))
    [sidecar] = [c for c in pod["initContainers"] if c["name"] == "echo-server"]
    assert sidecar["restartPolicy"] == "Always" and sidecar["args"] == ["-text=hi"]
    assert {"name": "data", "mountPath": "/data"} in sidecar["volumeMounts"]
    assert sidecar["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize(("source", "expected"), [
    ("dsl.ResourceOp(name='r', k8s_resource={'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'c'}}, "
     "action='delete')", "dsl.ResourceOp(action='delete') is refused: the plan owns the objects it declares"),
    ("dsl.ResourceOp(name='r', k8s_resource={'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'c'}}, "
     "success_condition='status.phase in (Running, Succeeded)')", "cannot be a readiness wait"),
    ("dsl.get_pipeline_conf().set_ttl_seconds_after_finished(60)", "forgotten by the next `pulumi refresh`"),
])
def test_refused_resource_and_conf_constructs(tmp_path: Path, source: str, expected: str) -> None:
    path = tmp_path / "r.py"
    path.write_text(f"from kfp import dsl\n\n\n@dsl.pipeline(name='r')\ndef r():\n    {source}\n")
    with pytest.raises(InputError) as caught:
        load(path, "r")
    assert str(caught.value).startswith("r.py:6: pipeline p: ") and expected in str(caught.value)


def test_parallelism_sends_the_pipeline_to_the_workflow_engine(tmp_path: Path) -> None:
    workflow = load(ORACLE / "flow_exit.py", "pipeline", name="flow-exit").steps[0].workflow
    assert workflow["spec"]["parallelism"] == 2
    # A plan of steps has no limit on the run's pods: the Workflow keeps it.
    path = tmp_path / "native.py"
    path.write_text("from kfp import dsl\n\n\n@dsl.pipeline(name='n')\ndef n():\n"
                    "    dsl.ContainerOp(name='a', image='busybox:1.36.1', command=['true'])\n"
                    "    dsl.get_pipeline_conf().set_parallelism(2)\n")
    [step] = load(path, "n").steps
    assert step.kind == "workflow" and step.reasons == ("PipelineConf.set_parallelism",)
    assert step.workflow["spec"]["parallelism"] == 2
    path.write_text(path.read_text().replace("(2)", "(0)"))
    with pytest.raises(InputError) as caught:
        load(path, "n")
    assert str(caught.value).startswith("native.py:7: pipeline p: PipelineConf.set_parallelism needs at least 1")


def test_workflow_steps_run_with_the_restricted_pod_defaults() -> None:
    from mlplane.components.pipeline.workflow_step import WorkflowStepArgs, workflow_manifest
    from mlplane.components.pod_security import restricted_container_security_context, restricted_pod_security_context

    # Added where the Workflow is declared (the compiled spec stays as KFP compiles it).
    [step] = load(ORACLE / "flow_loops.py", "pipeline", name="flow-loops").steps
    assert not [t for t in step.workflow["spec"]["templates"] if "securityContext" in t]
    workflow = workflow_manifest(WorkflowStepArgs(namespace="team", spec=step, version="v1"))
    containers = [t for t in workflow["spec"]["templates"] if "container" in t]
    assert containers
    for template in containers:
        assert template["securityContext"] == restricted_pod_security_context()
        assert template["container"]["securityContext"] == restricted_container_security_context()


def test_outputs_where_the_plan_needs_a_value(tmp_path: Path) -> None:
    head = ("from kfp import dsl\n\n\n@dsl.pipeline(name='n')\ndef n():\n"
            "    a = dsl.ContainerOp(name='a', image='busybox:1.36.1', command=['true'], file_outputs={'x': '/tmp/x'})\n"
            "    b = dsl.ContainerOp(name='b', image='busybox:1.36.1', command=['env'])\n")
    path = tmp_path / "env.py"
    path.write_text(head + "    b.container.add_env_variable({'name': 'X', 'value': a.output})\n")
    [step] = load(path, "n", name="n").steps  # an env var is passed at run time: the workflow engine
    assert step.reasons == ("an output in step 'b', env X",)
    [b] = [t for t in step.workflow["spec"]["templates"] if t["name"] == "b"]
    assert b["container"]["env"] == [{"name": "X", "value": "{{inputs.parameters.a-x}}"}]
    path = tmp_path / "node.py"
    path.write_text(head + "    b.add_node_selector_constraint('zone', a.output)\n")
    with pytest.raises(InputError) as caught:
        load(path, "n")
    assert "step 'b' uses another step's output where the plan needs a value it knows" in str(caught.value)


def test_argo_fills_in_run_placeholders_on_the_workflow_engine(tmp_path: Path) -> None:
    path = tmp_path / "run.py"
    path.write_text("from kfp import dsl\n\n\n@dsl.pipeline(name='r')\ndef r():\n"
                    "    a = dsl.ContainerOp(name='a', image='busybox:1.36.1', command=['echo'], file_outputs={'x': '/x'})\n"
                    "    with dsl.Condition(a.output == 'y'):\n"
                    "        dsl.ContainerOp(name='b', image='busybox:1.36.1', command=['echo', dsl.RUN_ID_PLACEHOLDER])\n")
    [step] = load(path, "r", name="r").steps
    [b] = [t for t in step.workflow["spec"]["templates"] if t["name"] == "b"]
    assert b["container"]["command"] == ["echo", "{{workflow.uid}}"]


def test_an_output_leaving_its_group_is_refused_not_miscompiled(tmp_path: Path) -> None:
    path = tmp_path / "leave.py"
    path.write_text("from kfp import dsl\n\n\n@dsl.pipeline(name='l')\ndef l():\n"
                    "    a = dsl.ContainerOp(name='a', image='busybox:1.36.1', command=['echo'], file_outputs={'x': '/x'})\n"
                    "    with dsl.Condition(a.output == 'y'):\n"
                    "        b = dsl.ContainerOp(name='b', image='busybox:1.36.1', command=['echo'], "
                    "file_outputs={'z': '/z'})\n"
                    "    dsl.ContainerOp(name='c', image='busybox:1.36.1', command=['echo', b.output])\n")
    with pytest.raises(InputError) as caught:
        load(path, "l")
    assert "step 'b': its output 'z' is used outside the condition or loop it is in" in str(caught.value)


@pytest.mark.parametrize(("verbose", "flag"), [("true", "--verbose"), ("False", "--quiet")])
def test_a_component_if_on_an_input_value(tmp_path: Path, verbose: str, flag: str) -> None:
    """KFP 1.8.22 fails on this (its own v2 placeholder reaches strtobool); mlplane decides it."""
    path = tmp_path / "cond.py"
    path.write_text("from kfp import components, dsl\n\nop = components.load_component_from_text('''\n"
                    "name: Talk\ninputs: [{name: verbose, type: Boolean}]\nimplementation:\n  container:\n"
                    "    image: busybox:1.36.1\n    command: [echo, {if: {cond: {inputValue: verbose}, "
                    "then: [--verbose], else: [--quiet]}}]\n''')\n\n\n"
                    f"@dsl.pipeline(name='c')\ndef c():\n    op({verbose!r})\n")
    assert load(path, "c").steps[0].command == ("echo", flag)
