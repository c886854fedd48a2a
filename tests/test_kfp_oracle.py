"""The real KFP 1.8.22 compiler as the oracle for mlplane's KFP v1 layer.

Every pipeline under tests/data/pipelines/oracle/ is compiled by kfp 1.8.22 (in its own
venv, one subprocess for all of them, tests/oracle/kfp_oracle.py) and loaded by mlplane;
a pipeline mlplane renders must agree with KFP step by step (image, command, arguments,
environment, volumes and mounts, resources, retries, timeout, node selector,
tolerations, annotations and labels, outputs, the files and values each step
receives, and what it runs after). A pipeline that goes to the workflow engine must be
KFP's Workflow plus exactly mlplane's documented additions (defaults, placement, security,
the executor patch, the mesh opt-out), template by template. A pipeline mlplane refuses
must be refused with the construct, the file and the line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlplane.components.pipeline.spec import WorkflowStepSpec
from mlplane.components.pipeline.workflow_step import WorkflowStepArgs, workflow_manifest
from mlplane.components.scheduling import PoolScheduling, place
from mlplane.core.errors import InputError
from mlplane.pipelines.kfp_v1 import load_kfp_v1_pipeline
from tests.oracle.placement import mlplane_placed, oracle_placed
from tests.oracle.unrolled import flatten_literal_loops
from tests.oracle.kfp_oracle import (
    OracleUnavailable,
    compile_all,
    differences,
    mlplane_steps,
    oracle_steps,
    workflow_differences,
)

ORACLE = Path(__file__).resolve().parent / "data" / "pipelines" / "oracle"

#: Each test pipeline and what mlplane must do with it: render natively ("unrolled":
#: natively, with its literal loops one step per item; "placed": natively, on a spot
#: pool), go to the workflow engine, or be refused (the construct it names).
EXPECTED = {
    "classic_ops": "native",
    "light_values": "native",
    "light_files": "native",
    "spec_components": "native",
    "modifiers": "native",
    "secrets_and_conf": "native",
    "resources_and_sidecars": "native",
    "flow_condition": "workflow",
    "flow_loops": "workflow",
    "flow_exit": "workflow",
    "flow_volume": "workflow",
    "flow_claim_condition": "workflow",
    "flow_files": "workflow",
    "flow_resource": "workflow",
    "flow_recursion": "workflow",
    "flow_gpu": "workflow",
    "flow_sized": "workflow",
    "gcp_preemptible": "refused:gcp.use_preemptible_nodepool",
    "gcp_spot": "placed",
    "loops_static": "unrolled",
    "loops_files": "unrolled",
    "loops_volume": "unrolled",
    "loops_resource": "unrolled",
    "project_components": "native",
    "kale_volumes": "native",
    "caching_options": "native",
    "ui_metadata": "native",
    "parallelism_limit": "workflow",
    "flow_run_uid": "workflow",
    "v2_import": "refused:kfp.v2",
}


def test_every_oracle_pipeline_has_an_expectation() -> None:
    assert sorted(p.stem for p in ORACLE.glob("*.py")) == sorted(EXPECTED)


@pytest.fixture(scope="session")
def compiled() -> dict[str, dict]:
    jobs = [{"id": stem, "file": str(ORACLE / f"{stem}.py"), "function": "pipeline"} for stem in EXPECTED]
    try:
        return compile_all(jobs)
    except OracleUnavailable as exc:
        if os.environ.get("MLPLANE_REQUIRE_ORACLE"):
            raise
        pytest.skip(f"the KFP 1.8.22 oracle cannot be built here: {exc}")


def _oracle(stem: str, workflow: dict) -> dict:
    """KFP's steps; a literal loop's steps once per item, as Argo runs them (tests/oracle/unrolled.py)."""
    if EXPECTED[stem] == "unrolled":
        workflow = flatten_literal_loops(workflow)
    return oracle_steps(workflow)


def _differences(stem: str, workflow: dict) -> list[str]:
    """KFP's steps against mlplane's ("placed": after tests/oracle/placement.py's normalization)."""
    if EXPECTED[stem] == "placed":
        placed = oracle_placed(workflow)
        assert any(step["placement"] == "spot" for step in placed.values())  # the normalization found KFP's
        return differences(placed, mlplane_placed(_load(stem), _gke_pools()))
    return differences(_oracle(stem, workflow), mlplane_steps(_load(stem)))


def _gke_pools() -> tuple:
    """A GKE stack's pools: an on-demand L4 pool first, then a spot one."""
    from mlplane.components.accelerators.spec import PoolSpec, pool_problems, pool_scheduling

    specs = [PoolSpec(name=name, vendor="nvidia", model="l4", accelerators_per_node=1, machine_type="g2-standard-8",
                      spot=spot) for name, spot in (("l4", False), ("l4-spot", True))]
    assert not [p for spec in specs for p in pool_problems(spec, "gke")]
    return tuple(pool_scheduling(spec, "gke") for spec in specs)


#: The pool the oracle's accelerator templates are placed on: a shared resource name, so
#: KFP's ``nvidia.com/gpu`` limit must give way to it.
POOL = PoolScheduling(name="l4-shared", vendor="nvidia", model="l4", resource_name="nvidia.com/gpu.shared",
                      node_selector={"mlplane.dev/pool": "l4-shared"},
                      tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
                      accelerators_per_node=1, per_node=4, max_per_container=1, sharing="time-slicing")


def _declared(stem: str, release: str = "26.03") -> tuple[dict, dict]:
    """The Workflow as mlplane declares it (every addition made) on a release train, and its placements."""
    [step] = _load(stem).steps
    placements = {name: place(request, [POOL], stack="oracle") for name, request in step.accelerators.items()}
    args = WorkflowStepArgs(namespace="team", spec=step, version="v1", placements=placements, release=release)
    return workflow_manifest(args), placements


def _load(stem: str):
    # Named as the file's @dsl.pipeline names it, so a Workflow's entrypoint is KFP's.
    # The project is tests/data/pipelines: its components/ folder is a sibling of oracle/.
    return load_kfp_v1_pipeline(ORACLE / f"{stem}.py", "pipeline", {}, name=stem.replace("_", "-"),
                                display=f"{stem}.py", stack="gke", pools=_gke_pools(), project=ORACLE.parent)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_against_kfp_1_8_22(stem: str, compiled: dict[str, dict]) -> None:
    result = compiled[stem]
    assert "workflow" in result, f"KFP 1.8.22 could not compile {stem}: {result.get('error')}"
    expected = EXPECTED[stem]
    if expected in ("native", "unrolled", "placed"):
        found = _differences(stem, result["workflow"])
        assert not found, "\n".join(found)
    elif expected == "workflow":
        [step] = _load(stem).steps
        assert isinstance(step, WorkflowStepSpec)
        found = workflow_differences(result["workflow"], *_declared(stem))
        assert not found, "\n".join(found)
    else:
        construct = expected.split(":", 1)[1]
        with pytest.raises(InputError) as caught:
            _load(stem)
        message = str(caught.value)
        assert message.startswith(f"{stem}.py:") and f": {construct} " in message, message


def test_the_figures(compiled: dict[str, dict]) -> None:
    """How many of the suite's pipelines render, go to the workflow engine, are refused."""
    native = [s for s, e in EXPECTED.items() if e in ("native", "unrolled", "placed")]
    agree = [s for s in native if not _differences(s, compiled[s]["workflow"])]
    engine = [s for s, e in EXPECTED.items() if e == "workflow"]
    agree += [s for s in engine if not workflow_differences(compiled[s]["workflow"], *_declared(s))]
    refused = [s for s, e in EXPECTED.items() if e.startswith("refused")]
    assert (len(native), len(engine), len(refused), len(agree)) == (16, 12, 2, 28)


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
@pytest.mark.parametrize("stem", sorted(s for s, e in EXPECTED.items() if e == "workflow"))
def test_workflows_are_valid(stem: str, release: str) -> None:
    """Each Workflow against Argo's CRD (../shared/crds, vendored), and the pod of each of its
    container and resource templates (with Argo's executor containers as patched) against
    Kubernetes' own schema."""
    import jsonschema
    import kubernetes_validate

    from tests.argo_pods import argo_pod
    from tests.crds import strict_schema

    workflow, _ = _declared(stem, release)
    schema = strict_schema("argoproj.io/v1alpha1", "Workflow")
    assert schema is not None
    jsonschema.validate(workflow, schema)
    pods = [t for t in workflow["spec"]["templates"] if "container" in t or "resource" in t]
    assert pods
    for template in pods:
        kubernetes_validate.validate(argo_pod(template), "1.30.0", strict=True)


#: The oracle's pipelines with resource templates (VolumeOp, ResourceOp) on the workflow engine.
RESOURCE_FLOWS = ("flow_claim_condition", "flow_resource", "flow_volume")


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
@pytest.mark.parametrize("stem", RESOURCE_FLOWS)
def test_resource_templates_on_both_trains(compiled: dict[str, dict], stem: str, release: str) -> None:
    """A VolumeOp's or ResourceOp's template is KFP's plus the documented additions for the
    pod Argo of that train makes of it; the other train's patch is a difference."""
    workflow, placements = _declared(stem, release)
    kfp = compiled[stem]["workflow"]
    assert [t for t in kfp["spec"]["templates"] if "resource" in t]  # resource templates to check
    assert not workflow_differences(kfp, workflow, placements, release)
    other = {"1.8.1": "26.03", "26.03": "1.8.1"}[release]
    found = workflow_differences(kfp, workflow, placements, other)
    resources = sorted(t["name"] for t in kfp["spec"]["templates"] if "resource" in t)
    assert sorted(f.split(".")[0] for f in found) == resources and all(".podSpecPatch:" in f for f in found), found


def _change(workflow: dict, template: str, edit) -> dict:
    changed = json.loads(json.dumps(workflow))
    edit(next(t for t in changed["spec"]["templates"] if t["name"] == template))
    return changed


@pytest.mark.parametrize(("stem", "template", "edit", "expected"), [
    # A real divergence from KFP: what runs.
    ("flow_gpu", "train", lambda t: t["container"].update(image="pytorch/pytorch:2.1.1"), "train.container"),
    ("flow_gpu", "train", lambda t: t["container"]["command"].append("--fast"), "train.container"),
    ("flow_sized", "work", lambda t: t["container"]["command"].pop(), "work.container"),
    ("flow_condition", "flip", lambda t: t["outputs"]["parameters"].clear(), "flip.outputs"),
    # Additions other than the documented ones, or documented ones missing or different.
    ("flow_sized", "work", lambda t: t["container"]["resources"]["requests"].update(memory="128Mi"),
     "work.container"),
    ("flow_gpu", "train", lambda t: t["container"]["resources"]["limits"].update({"nvidia.com/gpu": "1"}),
     "train.container"),
    ("flow_gpu", "train", lambda t: t["sidecars"][0].pop("resources"), "train.sidecars"),
    ("flow_gpu", "train", lambda t: t["sidecars"][0]["securityContext"].update(privileged=True), "train.sidecars"),
    ("flow_gpu", "train", lambda t: t.pop("tolerations"), "train.tolerations"),
    ("flow_gpu", "train", lambda t: t["nodeSelector"].update(zone="a"), "train.nodeSelector"),
    ("flow_gpu", "train", lambda t: t["securityContext"].update(runAsUser=0), "train.securityContext"),
    ("flow_gpu", "should-train", lambda t: t.update(hostNetwork=True), "should-train.hostNetwork"),
    ("flow_loops", "report", lambda t: t["metadata"]["annotations"].pop("sidecar.istio.io/inject"),
     "report.metadata"),
    ("flow_sized", "work", lambda t: t.pop("podSpecPatch"), "work.podSpecPatch"),
    ("flow_sized", "shards", lambda t: t.update(podSpecPatch=t["podSpecPatch"].replace('"512Mi"', '"1Gi"')),
     "shards.podSpecPatch"),
    # ... on resource templates (VolumeOp, ResourceOp): the pod Argo makes of them.
    ("flow_claim_condition", "scratch", lambda t: t.pop("podSpecPatch"), "scratch.podSpecPatch"),
    ("flow_claim_condition", "note", lambda t: t.update(podSpecPatch=t["podSpecPatch"].replace(
        '"name": "main"', '"name": "other"')), "note.podSpecPatch"),
    ("flow_claim_condition", "note", lambda t: t.update(podSpecPatch=t["podSpecPatch"].replace(
        '"allowPrivilegeEscalation": false', '"allowPrivilegeEscalation": true')), "note.podSpecPatch"),
    ("flow_claim_condition", "scratch", lambda t: t.pop("securityContext"), "scratch.securityContext"),
    ("flow_volume", "shared-data", lambda t: t["securityContext"].update(runAsNonRoot=False),
     "shared-data.securityContext"),
    ("flow_resource", "tfjob", lambda t: t["metadata"]["labels"].pop("sidecar.istio.io/inject"), "tfjob.metadata"),
])
def test_the_oracle_catches_divergences(compiled: dict[str, dict], stem: str, template: str, edit,
                                        expected: str) -> None:
    """The oracle fails on a wrong image, command or output, and on any addition that is
    not exactly the documented one; unchanged, the same Workflow agrees."""
    workflow, placements = _declared(stem)
    assert not workflow_differences(compiled[stem]["workflow"], workflow, placements)
    found = workflow_differences(compiled[stem]["workflow"], _change(workflow, template, edit), placements)
    assert [f for f in found if f.startswith(expected + ":")], found


def test_the_oracle_checks_the_placement(compiled: dict[str, dict]) -> None:
    """Without its placement the GPU template is not what mlplane documents (KFP's bare limit)."""
    workflow, placements = _declared("flow_gpu")
    found = workflow_differences(compiled["flow_gpu"]["workflow"], workflow, {})
    assert {f.split(":")[0] for f in found} == {"train.container", "train.nodeSelector", "train.tolerations"}
