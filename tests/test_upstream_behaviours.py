"""What works on paper must work on a cluster: upstream behaviours every plan respects.

Each section is one kind of fault found in public bug reports, replayed against mlplane
(issue 12); docs/upstream-behaviours.md says what is guaranteed and how it is checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.infra.cli import main
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.plan import Plan, load_plan
from mlplane.infra.prerequisites import prerequisites

from .conftest import STACKS, rendered
from .upstream import of_kind, render_chart, schedules_on

INJECT = "sidecar.istio.io/inject"


def write_stack(tmp_path: Path, config: dict[str, Any], files: dict[str, str] | None = None,
                stack: str = "t") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    path = tmp_path / f"Pulumi.{stack}.yaml"
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
from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec
from mlplane.pipelines.native import pipeline


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
    if resource.type.endswith(":Experiment"):  # Katib's trials
        return [spec["trialTemplate"]["trialSpec"]["spec"]["template"]]
    if resource.type.endswith(":Workflow"):  # Argo applies each template's metadata to its pod
        return list(spec["templates"])
    return []


RUN_TO_COMPLETION = (":batch/v1:Job", ":PyTorchJob", ":TrainingRuntime", ":Experiment", ":Workflow")


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
    from mlplane.components.pipeline.container_step import ContainerStepArgs
    from mlplane.components.pipeline.spec import ContainerStepSpec
    from mlplane.components.pipeline.training_step import TrainingStep, TrainingStepArgs

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
            assert template["metadata"]["annotations"].get(INJECT) == "false", resource.urn


def test_the_stacks_have_run_to_completion_pods_to_check() -> None:
    kinds = {r.type.rsplit(":", 1)[1] for stack in STACKS for r in mlplane_run_to_completion(rendered(stack))}
    assert "Job" in kinds


def test_katib_trials_and_the_best_parameter_reader_run_without_a_sidecar(record) -> None:
    from .test_experiment_step import declare

    plan = declare(record)
    found = [r for r in mlplane_run_to_completion(plan)]
    assert {r.type.rsplit(":", 1)[1] for r in found} == {"Job", "Experiment"}
    for resource in found:
        for template in pod_templates(resource):
            assert template["metadata"]["labels"][INJECT] == "false", resource.urn
            assert template["metadata"]["annotations"][INJECT] == "false", resource.urn


@pytest.mark.parametrize("chart", ["istiod-1.17.3", "istiod-1.29.0"])
def test_istios_injector_skips_pods_labelled_inject_false(chart: str) -> None:
    """The label works because every injection webhook's objectSelector excludes it (both trains)."""
    from mlplane.components.mesh import INJECT_KEY, INJECT_OFF

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


# --- 2. Sharing that is configured but never starts -----------------------------------------

def l4_pool(kind: str, **extra: Any) -> dict[str, Any]:
    return {"name": "l4", "vendor": "nvidia", "model": "l4", "accelerators_per_node": 1,
            "sharing": {"kind": kind, "replicas": 4}, "nodes": {"names": ["gpu-1"]}, **extra}


def device_plugin_objects(plan: Plan) -> list[dict[str, Any]]:
    chart = plan.named("devices-nvidia").inputs
    return render_chart(f"nvidia-device-plugin-{chart['version']}", chart["values"], release="devices-nvidia",
                        namespace="mlplane-devices")


def pool_node(plan: Plan, folder: Path, pool: str = "l4") -> tuple[dict[str, str], list[dict[str, str]]]:
    """The labels mlplane gives the pool's first node (its NodePatch) and the taints it has once its
    prerequisite ran (the ``kubectl taint`` command ``mlplane preview`` lists for it)."""
    [patch] = [r for r in plan if r.type == "kubernetes:core/v1:NodePatch" and r.name.startswith(f"pool-{pool}-")][:1]
    labels = dict(patch.inputs["metadata"]["labels"])
    node = patch.inputs["metadata"]["name"]
    config = load_stack_file(folder / "Pulumi.t.yaml", stack="t")
    [command] = [i.install for i in prerequisites(config) if i.name == f"taints of node {node}"]
    taints = []
    for text in command.split()[4:-1]:  # kubectl taint node NAME key[=value]:effect ... --overwrite
        key_value, effect = text.rsplit(":", 1)
        key, _, value = key_value.partition("=")
        taints.append({"key": key, **({"value": value} if value else {}), "effect": effect})
    return labels, taints


def daemonset(objects: list[dict[str, Any]], suffix: str) -> dict[str, Any]:
    [found] = [o for o in of_kind(objects, "DaemonSet") if o["metadata"]["name"].endswith(suffix)]
    return found["spec"]["template"]["spec"]


@pytest.mark.parametrize("taints", [None, [{"key": "example.com/gpu", "value": "l4", "effect": "NoSchedule"}]])
def test_mps_pool_gets_gfd_and_the_mps_daemon_on_its_nodes(taints: Any, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from mlplane.components.accelerators.spec import NVIDIA_CONFIG_LABEL

    pool = l4_pool("mps", **({"taints": taints} if taints else {}))
    plan = render_ok(tmp_path, write_stack(tmp_path, {"mlplane:cluster": {"kind": "selfhosted"},
                                                      "mlplane:accelerators": {"pools": [pool]}}), capsys)
    labels, node_taints = pool_node(plan, tmp_path)
    objects = device_plugin_objects(plan)
    # The device plugin, with the pool's MPS config picked by the node's label, runs there.
    assert schedules_on(daemonset(objects, "nvidia-device-plugin"), labels, node_taints)
    config = yaml.safe_load(plan.named("devices-nvidia").inputs["values"]["config"]["map"][labels[NVIDIA_CONFIG_LABEL]])
    assert config["sharing"]["mps"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    # GPU feature discovery runs there too (it sets nvidia.com/mps.capable from that config) ...
    gfd = daemonset(objects, "gpu-feature-discovery")
    assert schedules_on(gfd, labels, node_taints)
    assert {"name": "NODE_LABEL", "value": NVIDIA_CONFIG_LABEL} in gfd["initContainers"][0]["env"]
    # ... which the MPS control daemon needs: without the label it is scheduled nowhere.
    mps = daemonset(objects, "mps-control-daemon")
    assert mps["nodeSelector"] == {"nvidia.com/mps.capable": "true"}
    assert not schedules_on(mps, labels, node_taints)
    assert schedules_on(mps, {**labels, "nvidia.com/mps.capable": "true"}, node_taints)
    # GFD's labels reach the node through NFD: the standalone chart, running on the pool's
    # tainted nodes and accepting nvidia.com labels; the NVIDIA chart's subchart stays off.
    assert not [o for o in of_kind(objects, "DaemonSet") if "node-feature-discovery" in o["metadata"]["name"]]
    nfd = plan.named("devices-nfd").inputs
    nfd_objects = render_chart(f"node-feature-discovery-{nfd['version']}", nfd["values"], release="devices-nfd",
                               namespace="mlplane-devices")
    assert schedules_on(daemonset(nfd_objects, "worker"), labels, node_taints)
    [master] = [o for o in of_kind(nfd_objects, "Deployment") if "master" in o["metadata"]["name"]]
    assert "-extra-label-ns=nvidia.com" in master["spec"]["template"]["spec"]["containers"][0]["args"]


def test_without_standalone_nfd_the_subchart_carries_gfds_labels(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    accelerators = {"pools": [l4_pool("mps")], "node_feature_discovery": False}
    plan = render_ok(tmp_path, write_stack(tmp_path, {"mlplane:cluster": {"kind": "selfhosted"},
                                                      "mlplane:accelerators": accelerators}), capsys)
    labels, node_taints = pool_node(plan, tmp_path)
    objects = device_plugin_objects(plan)
    assert schedules_on(daemonset(objects, "gpu-feature-discovery"), labels, node_taints)
    assert schedules_on(daemonset(objects, "node-feature-discovery-worker"), labels, node_taints)


def test_time_slicing_needs_no_daemon_and_the_plugin_runs_on_the_pool(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    plan = render_ok(tmp_path, write_stack(tmp_path, {"mlplane:cluster": {"kind": "selfhosted"},
                                                      "mlplane:accelerators": {"pools": [l4_pool("time-slicing")]}}),
                     capsys)
    labels, node_taints = pool_node(plan, tmp_path)
    objects = device_plugin_objects(plan)
    assert schedules_on(daemonset(objects, "nvidia-device-plugin"), labels, node_taints)
    # The device plugin slices the GPU itself: no GFD, and the (always rendered) MPS
    # daemon finds no MPS node.
    assert not [o for o in of_kind(objects, "DaemonSet") if "feature-discovery" in o["metadata"]["name"]]
    assert not schedules_on(daemonset(objects, "mps-control-daemon"), labels, node_taints)


# --- 3. Resources the autoscaler cannot provision for ---------------------------------------

def container_limits(plan: Plan) -> list[tuple[str, str]]:
    """Every (resource URN, extended resource) that a container of the plan limits."""
    from mlplane.policy.rules.pods import containers

    found = []
    for resource in plan:
        for container in containers(resource.type, resource.inputs):
            for name in ((container.body.get("resources") or {}).get("limits") or {}):
                if name not in ("cpu", "memory", "ephemeral-storage"):
                    found.append((resource.urn, name))
    return found


def test_eks_time_sliced_pool_advertises_what_karpenter_provisions() -> None:
    from mlplane.components.accelerators.spec import KARPENTER_RESOURCES
    from mlplane.components.scheduling import AcceleratorRequest, place, pools_for

    from .conftest import load_stack

    config = load_stack("eks")
    placement = place(AcceleratorRequest(pool="l4"), pools_for(config), stack="eks")
    assert placement.resource_name == "nvidia.com/gpu"
    plan = rendered("eks")
    config_file = yaml.safe_load(plan.named("devices-nvidia").inputs["values"]["config"]["map"]["l4"])
    assert config_file["sharing"]["timeSlicing"]["renameByDefault"] is False
    # The NodePool's own limit and every container of the stack ask for resources Karpenter knows.
    [node_pool] = [r for r in plan if r.type.endswith(":NodePool") and r.inputs["metadata"]["name"] == "l4"]
    assert set(node_pool.inputs["spec"]["limits"]) <= KARPENTER_RESOURCES
    assert all(name in KARPENTER_RESOURCES for _, name in container_limits(plan))


def test_the_aks_shared_pool_scales_from_zero_on_nvidia_gpu() -> None:
    """AKS's cluster autoscaler builds a template node with nvidia.com/gpu only; the aks
    stack's time-sliced pool starts at zero nodes, so its slices keep that name."""
    from mlplane.components.scheduling import pools_for

    from .conftest import load_stack

    config = load_stack("aks")
    shared = [p for p in pools_for(config) if p.sharing != "none"]
    assert shared and all(p.resource_name == "nvidia.com/gpu" for p in shared)
    assert all(pool.min_nodes == 0 for pool in config.accelerators.pools if pool.sharing is not None)


def test_an_endpoint_on_the_eks_shared_pool_asks_for_nvidia_gpu(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    document = yaml.safe_load((Path(__file__).resolve().parent.parent / "Pulumi.eks.yaml").read_text())
    config = document["config"]
    config["mlplane:serving"] = {"endpoints": [{"name": "digits", "container": {"image": "busybox:1.36.1"},
                                                "accelerator": {"pool": "l4"}}]}
    plan = render_ok(tmp_path, write_stack(tmp_path, config), capsys)
    limits = [name for urn, name in container_limits(plan) if "digits" in urn]
    assert limits == ["nvidia.com/gpu"]


@pytest.mark.parametrize("backend,renamed", [("selfhosted", True), ("aks", False), ("eks", False), ("gke", False)])
def test_shared_resource_is_renamed_only_where_the_autoscaler_or_plugin_allows(backend: str, renamed: bool) -> None:
    from mlplane.components.accelerators.spec import PoolSpec, resource_name

    pool = PoolSpec(name="l4", vendor="nvidia", model="l4", accelerators_per_node=1,
                    sharing={"kind": "time-slicing", "replicas": 2})
    assert (resource_name(pool, backend) == "nvidia.com/gpu.shared") is renamed


# --- 7. Kubernetes' own defaulting: a limit without a request ------------------------------

from hypothesis import given, strategies as st  # noqa: E402


def kubernetes_defaulted(resources: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """What the API server stores for a container's resources (SetDefaults_Pod: each
    resource with a limit and no request gets the limit as its request)."""
    limits = dict(resources.get("limits") or {})
    requests = dict(resources.get("requests") or {})
    for name, value in limits.items():
        requests.setdefault(name, value)
    return {"requests": requests, "limits": limits}


QUANTITIES = st.sampled_from(["128Mi", "256Mi", "1Gi", "8Gi", "100m", "500m", "1", "4"])


@given(cpu_limit=st.one_of(st.none(), QUANTITIES), memory_limit=st.one_of(st.none(), QUANTITIES))
def test_a_limit_alone_becomes_the_request_as_kubernetes_would_make_it(cpu_limit: str | None,
                                                                       memory_limit: str | None) -> None:
    from mlplane.components.pod_security import ResourceOverrides

    given_only_limits = {"limits": {k: v for k, v in (("cpu", cpu_limit), ("memory", memory_limit)) if v}}
    rendered_resources = ResourceOverrides(cpu_limit=cpu_limit, memory_limit=memory_limit).resolve().to_k8s()
    # Whatever Kubernetes would default from the limits alone, mlplane renders the same.
    for part in ("requests", "limits"):
        for name, value in kubernetes_defaulted(given_only_limits)[part].items():
            assert rendered_resources[part][name] == value


def test_an_8gi_step_requests_8gi(record) -> None:
    from mlplane.components.pipeline.container_step import ContainerStep, ContainerStepArgs
    from mlplane.components.pipeline.spec import ContainerStepSpec, ResourceOverrides

    spec = ContainerStepSpec(name="big", image="busybox:1.36.1", resources=ResourceOverrides(memory_limit="8Gi"))
    plan = record(lambda: ContainerStep("big", ContainerStepArgs(pipeline="p", namespace="n", version="v", spec=spec)))
    [container] = plan.named("big-job").inputs["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"]["memory"] == "8Gi"
    assert container["resources"]["limits"]["memory"] == "8Gi"


def test_an_endpoint_with_a_cpu_limit_alone_requests_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlplane.policy.rules.pods import containers

    config = {"mlplane:cluster": {"kind": "local"},
              "mlplane:serving": {"endpoints": [{"name": "digits", "container": {"image": "busybox:1.36.1"},
                                                 "resources": {"cpu_limit": "250m"}}]}}
    plan = render_ok(tmp_path, write_stack(tmp_path, config), capsys)
    deployment = next(r for r in plan if r.type.endswith(":Deployment") and "digits" in r.name)
    [server] = [c.body for c in containers(deployment.type, deployment.inputs) if not c.init]
    assert server["resources"]["requests"]["cpu"] == server["resources"]["limits"]["cpu"] == "250m"


# --- 8. An existing mesh without our authorization provider ---------------------------------

def existing_mesh_stack(**oauth2_proxy: Any) -> dict[str, Any]:
    return {
        "mlplane:cluster": {"kind": "local"},
        "mlplane:kubeflow": {"release": "26.03", "components": {
            "istio": {"existing": True, "traffic_redirection": "cni"}, "pipelines": {"enabled": False}, "knative_serving": {"enabled": False},
            "kserve": {"deployment_mode": "raw"}}},
        "mlplane:auth": {"dex": {"users": [{"email": "a@example.com", "generate_password": True}]},
                         **({"oauth2_proxy": oauth2_proxy} if oauth2_proxy else {})},
    }


def test_existing_mesh_without_a_named_provider_is_refused_with_the_entry_to_add(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_refused(tmp_path, write_stack(tmp_path, existing_mesh_stack()), capsys)
    assert "mlplane:auth.oauth2_proxy.mesh_provider" in err
    assert "extensionProviders:" in err and "envoyExtAuthzHttp:" in err
    assert "service: oauth2-proxy.oauth2-proxy.svc.cluster.local" in err


def test_existing_mesh_policies_name_the_meshs_provider_and_preview_prints_its_entry(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_stack(tmp_path, existing_mesh_stack(mesh_provider="corp-login"))
    plan = render_ok(tmp_path, path, capsys)
    custom = [r for r in plan if r.type.endswith(":AuthorizationPolicy") and r.inputs["spec"].get("action") == "CUSTOM"]
    assert custom
    assert {r.inputs["spec"]["provider"]["name"] for r in custom} == {"corp-login"}
    assert not [r for r in plan if r.type.startswith("kubernetes:helm") and "istiod" in r.name]
    assert main(["preview", "--config-file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "existing Istio must carry this mesh config entry" in out
    after = out.split("(meshConfig), or every request through the gateway is denied:\n", 1)[1].splitlines()
    block = [line[2:] for line in after[:next(i for i, line in enumerate(after) if not line.startswith("  "))]]
    entry = yaml.safe_load("\n".join(block))
    assert entry["extensionProviders"][0]["name"] == "corp-login"


def test_installed_istio_registers_the_provider_its_policies_name(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = existing_mesh_stack(mesh_provider="corp-login")
    config["mlplane:kubeflow"]["components"]["istio"] = {}
    plan = render_ok(tmp_path, write_stack(tmp_path, config), capsys)
    [istiod] = [r for r in plan if r.name == "platform-istio-istiod"]
    registered = {p["name"] for p in istiod.inputs["values"]["meshConfig"]["extensionProviders"]}
    named = {r.inputs["spec"]["provider"]["name"] for r in plan
             if r.type.endswith(":AuthorizationPolicy") and r.inputs["spec"].get("action") == "CUSTOM"}
    assert named == registered == {"corp-login"}


# --- 4. Names upstream controllers derive from ours -----------------------------------------

def dev_config() -> dict[str, Any]:
    return yaml.safe_load((Path(__file__).resolve().parent.parent / "Pulumi.dev.yaml").read_text())["config"]


PROFILE = "kubeflow-user-example-com"  # 25 characters, the dev stack's profile


@pytest.mark.parametrize("length,refused", [(27, False), (28, True)])
def test_kserve_raw_host_label_counts_the_namespace(length: int, refused: bool, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    name = ("digits-" + "x" * 40)[:length]
    config = dev_config()  # KServe in raw mode
    config["mlplane:serving"] = {"endpoints": [{"name": name, "namespace": PROFILE,
                                                "container": {"image": "busybox:1.36.1"}}]}
    path = write_stack(tmp_path, config)
    if not refused:
        render_ok(tmp_path, path, capsys)
        return
    err = render_refused(tmp_path, path, capsys)
    derived = f"{name}-predictor-{PROFILE}"
    assert len(derived) == 64
    assert "mlplane:serving.endpoints[0].name" in err
    assert f"{derived!r}, 64 characters" in err and f"endpoint {name!r}" in err


def test_a_pipelines_serve_step_is_checked_in_its_pipelines_namespace(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = dev_config()
    config["mlplane:pipelines"][0]["namespace"] = PROFILE
    config["mlplane:pipelines"][0]["name"] = "mnist-with-a-rather-long-name"  # the endpoint is named after it
    err = render_refused(tmp_path, write_stack(tmp_path, config), capsys)
    assert "mnist-with-a-rather-long-name-predictor-kubeflow-user-example-com" in err
    assert "step 'serve'" in err


@pytest.mark.parametrize("backend,derived", [
    ("kserve-serverless", ["a-predictor"]),
    ("kserve-raw", ["a-predictor", "a-predictor-team-a", "a-team-a"]),
    ("deployment", ["a"]),
])
def test_derived_names_per_backend(backend: str, derived: list[str]) -> None:
    from mlplane.components.serving.checks import derived_names

    assert [name for _, name in derived_names("a", "team-a", backend)] == derived


def test_hand_built_endpoint_args_are_checked_too() -> None:
    from mlplane.components.serving.args import ServingEndpointArgs

    with pytest.raises(ValueError, match="63"):
        ServingEndpointArgs(namespace="n" * 30, service_name="m" * 30, backend="kserve-raw",
                            container={"image": "busybox:1.36.1"})


# --- 5. The same rule, whichever way a thing is declared ------------------------------------

VOLUME_STEP = '''
from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec, VolumeStepSpec
from mlplane.pipelines.native import pipeline


@pipeline
def with_volume(ctx, size="5Gi", mode="ReadWriteOnce", storage_class="") -> PipelineSpec:
    return PipelineSpec(name=ctx.pipeline, steps=(
        VolumeStepSpec(name="scratch", resource_name="scratch", size=size, modes=(mode,),
                       storage_class=storage_class or None),
    ))
'''

VOLUME_OP = '''
from kfp import dsl


@dsl.pipeline(name="vop")
def vop(size="5Gi"):
    dsl.VolumeOp(name="scratch", resource_name="scratch", size="{size}", modes=["{mode}"]{klass})
'''

BAD_CLAIMS = [
    ({"size": "5Gi", "mode": "ReadWriteMany"}, "access_modes: only NFS classes can be mounted read-write by many nodes"),
    ({"size": "5Gi", "mode": "ReadWriteOnce", "storage_class": "fast"}, "storage_class: not a class of mlplane:storage.classes"),
    ({"size": "0", "mode": "ReadWriteOnce"}, "size: must be a positive size"),
]


def storage_stack(pipeline: dict[str, Any]) -> dict[str, Any]:
    return {"mlplane:cluster": {"kind": "local"},
            "mlplane:storage": {"classes": [{"name": "local", "kind": "local-path", "default": True}]},
            "mlplane:pipelines": [pipeline]}


@pytest.mark.parametrize("params,expected", BAD_CLAIMS)
def test_a_stack_volume_a_volume_step_and_a_volumeop_obey_the_same_rules(
        params: dict[str, str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The stack's own volume.
    volume = {"name": "scratch", "size": params["size"], "access_modes": [params["mode"]],
              "storage_class": params.get("storage_class", "local")}
    config = {"mlplane:cluster": {"kind": "local"},
              "mlplane:storage": {"classes": [{"name": "local", "kind": "local-path", "default": True}],
                                  "volumes": [volume]}}
    assert expected in render_refused(tmp_path / "stack", write_stack(tmp_path / "stack", config), capsys)
    # A native pipeline's volume step.
    native = storage_stack({"name": "p", "source": "with_volume.py:with_volume", "params": params})
    err = render_refused(tmp_path / "native", write_stack(tmp_path / "native", native,
                                                          {"with_volume.py": VOLUME_STEP}), capsys)
    assert "step 'scratch'" in err and expected in err
    # A KFP v1 VolumeOp, unchanged.
    klass = f", storage_class='{params['storage_class']}'" if "storage_class" in params else ""
    source = VOLUME_OP.format(size=params["size"], mode=params["mode"], klass=klass)
    kfp = storage_stack({"name": "p", "kind": "kfp-v1", "source": "vop.py:vop"})
    err = render_refused(tmp_path / "kfp", write_stack(tmp_path / "kfp", kfp, {"vop.py": source}), capsys)
    assert expected in err


def test_volume_steps_follow_the_stacks_protection_switch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlplane.components.storage.rules import claim_protected

    for protect in (True, False):
        config = storage_stack({"name": "p", "source": "with_volume.py:with_volume"})
        config["mlplane:storage"]["protect"] = protect
        volumes = [{"name": "data", "size": "1Gi", "storage_class": "local"}]
        config["mlplane:storage"]["volumes"] = volumes
        plan = render_ok(tmp_path / str(protect), write_stack(tmp_path / str(protect), config,
                                                               {"with_volume.py": VOLUME_STEP}), capsys)
        claims = [r for r in plan if r.type == "kubernetes:core/v1:PersistentVolumeClaim"]
        assert len(claims) == 2
        assert {(c.protect, c.retain_on_delete) for c in claims} == {(protect, protect)}
        assert claim_protected(None, protect) is protect


def two_pipelines(host_a: str, host_b: str) -> dict[str, Any]:
    config = dev_config()
    mnist = config["mlplane:pipelines"][0]
    config["mlplane:pipelines"] = [
        {**mnist, "params": {**mnist["params"], "serve_host": host_a, "ui_host": "a-ui.localtest.me"}},
        {**mnist, "name": "digits", "params": {**mnist["params"], "serve_host": host_b, "ui_host": "b-ui.localtest.me"}},
    ]
    return config


def test_a_host_in_two_pipelines_is_refused_naming_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_refused(tmp_path, write_stack(tmp_path, two_pipelines("same.localtest.me", "same.localtest.me")),
                         capsys)
    assert "pipeline 'digits', step 'serve': endpoint.host: host already used by pipeline 'mnist', step 'serve'" in err


def test_a_host_in_a_pipeline_and_in_serving_is_refused_naming_both(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = two_pipelines("a.localtest.me", "b.localtest.me")
    config["mlplane:serving"] = {"web_apps": [{"name": "other", "image": "busybox:1.36.1", "port": 8080,
                                               "host": "b.localtest.me"}]}
    err = render_refused(tmp_path, write_stack(tmp_path, config), capsys)
    assert "host already used by mlplane:serving.web_apps[0].host" in err and "pipeline 'digits'" in err


def test_distinct_hosts_in_two_pipelines_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    render_ok(tmp_path, write_stack(tmp_path, two_pipelines("a.localtest.me", "b.localtest.me")), capsys)


# --- 6. Changes Kubernetes will refuse at apply time ----------------------------------------

from mlplane.infra.offline.diff import diff_plans  # noqa: E402

from .plans import k8s, plan, pvc, storage_class  # noqa: E402


@pytest.mark.parametrize("classes,op", [
    ((storage_class(expandable=True),), "update"),
    ((storage_class(expandable=False),), "replace"),
    ((), "replace"),  # a class the plan does not declare cannot be shown to allow expansion
])
def test_growing_a_claim_is_an_update_only_where_its_class_allows_expansion(classes: tuple[Any, ...],
                                                                            op: str) -> None:
    change = diff_plans(plan(pvc(), *classes), plan(pvc(size="20Gi"), *classes)).find("data")
    assert change.op == op
    assert change.danger is (op == "replace")
    if op == "replace":
        assert "allows expansion" in change.reason


def test_a_class_that_stops_allowing_expansion_blocks_growth() -> None:
    old = plan(pvc(), storage_class(expandable=False))
    new = plan(pvc(size="20Gi"), storage_class(expandable=True))
    assert diff_plans(old, new).find("data").op == "replace"


def isvc(mode: str) -> Any:
    return k8s("kubernetes:serving.kserve.io/v1beta1:InferenceService", "digits", {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "digits", "namespace": "ml", "annotations": {"serving.kserve.io/deploymentMode": mode}},
        "spec": {"predictor": {"minReplicas": 1}},
    })


def test_switching_kserves_deployment_mode_is_a_replacement() -> None:
    change = diff_plans(plan(isvc("Serverless")), plan(isvc("RawDeployment"))).find("digits")
    assert change.op == "replace"
    assert diff_plans(plan(isvc("Serverless")), plan(isvc("Serverless"))).find("digits") is None


def test_growing_a_volume_on_each_stack_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rendered classes carry allowVolumeExpansion, and the diff reads it: the dev stack's
    local-path volume cannot grow in place, the eks stack's EBS volume can."""
    for stack, volume, expected in (("dev", "datasets", "replace"), ("eks", "datasets", "update")):
        document = yaml.safe_load((Path(__file__).resolve().parent.parent / f"Pulumi.{stack}.yaml").read_text())
        config = document["config"]
        [entry] = [v for v in config["mlplane:storage"]["volumes"] if v["name"] == volume]
        entry["size"] = "1000Gi"
        grown = render_ok(tmp_path / stack, write_stack(tmp_path / stack, config, stack=stack), capsys)
        changes = [c for c in diff_plans(rendered(stack), grown).changes if c.type.endswith("PersistentVolumeClaim")]
        assert [c.op for c in changes] == [expected], stack


DISTRIBUTED = '''
from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec
from mlplane.pipelines.native import pipeline


@pipeline
def fit(ctx, workers=4) -> PipelineSpec:
    return PipelineSpec(name=ctx.pipeline, steps=(
        ContainerStepSpec(name="fit", image="busybox:1.36.1", command=("true",), workers=int(workers)),
    ))
'''


@pytest.mark.parametrize("pipeline_name,workers,refused", [
    ("p" * 49, 12, False),   # p...p-fit-worker-10: 63 characters
    ("p" * 50, 12, True),    # 64
    ("p" * 50, 2, False),    # p...p-fit-worker-0: 63
])
def test_pytorchjob_replica_service_names_fit(pipeline_name: str, workers: int, refused: bool, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = mesh_stack("1.8.1")
    config["mlplane:pipelines"] = [{"name": pipeline_name, "source": "fit.py:fit", "namespace": "team-a",
                                    "params": {"workers": workers}}]
    path = write_stack(tmp_path, config, {"fit.py": DISTRIBUTED})
    if not refused:
        render_ok(tmp_path, path, capsys)
        return
    err = render_refused(tmp_path, path, capsys)
    assert f"'{pipeline_name}-fit-worker-10', 64 characters" in err


def test_pytorchjob_names_start_with_a_letter() -> None:
    from mlplane.components.pipeline.training_step import training_name_problems

    assert training_name_problems("7up-fit", 2, "pytorchjob") == [
        "the PyTorchJob name '7up-fit' must start with a letter (a DNS-1035 label)"]
    assert training_name_problems("seven-up-fit", 2, "trainjob") == []
    # JobSet's webhook: the longest pod name <jobset>-node-0-<pod index>-abcde is a DNS-1035 label.
    name = "t" * 44  # 44 + len("-node-0-1-abcde") = 59
    assert training_name_problems(name, 2, "trainjob") == []
    assert training_name_problems(name + "x" * 5, 2, "trainjob") == [
        f"JobSet would name a trainer pod like '{name}xxxxx-node-0-1-abcde', 64 characters; Kubernetes allows 63"]
    assert training_name_problems("7up-fit", 2, "trainjob") == [
        "the TrainJob name '7up-fit' must start with a letter (JobSet requires DNS-1035 labels)"]


def test_a_run_time_workflows_pods_run_without_a_sidecar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Applied directly, a Workflow misses the opt-out KFP's API server adds to every template."""
    from .test_pipelines_stack import _flow_stack

    plan = render_ok(tmp_path, _flow_stack(tmp_path), capsys)
    [workflow] = [r for r in plan if r.type == "kubernetes:argoproj.io/v1alpha1:Workflow"]
    templates = pod_templates(workflow)
    assert [t for t in templates if "container" in t]  # pods to check
    for template in templates:
        assert template["metadata"]["labels"][INJECT] == "false", template["name"]
        assert template["metadata"]["annotations"][INJECT] == "false", template["name"]


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
def test_argo_executor_of_each_train_is_pinned_and_unsized(release: str) -> None:
    """Why each workflow template patches Argo's executor containers (components/pipeline/
    workflow_step.py, executor_patch): the Kubeflow Pipelines install of both trains gives
    them no requests and limits, and 1.8.1's no security context; its image is pinned."""
    from mlplane.components.pod_security import image_problem

    from .upstream import argo_controller_config, argo_objects, needs_upstream

    if needs_upstream.args[0]:
        pytest.skip(needs_upstream.kwargs["reason"])
    objects = argo_objects(release)
    config = argo_controller_config(objects)
    executor = yaml.safe_load(config["data"]["executor"])
    assert "resources" not in executor
    context = executor.get("securityContext") or {}
    if release == "1.8.1":
        assert context == {}
    else:
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    [controller] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "workflow-controller"]
    args = controller["spec"]["template"]["spec"]["containers"][0]["args"]
    image = args[args.index("--executor-image") + 1]
    assert image_problem(image) is None, image


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
def test_which_executor_containers_a_resource_templates_pod_has(release: str) -> None:
    """Why a resource template's podSpecPatch names init and main on 1.8.1 and init, wait and
    main on 26.03 (components/pipeline/workflow_step.py, RESOURCE_EXECUTOR_CONTAINERS): Argo
    v3.3.10 adds ``init`` with the emissary executor, which 1.8.1 configures, and never
    ``wait``; v3.7.3 adds ``wait`` when the artifact repository archives logs, which 26.03's
    controller default and the per-namespace repository its profile controller writes both do
    (argoproj/argo-workflows workflow/controller/workflowpod.go ``createWorkflowPod``)."""
    from mlplane.components.pipeline.workflow_step import RESOURCE_EXECUTOR_CONTAINERS
    from mlplane.infra.offline.expand.kustomize import build_directory

    from .upstream import SHARED_UPSTREAM, needs_upstream

    if needs_upstream.args[0]:
        pytest.skip(needs_upstream.kwargs["reason"])
    tree = {"1.8.1": "v1.8.1/apps", "26.03": "26.03/applications"}[release]
    pipeline = SHARED_UPSTREAM / "kubeflow-manifests" / tree / "pipeline/upstream"
    objects = build_directory(pipeline / "third-party/argo/base", [SHARED_UPSTREAM])
    [config] = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "workflow-controller-configmap"]
    archive_logs = yaml.safe_load(config["data"]["artifactRepository"]).get("archiveLogs") is True
    names = [name for _, name in RESOURCE_EXECUTOR_CONTAINERS[release]]
    if release == "1.8.1":
        assert config["data"]["containerRuntimeExecutor"] == "emissary"  # v3.3.10: init only with it
        assert names == ["init", "main"]
    else:
        # v3.7.3 resolves the namespace's default repository first: the profile controller's.
        sync = (pipeline / "base/installs/multi-user/pipelines-profile-controller/sync.py").read_text()
        assert '"archiveLogs": True' in sync and "workflows.argoproj.io/default-artifact-repository" in sync
        assert archive_logs and names == ["init", "wait", "main"]
