"""What works on paper must work on a cluster: upstream behaviours every plan respects.

Each section is one kind of fault found in public bug reports, replayed against mlplane
(issue 12); docs/upstream-behaviours.md says what is guaranteed and how it is checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import main
from infra.offline.plan import Plan, load_plan

from .conftest import STACKS, rendered
from .upstream import of_kind, render_chart

INJECT = "sidecar.istio.io/inject"


def write_stack(tmp_path: Path, config: dict[str, Any], files: dict[str, str] | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def render_ok(tmp_path: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> Plan:
    code = main(["render", "--config-file", str(path), "--out", str(tmp_path / "ok")])
    assert code == 0, capsys.readouterr().err
    return load_plan(tmp_path / "ok")


def render_refused(tmp_path: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    out = tmp_path / "never"
    assert main(["render", "--config-file", str(path), "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# --- 1. Jobs in a mesh never finish --------------------------------------------------------

ONE_STEP = '''
from components.pipeline.spec import ContainerStepSpec, PipelineSpec
from pipelines.native import pipeline


@pipeline
def one_step(ctx) -> PipelineSpec:
    return PipelineSpec(name=ctx.pipeline, steps=(
        ContainerStepSpec(name="hello", image="busybox:1.36.1", command=("echo", "hi")),
    ))
'''


def mesh_stack(release: str, **pipeline: Any) -> dict[str, Any]:
    return {
        "mlplane:cluster": {"kind": "local"},
        "mlplane:storage": {"classes": [{"name": "local", "kind": "local-path"}],
                            "artifacts": {"kind": "in-cluster", "storage_class": "local"}},
        "mlplane:kubeflow": {"release": release, "profiles": [{"name": "team-a", "owner": "a@example.com"}]},
        "mlplane:auth": {"dex": {"users": [{"email": "a@example.com", "generate_password": True}]}},
        "mlplane:pipelines": [{"name": "hello", "source": "one_step.py:one_step", "namespace": "team-a",
                               **pipeline}],
    }


def pod_templates(resource: Any) -> list[dict[str, Any]]:
    """The pod templates of a Job, PyTorchJob or TrainingRuntime in the plan."""
    spec = resource.inputs.get("spec") or {}
    if resource.type.endswith(":Job"):
        return [spec["template"]]
    if resource.type.endswith(":PyTorchJob"):
        return [r["template"] for r in spec["pytorchReplicaSpecs"].values()]
    if resource.type.endswith(":TrainingRuntime"):
        return [j["template"]["spec"]["template"] for j in spec["template"]["spec"]["replicatedJobs"]]
    return []


RUN_TO_COMPLETION = (":batch/v1:Job", ":PyTorchJob", ":TrainingRuntime")


def mlplane_run_to_completion(plan: Plan) -> list[Any]:
    return [r for r in plan if r.type.endswith(RUN_TO_COMPLETION) and r.parent is not None
            and "mlplane:pipeline:" in r.parent]


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
def test_a_step_in_an_injected_profile_namespace_runs_without_a_sidecar(
        release: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = render_ok(tmp_path, write_stack(tmp_path, mesh_stack(release), {"one_step.py": ONE_STEP}), capsys)
    job = plan.named("pipeline-hello-hello-job")
    assert job.inputs["metadata"]["namespace"] == "team-a"
    # The profile namespace is injected (Kubeflow's profiles label it istio-injection=enabled) ...
    [template] = pod_templates(job)
    # ... and the step's pod opts out, as Kubeflow Pipelines does for its steps.
    assert template["metadata"]["labels"][INJECT] == "false"
    assert template["metadata"]["annotations"][INJECT] == "false"


@pytest.mark.parametrize("release,api", [("1.8.1", "pytorchjob"), ("26.03", "trainjob")])
def test_distributed_training_pods_run_without_a_sidecar(record, release: str, api: str) -> None:
    from components.pipeline.container_step import ContainerStepArgs
    from components.pipeline.spec import ContainerStepSpec
    from components.pipeline.training_step import TrainingStep, TrainingStepArgs

    step = ContainerStepArgs(pipeline="p", namespace="team-a", version="v1",
                             spec=ContainerStepSpec(name="fit", image="busybox:1.36.1", workers=3))
    plan = record(lambda: TrainingStep("fit", TrainingStepArgs(step=step, api=api)))
    templates = [t for r in plan for t in pod_templates(r)]
    assert templates
    for template in templates:
        assert template["metadata"]["labels"][INJECT] == "false"
        assert template["metadata"]["annotations"][INJECT] == "false"


@pytest.mark.parametrize("stack", STACKS)
def test_every_run_to_completion_pod_of_every_stack_opts_out(stack: str) -> None:
    for resource in mlplane_run_to_completion(rendered(stack)):
        for template in pod_templates(resource):
            assert template["metadata"]["labels"].get(INJECT) == "false", resource.urn


@pytest.mark.parametrize("chart", ["istiod-1.17.3", "istiod-1.29.0"])
def test_istios_injector_skips_pods_labelled_inject_false(chart: str) -> None:
    """The label works because every injection webhook's objectSelector excludes it (both trains)."""
    from components.mesh import INJECT_KEY, INJECT_OFF

    objects = render_chart(chart, {"global": {"istioNamespace": "istio-system"}}, release="istiod",
                           namespace="istio-system")
    [config] = [o for o in of_kind(objects, "MutatingWebhookConfiguration") if "sidecar-injector" in
                o["metadata"]["name"]]
    webhooks = config["webhooks"]
    assert webhooks
    for webhook in webhooks:
        expressions = webhook["objectSelector"].get("matchExpressions", [])
        excluded = any(e["key"] == INJECT_KEY and e["operator"] == "NotIn" and INJECT_OFF in e["values"]
                       for e in expressions)
        opted_in = any(e["key"] == INJECT_KEY and e["operator"] == "In" and INJECT_OFF not in e["values"]
                       for e in expressions)
        assert excluded or opted_in, webhook["name"]


# --- 9. Platform specifics: Istio CNI on GKE -----------------------------------------------

def cni_bin_dirs(plan: Plan) -> list[str]:
    """The CNI binary folder of the Istio CNI DaemonSet, rendered from the chart the plan records."""
    chart = plan.named("platform-istio-cni").inputs
    objects = render_chart(f"cni-{chart['version']}", chart.get("values") or {}, release="istio-cni",
                           namespace="istio-cni")
    [daemonset] = of_kind(objects, "DaemonSet")
    return [v["hostPath"]["path"] for v in daemonset["spec"]["template"]["spec"]["volumes"]
            if v["name"] == "cni-bin-dir"]


def gke_stack(tmp_path: Path, release: str) -> Path:
    document = yaml.safe_load((Path(__file__).resolve().parent.parent / "Pulumi.gke.yaml").read_text())
    document["config"]["mlplane:kubeflow"]["release"] = release
    return write_stack(tmp_path, document["config"])


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
def test_istio_cni_on_gke_uses_gkes_cni_folder(release: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    plan = rendered("gke") if release == "26.03" else render_ok(tmp_path, gke_stack(tmp_path, release), capsys)
    assert plan.named("platform-istio-cni").inputs["version"] == {"1.8.1": "1.17.3", "26.03": "1.29.0"}[release]
    assert cni_bin_dirs(plan) == ["/home/kubernetes/bin"]


@pytest.mark.parametrize("stack", ["dev", "onprem"])
def test_istio_cni_elsewhere_keeps_the_standard_folder(stack: str) -> None:
    assert cni_bin_dirs(rendered(stack)) == ["/opt/cni/bin"]
