"""KFP v1: preemptible steps on the stack's spot pools, TPUs and TTLs refused, literal loops unrolled."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mlplane.components.accelerators.spec import PoolSpec, pool_scheduling
from mlplane.components.pipeline.spec import ContainerStepSpec, WorkflowStepSpec
from mlplane.core.errors import InputError
from mlplane.pipelines.kfp_v1 import load_kfp_v1_pipeline

from .test_pipelines_stack import DATA, JOB, render, render_error, stack_from

ORACLE = DATA / "oracle"


def _pool(name: str, spot: bool, model: str = "l4", machine: str = "g2-standard-8") -> Any:
    return pool_scheduling(PoolSpec(name=name, vendor="nvidia", model=model, accelerators_per_node=1,
                                    machine_type=machine, spot=spot), "gke")


GKE_POOLS = (_pool("l4", False), _pool("l4-spot", True))


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.py"
    path.write_text("from kfp import dsl, gcp\n\n\n@dsl.pipeline(name='p')\ndef pipeline():\n"
                    + textwrap.indent(textwrap.dedent(body), "    "))
    return path


def _load(path: Path, pools: tuple[Any, ...] = GKE_POOLS):
    return load_kfp_v1_pipeline(path, "pipeline", {}, name="p", display="p.py", stack="s",
                                 pools=pools)


def _error(path: Path, **kwargs: Any) -> str:
    with pytest.raises(InputError) as caught:
        _load(path, **kwargs)
    return str(caught.value)


# --- gcp.use_preemptible_nodepool ------------------------------------------------------------


def test_preemptible_gpu_steps_get_the_first_spot_pool_that_fits(tmp_path: Path) -> None:
    spec = _load(ORACLE / "gcp_spot.py")
    steps = {step.name: step for step in spec.steps}
    assert steps["train"].accelerator.pool == "l4-spot" and steps["tune"].accelerator.pool == "l4-spot"
    assert steps["report"].accelerator is None
    # KFP's own selector and toleration are not copied: they match no node of the pool.
    assert not steps["train"].tolerations and not steps["train"].node_selector


@pytest.mark.parametrize(("pools", "says"), [
    ((_pool("l4", False),), "needs a spot pool, and stack 's' has pools: l4 (nvidia l4, nvidia.com/gpu x1 "
                                   "per node), on-demand; declare one under mlplane:accelerators.pools with "
                                   "`spot: true`"),
    ((), "needs a spot pool, and stack 's' has no accelerator pools"),
])
def test_preemptible_without_a_spot_pool_is_refused(tmp_path: Path, pools: tuple, says: str) -> None:
    path = _write(tmp_path, """\
        op = dsl.ContainerOp(name='train', image='busybox:1.36.1', command=['true']).set_gpu_limit(1)
        op.apply(gcp.use_preemptible_nodepool())
        """)
    message = _error(path, pools=pools)
    assert message.startswith("p.py:7: pipeline p: gcp.use_preemptible_nodepool on step 'train': ")
    assert says in message


@pytest.mark.parametrize("kind", ["eks", "aks"])
def test_preemptible_steps_go_to_the_spot_pool_on_other_clouds_too(kind: str) -> None:
    """The pool's own selector places the step, so a GKE pipeline moved to EKS or AKS keeps
    running on spot capacity there."""
    pools = tuple(pool_scheduling(PoolSpec(name=name, vendor="nvidia", model="t4", accelerators_per_node=1,
                                           machine_type=machine, spot=spot), kind)
                  for name, spot, machine in (("t4", False, MACHINES[kind]), ("t4-spot", True, MACHINES[kind])))
    steps = {step.name: step for step in _load(ORACLE / "gcp_spot.py", pools=pools).steps}
    assert steps["train"].accelerator.pool == "t4-spot"


MACHINES = {"eks": "g4dn.xlarge", "aks": "Standard_NC8as_T4_v3"}


def test_preemptible_without_an_accelerator_or_a_fitting_pool_is_refused(tmp_path: Path) -> None:
    message = _error(ORACLE / "gcp_preemptible.py")
    assert message.startswith("p.py:8: pipeline p: gcp.use_preemptible_nodepool on step 'cheap': the stack's spot "
                              "pools (l4-spot) are accelerator pools: a step that asks for no accelerator")
    path = _write(tmp_path, """\
        op = dsl.ContainerOp(name='train', image='busybox:1.36.1', command=['true']).set_gpu_limit(2)
        op.apply(gcp.use_preemptible_nodepool())
        """)
    assert "no spot pool fits its request {vendor: nvidia, count: 2} (l4-spot: gives at most 1 nvidia.com/gpu" \
        in _error(path)


def test_tpus_are_refused_naming_the_pools(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        op = dsl.ContainerOp(name='train', image='busybox:1.36.1', command=['true'])
        op.apply(gcp.use_tpu(tpu_cores=8, tpu_resource='v3', tf_version='2.12'))
        """)
    message = _error(path)
    assert message.startswith("p.py:7: pipeline p: gcp.use_tpu needs a TPU pool (the step would request "
                              "cloud-tpus.google.com/v3)")
    assert "stack 's' has pools: l4 (" in message


def test_a_ttl_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        dsl.ContainerOp(name='train', image='busybox:1.36.1', command=['true'])
        dsl.get_pipeline_conf().set_ttl_seconds_after_finished(60)
        """)
    message = _error(path)
    assert message.startswith("p.py:7: pipeline p: PipelineConf.set_ttl_seconds_after_finished ")
    assert "`pulumi refresh`" in message and "pulumi/pulumi-kubernetes#3089" in message


def test_a_gke_stack_places_preemptible_steps_on_its_spot_pool(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(ORACLE / "gcp_spot.py", tmp_path / "spot.py")

    def add(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [{"name": "spot", "kind": "kfp-v1", "source": "spot.py:pipeline"}]

    plan = render(tmp_path, stack_from(tmp_path, "gke", add), capsys)
    jobs = {r["name"]: r["inputs"]["spec"]["template"]["spec"] for r in plan["resources"] if r["type"] == JOB}
    pod = jobs["pipeline-spot-train-job"]
    assert pod["nodeSelector"]["mlplane.dev/accelerator-pool"] == "l4-mps"  # Pulumi.gke.yaml's spot pool
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_a_stack_without_a_spot_pool_refuses_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(ORACLE / "gcp_spot.py", tmp_path / "spot.py")

    def add(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [{"name": "spot", "kind": "kfp-v1", "source": "spot.py:pipeline"}]
        for pool in config["mlplane:accelerators"]["pools"]:
            pool["spot"] = False

    message = render_error(stack_from(tmp_path, "gke", add), capsys, tmp_path)
    assert "spot.py:8: pipeline spot: gcp.use_preemptible_nodepool on step 'train': needs a spot pool" in message
    assert "l4-mps (nvidia l4, nvidia.com/gpu x4 per node, mps), on-demand" in message


# --- ParallelFor over a literal list ------------------------------------------------------


def test_a_literal_loop_becomes_one_step_per_item(tmp_path: Path) -> None:
    spec = _load(ORACLE / "loops_static.py")
    steps = {step.name: step for step in spec.steps}
    assert not any(isinstance(step, WorkflowStepSpec) for step in spec.steps)
    assert [name for name in steps if name.startswith("train")] == ["train-for-loop-2-0", "train-for-loop-2-1"]
    # item.data / item.rate: the dict's fields; the other step of the same iteration renamed.
    assert steps["prepare-for-loop-2-1"].args[:2] == ("--name", "b")
    assert steps["train-for-loop-2-1"].args[:4] == ("--data", "{{mlplane.output:prepare-for-loop-2-1:Output}}",
                                                    "--rate", "0.2")
    assert steps["report-for-loop-2-1-for-loop-4-0"].args == ("--text", "x-{{mlplane.output:train-for-loop-2-1:Output}}")
    assert steps["report-2-for-loop-6-1"].args == ("--text", "2")  # a number as Argo prints it
    # KFP's DAG: .after(start) inside the loop holds for the whole iteration; after a
    # step inside the loop, the whole loop.
    assert "start" in spec.upstream(steps["train-for-loop-2-0"])
    assert len(spec.upstream(steps["done"])) == 8


def test_dict_items_are_compact_json_and_fields_must_exist(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        with dsl.ParallelFor([{'b': 1, 'a': 'x'}]) as item:
            dsl.ContainerOp(name='show', image='busybox:1.36.1', command=['echo', item])
        """)
    [step] = _load(path).steps
    assert step.name == "show-for-loop-2-0" and step.command == ("echo", '{"a":"x","b":1}')
    path = _write(tmp_path, """\
        with dsl.ParallelFor([{'a': 1}]) as item:
            dsl.ContainerOp(name='show', image='busybox:1.36.1', command=['echo', item.missing])
        """)
    assert "'loop-item-param-1-subvar-missing', which the loop's items do not have" in _error(path)
    path = _write(tmp_path, """\
        with dsl.ParallelFor([{'a': 1}, {'b': 2}]) as item:
            pass
        """)
    assert "p.py:6: pipeline p: dsl.ParallelFor a list of dicts needs the same keys in every dict" in _error(path)


def test_a_loop_the_workflow_must_run_keeps_its_items(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        check = dsl.ContainerOp(name='check', image='busybox:1.36.1', command=['true'], file_outputs={'ok': '/ok'})
        with dsl.Condition(check.outputs['ok'] == 'yes'):
            with dsl.ParallelFor([{'a': 'x'}]) as item:
                dsl.ContainerOp(name='show', image='busybox:1.36.1', command=['echo', item.a])
        """)
    [step] = _load(path).steps
    assert isinstance(step, WorkflowStepSpec) and "dsl.ParallelFor" in step.reasons
    loop = [t for t in step.workflow["spec"]["templates"] if t["name"] == "condition-1"][0]["dag"]["tasks"][0]
    assert loop["withItems"] == [{"a": "x"}]
    assert loop["arguments"]["parameters"] == [{"name": "loop-item-param-2-subvar-a", "value": "{{item.a}}"}]


def test_a_fan_in_stays_on_the_workflow_engine(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        with dsl.ParallelFor(['a', 'b']) as item:
            made = dsl.ContainerOp(name='make', image='busybox:1.36.1', command=['echo', item],
                                   file_outputs={'out': '/out'})
        dsl.ContainerOp(name='use', image='busybox:1.36.1', command=['echo', made.outputs['out']])
        """)
    with pytest.raises(InputError) as caught:  # the Workflow compiler does not take a group's outputs yet
        _load(path)
    assert "its output 'out' is used outside the condition or loop it is in" in str(caught.value)


def test_steps_without_loops_are_untouched(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        first = dsl.ContainerOp(name='first', image='busybox:1.36.1', command=['true'])
        with dsl.ParallelFor([1]) as n:
            dsl.ContainerOp(name='each', image='busybox:1.36.1', command=['echo', n]).after(first)
        """)
    steps = {step.name: step for step in _load(path).steps}
    assert set(steps) == {"first", "each-for-loop-2-0"} and isinstance(steps["first"], ContainerStepSpec)
    assert steps["each-for-loop-2-0"].after == ("first",)


@pytest.mark.parametrize(("loop", "conf", "reason"), [
    ("dsl.ParallelFor(['a', 'b'], parallelism=1)", "", "dsl.ParallelFor (for-loop-2 runs at most 1 iteration(s) at once)"),
    ("dsl.ParallelFor(['a', 'b'])", "dsl.get_pipeline_conf().set_parallelism(1)",
     "dsl.ParallelFor (PipelineConf.set_parallelism limits the run's pods)"),
])
def test_a_limited_loop_stays_on_the_workflow_engine(tmp_path: Path, loop: str, conf: str, reason: str) -> None:
    path = _write(tmp_path, f"""\
        {conf}
        with {loop} as item:
            dsl.ContainerOp(name='show', image='busybox:1.36.1', command=['echo', item])
        """)
    [step] = _load(path).steps
    assert isinstance(step, WorkflowStepSpec) and step.reasons == (reason,)


def test_a_preemptible_step_of_a_workflow_gets_the_spot_pool_too(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        check = dsl.ContainerOp(name='check', image='busybox:1.36.1', command=['true'], file_outputs={'ok': '/ok'})
        with dsl.Condition(check.outputs['ok'] == 'yes'):
            op = dsl.ContainerOp(name='train', image='busybox:1.36.1', command=['true']).set_gpu_limit(1)
            op.apply(gcp.use_preemptible_nodepool(hard_constraint=True))
        """)
    [step] = _load(path).steps
    assert isinstance(step, WorkflowStepSpec) and step.accelerators["train"].pool == "l4-spot"


def test_a_field_named_like_a_string_method_is_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        with dsl.ParallelFor([{'count': 3}]) as item:
            dsl.ContainerOp(name='show', image='busybox:1.36.1', command=['echo', item.count])
        """)
    [step] = _load(path).steps
    assert step.command == ("echo", "3")


def test_fields_named_like_the_parameters_attributes_are_fields_or_refused(tmp_path: Path) -> None:
    """``item.value`` is the field, as KFP 1.8.22 compiles it (``{{item.value}}``), not the
    loop parameter's own ``value`` (None); a key KFP's compiler fails on (``name``,
    ``op_name``, ``full_name``) is refused rather than read as the parameter's name."""
    path = _write(tmp_path, """\
        with dsl.ParallelFor([{'value': 'a', 'param_type': 'b'}, {'value': 'c', 'param_type': 'd'}]) as item:
            dsl.ContainerOp(name='show', image='busybox:1.36.1', command=['echo', item.value, item.param_type])
        """)
    assert [step.command for step in _load(path).steps] == [("echo", "a", "b"), ("echo", "c", "d")]
    for key in ("name", "op_name", "full_name"):
        path = _write(tmp_path, f"""\
            with dsl.ParallelFor([{{'{key}': 'a'}}]) as item:
                dsl.ContainerOp(name='show', image='busybox:1.36.1', command=['echo', item.{key}])
            """)
        assert (f"p.py:6: pipeline p: dsl.ParallelFor a dict item's key {key!r} is an attribute KFP 1.8.22's "
                "loop argument already has") in _error(path)
