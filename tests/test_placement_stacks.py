"""Where work that names no pool lands on the repository's cloud stacks, rendered.

Both stacks have an on-demand A100 pool and a spot, shared pool (``gke``: ``l4-mps``,
first in the file; ``aks``: ``t4shared``, second). A plain KFP v1 GPU step, an endpoint
and a notebook asking for ``{vendor: nvidia}`` go to the on-demand pool; a KFP v1 step
with ``gcp.use_preemptible_nodepool`` and work naming the spot pool go to the spot pool
(components/scheduling.py ``place``, docs/accelerators.md).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from .test_pipelines_stack import JOB, render, render_error, stack_from

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
NOTEBOOK = "kubernetes:kubeflow.org/v1:Notebook"
POOL = "mlplane.dev/accelerator-pool"

#: A KFP v1 file: a plain GPU step (KFP's set_gpu_limit) and one that asked for preemptible capacity.
KFP_FILE = textwrap.dedent("""\
    from kfp import dsl, gcp


    @dsl.pipeline(name='gpu')
    def pipeline():
        dsl.ContainerOp(name='plain', image='busybox:1.36.1', command=['true']).set_gpu_limit(1)
        spot = dsl.ContainerOp(name='spot', image='busybox:1.36.1', command=['true']).set_gpu_limit(1)
        spot.apply(gcp.use_preemptible_nodepool())
    """)

#: Per stack: the on-demand whole-GPU pool, the spot shared pool, a storage class, and the SDK it needs.
STACKS = {"gke": ("a100", "l4-mps", "balanced", "pulumi_gcp"),
          "aks": ("a100", "t4shared", "premium", "pulumi_azure_native")}


def _add_work(stack: str, accelerator: dict[str, Any]) -> Any:
    _, _, storage_class, _ = STACKS[stack]

    def change(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [{"name": "gpu", "kind": "kfp-v1", "source": "gpu.py:pipeline"}]
        config["mlplane:serving"] = {"endpoints": [{
            "name": "scorer", "container": {"image": "ghcr.io/acme/scorer:1.4.2", "port": 8080},
            "resources": {"cpu_request": "1", "memory_limit": "4Gi"}, "accelerator": dict(accelerator)}]}
        config["mlplane:workbenches"] = {"notebooks": [{
            "name": "gpu-lab", "profile": "team-vision", "kind": "jupyter", "image": "jupyter-pytorch-cuda-full",
            "accelerator": dict(accelerator), "workspace": {"size": "10Gi", "storage_class": storage_class}}]}
    return change


def _rendered(tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str,
              accelerator: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The pod specs of the plain step, the spot step, the endpoint and the notebook."""
    pytest.importorskip(STACKS[stack][3], reason=f"the {stack} stack's pools need the cloud SDK")
    (tmp_path / "gpu.py").write_text(KFP_FILE)
    plan = render(tmp_path, stack_from(tmp_path, stack, _add_work(stack, accelerator)), capsys)
    resources = plan["resources"]
    jobs = {r["name"]: r["inputs"]["spec"]["template"]["spec"] for r in resources if r["type"] == JOB}
    [isvc] = [r["inputs"] for r in resources if r["type"] == ISVC and r["inputs"]["metadata"]["name"] == "scorer"]
    [notebook] = [r["inputs"] for r in resources
                  if r["type"] == NOTEBOOK and r["inputs"]["metadata"]["name"] == "gpu-lab"]
    return {"plain": jobs["pipeline-gpu-plain-job"], "spot": jobs["pipeline-gpu-spot-job"],
            "endpoint": isvc["spec"]["predictor"], "notebook": notebook["spec"]["template"]["spec"]}


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_work_naming_no_pool_goes_on_demand_and_preemptible_steps_to_spot(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str) -> None:
    on_demand, spot, _, _ = STACKS[stack]
    pods = _rendered(tmp_path, capsys, stack, {"vendor": "nvidia"})
    placed = {name: pod["nodeSelector"][POOL] for name, pod in pods.items()}
    assert placed == {"plain": on_demand, "endpoint": on_demand, "notebook": on_demand, "spot": spot}
    plain = pods["plain"]
    assert plain["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    # No trace of the spot pool on the plain step: neither its selector nor, on AKS, its spot toleration.
    assert "cloud.google.com/gke-gpu-sharing-strategy" not in plain["nodeSelector"]
    assert all(t.get("key") != "kubernetes.azure.com/scalesetpriority" for t in plain.get("tolerations", []))
    if stack == "aks":  # the spot step tolerates the taint AKS puts on spot nodes
        assert {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Exists", "effect": "NoSchedule"} \
            in pods["spot"]["tolerations"]


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_naming_the_spot_pool_is_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str], stack: str) -> None:
    _, spot, _, _ = STACKS[stack]
    pods = _rendered(tmp_path, capsys, stack, {"pool": spot})
    assert {name: pod["nodeSelector"][POOL] for name, pod in pods.items() if name != "plain"} == \
        {"endpoint": spot, "notebook": spot, "spot": spot}


def test_a_stack_whose_only_fitting_pool_is_spot_refuses_a_plain_gpu_step(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pulumi_gcp")
    (tmp_path / "gpu.py").write_text(KFP_FILE)

    def only_spot(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [{"name": "gpu", "kind": "kfp-v1", "source": "gpu.py:pipeline"}]
        config["mlplane:accelerators"]["pools"] = config["mlplane:accelerators"]["pools"][:1]  # l4-mps only

    message = render_error(stack_from(tmp_path, "gke", only_spot), capsys, tmp_path)
    assert "pipeline 'gpu', step 'plain': accelerator request {vendor: nvidia, count: 1} cannot be placed on " \
           "stack 't': work that names no pool runs on on-demand capacity, and only spot (preemptible) pools " \
           "fit it: l4-mps (nvidia l4, nvidia.com/gpu x4 per node, mps)" in message, message
    assert "gcp.use_preemptible_nodepool()" in message
    assert "Traceback" not in message


def test_a_kfp_step_selecting_a_pools_nodes_asks_for_that_pool(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``add_node_selector_constraint`` on mlplane's pool label names the pool: placed elsewhere the
    step would carry two pools' selectors and match no node."""
    pytest.importorskip("pulumi_gcp")
    (tmp_path / "gpu.py").write_text(textwrap.dedent(f"""\
        from kfp import dsl


        @dsl.pipeline(name='gpu')
        def pipeline():
            op = dsl.ContainerOp(name='plain', image='busybox:1.36.1', command=['true']).set_gpu_limit(1)
            op.add_node_selector_constraint('{POOL}', 'l4-mps')
        """))

    def with_pipeline(config: dict[str, Any]) -> None:
        config["mlplane:pipelines"] = [{"name": "gpu", "kind": "kfp-v1", "source": "gpu.py:pipeline"}]

    plan = render(tmp_path, stack_from(tmp_path, "gke", with_pipeline), capsys)
    [pod] = [r["inputs"]["spec"]["template"]["spec"] for r in plan["resources"]
             if r["type"] == JOB and r["name"] == "pipeline-gpu-plain-job"]
    assert pod["nodeSelector"][POOL] == "l4-mps"
    assert pod["nodeSelector"]["cloud.google.com/gke-gpu-sharing-strategy"] == "mps"


def test_a_selector_and_an_accelerator_naming_two_pools_are_refused() -> None:
    from pydantic import ValidationError

    from mlplane.components.pipeline.spec import ContainerStepSpec

    with pytest.raises(ValidationError, match=f"node_selector {POOL}=l4 and accelerator pool a100 name two pools"):
        ContainerStepSpec(name="a", image="b:1", accelerator={"pool": "a100"}, node_selector={POOL: "l4"})
    same = ContainerStepSpec(name="a", image="b:1", accelerator={"pool": "l4"}, node_selector={POOL: "l4"})
    assert same.accelerator is not None and same.accelerator.pool == "l4"
