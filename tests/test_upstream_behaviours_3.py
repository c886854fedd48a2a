"""What works on paper must work on a cluster, round 3 (issue 25): certificates, volumes, names,
meshes and storage a team already has. docs/upstream-behaviours.md, sections 10 and later,
says what each test guarantees and against which upstream source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.infra.cli import main
from mlplane.infra.offline.kinds import crd_scopes
from mlplane.infra.offline.manifests import manifest_files, manifest_path
from mlplane.infra.offline.plan import Plan, PlanResource, load_plan

from .test_upstream_behaviours import render_refused, write_stack
from .upstream import sources_folder


def render_expanded_ok(tmp_path: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> Plan:
    """``mlplane render --sources`` of a stack file (the pinned upstream sources), which must succeed."""
    code = main(["render", "--config-file", str(path), "--sources", str(sources_folder()),
                 "--out", str(tmp_path / "ok")])
    assert code == 0, capsys.readouterr().err
    return load_plan(tmp_path / "ok")


def selfhosted(**sections: Any) -> dict[str, Any]:
    """A self-hosted stack's config with the given ``mlplane:<section>`` entries."""
    return {"mlplane:cluster": {"kind": "selfhosted", "context": "c"},
            **{f"mlplane:{key}": value for key, value in sections.items()}}


def kfp_file(name: str, body: str, *, runtime: bool = True, imports: str = "dsl") -> str:
    """A KFP v1 file: a step 'flip' writing an output, then ``body`` (statements, one a line),
    under a run-time condition on that output when ``runtime`` (the pipeline then runs on the
    workflow engine, as an Argo Workflow, instead of as Jobs)."""
    lines = body.strip("\n").split("\n")
    if runtime:
        lines = ["with dsl.Condition(flip.output == 'go'):", *("    " + line for line in lines)]
    return (f"from kfp import {imports}\n\n\n@dsl.pipeline(name='{name}')\ndef pipeline():\n"
            "    flip = dsl.ContainerOp(name='flip', image='busybox:1.36.1', command=['sh', '-c', 'echo go > /o'],\n"
            "                           file_outputs={'o': '/o'})\n" + "".join(f"    {line}\n" for line in lines))


def platform(**kubeflow: Any) -> dict[str, Any]:
    """A small platform (pipelines on, the heavy optional parts off) with one static user and an
    in-cluster artifact store: the sections to merge into a stack's config."""
    return {
        "mlplane:storage": {"classes": [{"name": "local", "kind": "local-path"}],
                            "artifacts": {"kind": "in-cluster", "storage_class": "local", "size": "5Gi"}},
        "mlplane:kubeflow": {"release": "26.03", "components": {
            "knative_serving": {"enabled": False}, "kserve": {"deployment_mode": "raw"}, "katib": {"enabled": False},
            "training": {"enabled": False}, "tensorboards": {"enabled": False},
            "model_registry": {"enabled": False}}, **kubeflow},
        "mlplane:auth": {"dex": {"users": [{"email": "a@example.com", "generate_password": True}]}},
    }


# --- Cluster-scoped custom resources from expanded charts ----------------------------------

GPU_OPERATOR = {"nvidia": {"install": "gpu-operator"},
                "pools": [{"name": "a100", "vendor": "nvidia", "model": "a100-80gb", "accelerators_per_node": 8,
                           "nodes": {"names": ["gpu-1"]}}]}


def namespace_of(resource: PlanResource) -> str | None:
    return (resource.inputs.get("metadata") or {}).get("namespace")


def test_the_gpu_operators_cluster_policy_renders_cluster_scoped(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    plan = render_expanded_ok(tmp_path, write_stack(tmp_path, selfhosted(accelerators=GPU_OPERATOR)), capsys)
    crds = [r.inputs for r in plan if r.type.endswith(":CustomResourceDefinition")]
    # The chart's own CRD says so (gpu-operator's crds/nvidia.com_clusterpolicies.yaml).
    assert crd_scopes(crds)[("nvidia.com", "ClusterPolicy")] is False
    [policy] = [r for r in plan if r.type == "kubernetes:nvidia.com/v1:ClusterPolicy"]
    assert namespace_of(policy) is None
    assert (tmp_path / "ok" / "manifests" / "_cluster" / "ClusterPolicy-cluster-policy.yaml").is_file()


def test_every_expanded_custom_resource_is_placed_as_its_crd_says(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The others of the kind: every custom resource of every expanded chart and directory of a
    stack with every component on, both trains (26.03 here; 1.8.1 in test_expansion), placed by its CRD."""
    config = yaml.safe_load((Path(__file__).parent.parent / "Pulumi.onprem.yaml").read_text())["config"]
    config["mlplane:accelerators"]["nvidia"] = {"install": "gpu-operator"}
    plan = render_expanded_ok(tmp_path, write_stack(tmp_path, config), capsys)
    scopes = crd_scopes(r.inputs for r in plan if r.type.endswith(":CustomResourceDefinition"))
    cluster_kinds = {kind for (_, kind), namespaced in scopes.items() if not namespaced}
    assert "ClusterPolicy" in cluster_kinds
    checked = 0
    for resource in plan:
        group = str(resource.inputs.get("apiVersion", "")).rpartition("/")[0]
        key = (group, str(resource.inputs.get("kind", "")))
        if resource.is_kubernetes_object and key in scopes:
            checked += 1
            # A namespaced one got the directory's namespace (pulumi-kubernetes' Normalize); a
            # cluster-scoped one may keep a namespace kustomize set (metacontroller's
            # DecoratorController), which the API server clears, so only its placement counts.
            place = manifest_path(resource, scopes).split("/")[0]
            assert (place != "_cluster") == scopes[key], resource.urn
            if scopes[key]:
                assert place == namespace_of(resource)
    assert checked > 50
    files = manifest_files(plan)
    assert any(path.startswith("_cluster/ClusterPolicy-") for path in files)


def test_an_incomplete_manifest_is_unexpected_not_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """mlplane places every object itself: a manifest it cannot place is its own fault (exit 3)."""
    from mlplane.infra.offline import manifests

    def broken(resource: PlanResource, scopes: Any = None) -> str:
        raise manifests.ManifestError(f"{resource.urn}: namespaced X 'x' has no metadata.namespace")

    monkeypatch.setattr(manifests, "manifest_path", broken)
    path = write_stack(tmp_path, selfhosted())
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "never")]) == 3
    assert not (tmp_path / "never").exists()
    assert "not a problem with your input" in capsys.readouterr().err


# --- Renames that break references -----------------------------------------------------------

POOL = "mlplane.dev/accelerator-pool"
#: A KFP v1 step selecting a pool by mlplane's pool label.
GPU_STEP = ("op = dsl.ContainerOp(name='train', image='busybox:1.36.1', command=['true']).set_gpu_limit(1)\n"
            "op.add_node_selector_constraint('{label}', '{value}').after(flip)")


def renamed_pool_stack(tmp_path: Path, value: str, runtime: bool, *, labelled: bool = False,
                       gpu: bool = True) -> Path:
    step = GPU_STEP.format(label=POOL, value=value)
    if not gpu:
        step = step.replace(".set_gpu_limit(1)", "")
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "gpu.py").write_text(kfp_file("gpu", step, runtime=runtime))
    nodes = {"labels": {"example.com/gpu": "a100"}} if labelled else {"names": ["gpu-1"]}
    pool = {"name": "a100-new", "formerly": ["a100"], "vendor": "nvidia", "model": "a100-80gb",
            "accelerators_per_node": 8, "nodes": nodes}
    config = selfhosted(accelerators={"pools": [pool]},
                        pipelines=[{"name": "gpu", "kind": "kfp-v1", "source": "gpu.py:pipeline",
                                    "namespace": "team-a"}])
    if runtime:
        config.update(platform(profiles=[{"name": "team-a", "owner": "a@example.com"}]))
    return write_stack(tmp_path, config)


def train_pod_selectors(plan: Plan) -> list[dict[str, str]]:
    """The node selectors of the step 'train', as a Job's pod or a Workflow template."""
    found = []
    for resource in plan:
        if resource.type == "kubernetes:batch/v1:Job" and resource.name.endswith("-train-job"):
            found.append(resource.inputs["spec"]["template"]["spec"].get("nodeSelector", {}))
        if resource.type == "kubernetes:argoproj.io/v1alpha1:Workflow":
            found += [t.get("nodeSelector", {}) for t in resource.inputs["spec"]["templates"] if t["name"] == "train"]
    return found


@pytest.mark.parametrize("runtime", [False, True], ids=["jobs", "workflow"])
@pytest.mark.parametrize("value", ["a100-new", "a100"], ids=["new-name", "old-name"])
def test_a_kfp_step_selecting_a_renamed_pool_by_either_name_lands_on_its_nodes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, runtime: bool) -> None:
    from .test_upstream_behaviours import render_ok

    plan = render_ok(tmp_path, renamed_pool_stack(tmp_path, value, runtime), capsys)
    # The nodes carry the pool's first name (the node pool is never replaced by a rename).
    assert train_pod_selectors(plan) == [{POOL: "a100"}]


@pytest.mark.parametrize("runtime", [False, True], ids=["jobs", "workflow"])
def test_a_pool_of_labelled_nodes_selected_by_the_pool_label_gets_the_pools_labels(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], runtime: bool) -> None:
    """The others of the kind: mlplane does not label existing nodes chosen by labels, so the pool
    label would match nothing; the pool's own selector replaces it."""
    from .test_upstream_behaviours import render_ok

    plan = render_ok(tmp_path, renamed_pool_stack(tmp_path, "a100-new", runtime, labelled=True), capsys)
    assert train_pod_selectors(plan) == [{"example.com/gpu": "a100"}]


@pytest.mark.parametrize("runtime", [False, True], ids=["jobs", "workflow"])
def test_a_cpu_step_selecting_a_pool_label_no_node_carries_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], runtime: bool) -> None:
    err = render_refused(tmp_path, renamed_pool_stack(tmp_path, "a100-new", runtime, gpu=False), capsys)
    assert "step 'train': selects mlplane.dev/accelerator-pool=a100-new, which no node carries: its nodes carry " \
           "mlplane.dev/accelerator-pool=a100" in err, err
    assert "accelerator: {pool: a100-new}" in err
    # The old name is what the nodes carry: a CPU step selecting it is left as written.
    from .test_upstream_behaviours import render_ok

    plan = render_ok(tmp_path / "old", renamed_pool_stack(tmp_path / "old", "a100", runtime, gpu=False), capsys)
    assert train_pod_selectors(plan) == [{POOL: "a100"}]


# --- Upstream admission limits on generated names ------------------------------------------

NAMES_PIPELINES = '''
from mlplane.components.pipeline.experiment_spec import ExperimentStepSpec, Objective, SearchParameter, TrialSpec
from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec
from mlplane.pipelines.native import pipeline


@pipeline
def search(ctx, step="tune") -> PipelineSpec:
    return PipelineSpec(name=ctx.pipeline, steps=(ExperimentStepSpec(
        name=step, objective=Objective(type="maximize", metric="accuracy"), algorithm="bayesianoptimization",
        parameters=(SearchParameter(name="lr", type="double", min=0.001, max=0.1),),
        trial=TrialSpec(image="trainer:1.2.0", command=("python", "t.py"), args=("--lr", "${trialParameters.lr}")),
        max_trials=4, parallel_trials=2),))


@pipeline
def train(ctx, step="train") -> PipelineSpec:
    return PipelineSpec(name=ctx.pipeline, steps=(ContainerStepSpec(
        name=step, image="trainer:1.2.0", command=("python", "t.py"), workers=4),))
'''
NAMES_KFP = kfp_file("flow", "dsl.ContainerOp(name='after', image='busybox:1.36.1', command=['true'])")


def names_config(release: str, names: dict[str, str]) -> dict[str, Any]:
    """A stack on ``release`` with one object of every kind of NAME_RULES, named from ``names``."""
    profile = names.get("profile", "team")
    config = selfhosted(pipelines=[
        {"name": names.get("search", "hpo"), "source": "names_pipelines.py:search", "namespace": profile,
         "params": {"step": names.get("search_step", "tune")}},
        {"name": names.get("train", "dist"), "source": "names_pipelines.py:train", "namespace": profile,
         "params": {"step": names.get("train_step", "train")}},
        {"name": names.get("workflow", "flow"), "kind": "kfp-v1", "source": "names_kfp.py:pipeline",
         "namespace": profile}])
    config.update(platform(profiles=[{"name": profile, "owner": "a@example.com"}]))
    config["mlplane:kubeflow"]["release"] = release
    components = config["mlplane:kubeflow"]["components"]
    components.update({"katib": {"enabled": True}, "training": {"enabled": True}, "tensorboards": {"enabled": True}})
    config["mlplane:workbenches"] = {
        "notebooks": [{"name": names.get("notebook", "lab"), "profile": profile, "kind": "jupyter",
                       "workspace": {"size": "1Gi", "storage_class": "local"}}],
        "tensorboards": [{"name": names.get("tensorboard", "board"), "profile": profile,
                          "notebook": names.get("notebook", "lab")}]}
    config["mlplane:serving"] = {"endpoints": [{
        "name": names.get("endpoint", "scorer"), "namespace": profile,
        "container": {"image": "ghcr.io/acme/scorer:1.4.2", "port": 8080},
        "resources": {"cpu_request": "1", "memory_limit": "1Gi"}}]}
    return config


def write_names_stack(folder: Path, release: str, names: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "names_pipelines.py").write_text(NAMES_PIPELINES)
    (folder / "names_kfp.py").write_text(NAMES_KFP)
    return write_stack(folder, names_config(release, names))


def loads(path: Path) -> bool:
    from mlplane.infra.load import load_stack_file  # pipeline checks included
    from mlplane.core.errors import InputError

    try:
        load_stack_file(path, stack="t", display=path.name)
    except InputError:
        return False
    return True


def longest_accepted(folder: Path, release: str, field: str) -> str:
    """The longest name (a letter, then letters) the stack config accepts for ``field`` (binary search)."""
    low, high = 1, 63
    while low < high:
        middle = (low + high + 1) // 2
        name = "a" * middle
        if loads(write_names_stack(folder / f"{field}-{middle}", release, {field: name})):
            low = middle
        else:
            high = middle - 1
    return "a" * low


def rule_context(body: dict[str, Any]) -> dict[str, str]:
    """The values of a rule's derived templates besides the name, read from the object."""
    spec = body.get("spec") or {}
    if body["kind"] == "Experiment":
        return {"algorithm": spec["algorithm"]["algorithmName"]}
    if body["kind"] == "PyTorchJob":
        workers = (spec["pytorchReplicaSpecs"].get("Worker") or {}).get("replicas", 1)
        return {"last_worker": str(workers - 1)}
    if body["kind"] == "TrainJob":
        return {"last_worker": str(spec["trainer"]["numNodes"] - 1)}
    return {}


FIELDS = ("search", "search_step", "train", "workflow", "profile", "notebook", "tensorboard", "endpoint")


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
def test_the_longest_names_the_config_allows_pass_every_upstream_admission_rule(
        release: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlplane.components.upstream_names import NAME_RULES, name_problems, rules_for

    from .test_upstream_behaviours import render_ok

    judged: dict[str, int] = {}
    problems = []
    longest = {}
    for field in FIELDS:
        name = longest[field] = longest_accepted(tmp_path / "search", release, field)
        plan = render_ok(tmp_path / field, write_names_stack(tmp_path / field, release, {field: name}), capsys)
        for resource in plan:
            body = resource.inputs
            rule = rules_for(str(body.get("apiVersion")), str(body.get("kind")), release) \
                if resource.is_kubernetes_object else None
            if rule is None:
                continue
            judged[rule.kind] = judged.get(rule.kind, 0) + 1
            problems += [f"{field}={len(name)}: {p}" for p in name_problems(rule, body["metadata"]["name"],
                                                                              **rule_context(body))]
    assert problems == []
    # Every kind of the train's table was judged, on names as long as the config allows.
    assert set(judged) == {rule.kind for rule in NAME_RULES if rule.train == release}
    assert len(longest["notebook"]) == 52 and len(longest["tensorboard"]) == 58


@pytest.mark.parametrize("field", ["notebook", "tensorboard", "search"])
def test_names_upstream_would_refuse_for_their_first_character_are_refused_at_load(field: str,
                                                                                     tmp_path: Path) -> None:
    assert not loads(write_names_stack(tmp_path, "26.03", {field: "1" + "a" * 8}))


def test_katibs_40_characters_on_2603_are_met_by_fitting_the_experiment_name() -> None:
    from mlplane.components.pipeline.experiment_step import experiment_name

    long = experiment_name("p" * 30, "search-step-" + "s" * 20, "random", "26.03")
    assert len(long) <= 40 and long.startswith("p" * 30)
    assert experiment_name("hpo", "tune", "random", "26.03") == "hpo-tune"  # short names unchanged
    # 1.8.1's Katib has no length rule, but derives <name>-bayesianoptimization (a Service): 42.
    assert 40 < len(experiment_name("p" * 63, "s", "bayesianoptimization", "1.8.1")) <= 42


# --- An existing Istio without its CNI -------------------------------------------------------

def existing_istio(**istio: Any) -> dict[str, Any]:
    config = selfhosted()
    config.update(platform())
    config["mlplane:kubeflow"]["components"].update(
        {"istio": {"existing": True, **istio}, "pipelines": {"enabled": False}})
    config["mlplane:auth"]["oauth2_proxy"] = {"mesh_provider": "oauth2-proxy"}
    return config


def test_an_existing_istio_without_a_stated_redirection_is_refused_with_the_ways_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_refused(tmp_path, write_stack(tmp_path, existing_istio()), capsys)
    assert "mlplane:kubeflow.components.istio.traffic_redirection: the cluster's own Istio must run Istio CNI or " \
           "ambient mode" in err, err
    assert "traffic_redirection: cni" in err and "existing: false" in err and "Pulumi.t.yaml" in err


@pytest.mark.parametrize("mode", ["cni", "ambient"])
def test_a_stated_redirection_renders_keeps_pod_security_and_preview_prints_the_check(
        mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .test_upstream_behaviours import render_ok

    path = write_stack(tmp_path, existing_istio(traffic_redirection=mode))
    plan = render_ok(tmp_path, path, capsys)
    levels = {r.inputs["metadata"]["name"]: r.inputs["metadata"].get("labels", {})
              .get("pod-security.kubernetes.io/enforce") for r in plan
              if r.type == "kubernetes:core/v1:Namespace"}
    assert levels and "privileged" not in levels.values(), levels  # never lowered for the mesh
    assert main(["preview", "--config-file", str(path), "--against", str(tmp_path / "ok" / "plan.json")]) == 0
    out = capsys.readouterr().out
    assert "istio-cni-node" in out and ("ztunnel" in out) == (mode == "ambient")


def test_traffic_redirection_without_an_existing_istio_is_refused(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = existing_istio(traffic_redirection="cni")
    config["mlplane:kubeflow"]["components"]["istio"] = {"traffic_redirection": "cni"}
    err = render_refused(tmp_path, write_stack(tmp_path, config), capsys)
    assert "istio.traffic_redirection: states how an existing mesh redirects traffic" in err


@pytest.mark.parametrize("chart", ["istiod-1.17.3", "istiod-1.29.0"])
@pytest.mark.parametrize("cni", [True, False])
def test_the_cni_check_reads_istiods_injector_values(chart: str, cni: bool, tmp_path: Path) -> None:
    """The prerequisite's check, run over the ConfigMap istiod renders with the CNI on and off."""
    import subprocess

    from mlplane.infra.prerequisites import _CNI_CHECK

    from .upstream import render_chart

    values = {"istio_cni": {"enabled": cni}} if chart.endswith("1.17.3") else {"pilot": {"cni": {"enabled": cni}}}
    objects = render_chart(chart, values, release="istiod", namespace="istio-system")
    [injector] = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "istio-sidecar-injector"]
    (tmp_path / "values.json").write_text(injector["data"]["values"])
    # kubectl stands in as a script printing what the cluster would answer.
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!/bin/sh\ncase \"$*\" in *daemonset*) echo daemonset.apps/istio-cni-node;; "
                       f"*configmap*) cat {tmp_path / 'values.json'};; esac\n")
    kubectl.chmod(0o755)
    result = subprocess.run(["bash", "-c", _CNI_CHECK], env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert (result.returncode == 0) == cni


# --- One-node volumes used from many nodes ---------------------------------------------------

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
MODEL_ON_CLAIM = {"format": "tensorflow", "volume": {"claim": "models", "path": "mnist"}}
#: A pipeline whose step writes the models claim and whose serve step serves from it.
CLAIM_PIPELINES = '''
from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec, ServeStepSpec
from mlplane.components.serving.config import EndpointConfig
from mlplane.pipelines.native import pipeline

MOUNT = {"volumes": ({"name": "m", "persistentVolumeClaim": {"claimName": "models"}},),
         "volume_mounts": ({"name": "m", "mountPath": "/models"},)}


def step(name, after=(), workers=1):
    return ContainerStepSpec(name=name, image="trainer:1.2.0", command=("true",), after=after, workers=workers,
                             **MOUNT)


@pipeline
def write_then_serve(ctx) -> PipelineSpec:
    return PipelineSpec(name=ctx.pipeline, steps=(step("train"), ServeStepSpec(
        name="serve", after=("train",), endpoint=EndpointConfig(
            name="scorer", model={"format": "tensorflow", "volume": {"claim": "models", "path": "m"}}))))


@pipeline
def in_order(ctx) -> PipelineSpec:
    return PipelineSpec(name=ctx.pipeline, steps=(step("prepare"), step("train", after=("prepare",))))


@pipeline
def side_by_side(ctx) -> PipelineSpec:
    return PipelineSpec(name=ctx.pipeline, steps=(step("prepare"), step("train")))


@pipeline
def distributed(ctx) -> PipelineSpec:
    return PipelineSpec(name=ctx.pipeline, steps=(step("train", workers=4),))
'''


def one_node_stack(tmp_path: Path, *, release: str = "26.03", mode: str | None = "raw", kserve: bool = True,
                   replicas: int = 1, pipeline: str | None = None, endpoint: bool = True,
                   access_modes: tuple[str, ...] = ("ReadWriteOnce",)) -> Path:
    """The gke stack with its models volume (a pd-ssd persistent disk) served by an endpoint."""
    pytest.importorskip("pulumi_gcp")
    config = yaml.safe_load((Path(__file__).parent.parent / "Pulumi.gke.yaml").read_text())["config"]
    config["mlplane:storage"]["volumes"][1]["access_modes"] = list(access_modes)
    kubeflow = config["mlplane:kubeflow"]
    kubeflow["release"] = release
    kubeflow.setdefault("components", {})["kserve"] = {"enabled": kserve, **({"deployment_mode": mode} if mode else {})}
    if not kserve:
        kubeflow["components"]["models_web_app"] = {"enabled": False}
    config["mlplane:pipelines"] = []
    if pipeline is not None:
        (tmp_path).mkdir(parents=True, exist_ok=True)
        (tmp_path / "claims.py").write_text(CLAIM_PIPELINES)
        config["mlplane:pipelines"] = [{"name": "p", "source": f"claims.py:{pipeline}"}]
    config.pop("mlplane:workbenches", None)
    if endpoint:
        config["mlplane:serving"] = {"endpoints": [{"name": "digits", "model": MODEL_ON_CLAIM,
                                                    "replicas": {"min": 1, "max": replicas}}]}
    return write_stack(tmp_path, config)


def test_a_raw_endpoint_on_a_one_node_claim_replaces_its_pod(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from .test_upstream_behaviours import render_ok

    plan = render_ok(tmp_path, one_node_stack(tmp_path), capsys)
    [isvc] = [r.inputs for r in plan if r.type == ISVC and r.inputs["metadata"]["name"] == "digits"]
    assert isvc["spec"]["predictor"]["deploymentStrategy"] == {"type": "Recreate"}
    # KServe 0.16's CRD has the field (the schema the API server prunes by).
    from .crds import strict_schema

    import jsonschema
    jsonschema.validate(isvc, strict_schema(isvc["apiVersion"], isvc["kind"]))


def test_a_plain_deployment_on_a_one_node_claim_is_recreated(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from .test_upstream_behaviours import render_ok

    plan = render_ok(tmp_path, one_node_stack(tmp_path, kserve=False, mode=None), capsys)
    [deployment] = [r.inputs for r in plan if r.type == DEPLOYMENT and r.inputs["metadata"]["name"] == "digits"]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_a_claim_that_mounts_on_many_nodes_keeps_the_rolling_update(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """ReadOnlyMany alone: the persistent disk attaches read-only to many nodes."""
    from .test_upstream_behaviours import render_ok

    plan = render_ok(tmp_path, one_node_stack(tmp_path, kserve=False, mode=None, replicas=3,
                                              access_modes=("ReadOnlyMany",)), capsys)
    [deployment] = [r.inputs for r in plan if r.type == DEPLOYMENT and r.inputs["metadata"]["name"] == "digits"]
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"


@pytest.mark.parametrize("case,expected", [
    ({"replicas": 2}, "mlplane:serving.endpoints[0].replicas.max: the model's volume (mlplane:storage.volumes[1], "
                      "claim models, ReadWriteOnce on gce-pd class 'ssd') attaches to one node at a time"),
    ({"mode": "serverless"}, "Knative starts each new revision's pod before the old one stops"),
    ({"release": "1.8.1"}, "KServe 0.11.2 (release 1.8.1) always rolls its raw Deployments out with a surge pod"),
    ({"access_modes": ("ReadWriteOnce", "ReadOnlyMany"), "replicas": 2}, "attaches to one node at a time"),
])
def test_endpoints_that_would_wait_on_multi_attach_are_refused(case: dict[str, Any], expected: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    err = render_refused(tmp_path, one_node_stack(tmp_path, **case), capsys)
    assert expected in err, err
    assert "nfs class" in err and "model.uri" in err


@pytest.mark.parametrize("pipeline,expected", [
    ("write_then_serve", "pipeline 'p', serve step 'serve' (an endpoint) and pipeline 'p', step 'train' may run "
                         "at once"),
    ("side_by_side", "pipeline 'p', step 'train' and pipeline 'p', step 'prepare' may run at once"),
    ("distributed", "pipeline 'p', step 'train': claim models"),
])
def test_workloads_that_may_share_a_one_node_claim_at_once_are_refused(pipeline: str, expected: str, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    err = render_refused(tmp_path, one_node_stack(tmp_path, pipeline=pipeline, endpoint=False), capsys)
    assert expected in err, err


def test_steps_in_order_share_a_one_node_claim(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .test_upstream_behaviours import render_ok

    render_ok(tmp_path, one_node_stack(tmp_path, pipeline="in_order", endpoint=False), capsys)


def test_an_endpoint_and_a_step_on_one_claim_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_refused(tmp_path, one_node_stack(tmp_path, pipeline="in_order"), capsys)
    assert "may run at once" in err and "endpoint 'digits'" in err


# --- Team volumes and team pipelines ---------------------------------------------------------

#: A KFP v1 pipeline that runs as an Argo Workflow (a run-time condition) and mounts the claim 'datasets'.
KFP_MOUNTING = kfp_file("team", "dsl.ContainerOp(name='read', image='busybox:1.36.1', command=['ls', '/data'])"
                        ".apply(onprem.mount_pvc('datasets', 'data', '/data'))", imports="dsl, onprem")


def team_stack(tmp_path: Path, volume_namespace: str | None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "team.py").write_text(KFP_MOUNTING)
    config = selfhosted(pipelines=[{"name": "team", "kind": "kfp-v1", "source": "team.py:pipeline",
                                    "namespace": "team-a"}])
    config.update(platform(profiles=[{"name": "team-a", "owner": "a@example.com"}]))
    volume = {"name": "datasets", "size": "10Gi", "storage_class": "local"}
    if volume_namespace is not None:
        volume["namespace"] = volume_namespace
    config["mlplane:storage"]["volumes"] = [volume]
    return write_stack(tmp_path, config)


def test_a_workflow_mounting_a_workload_namespace_volume_is_refused_with_the_way_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_refused(tmp_path, team_stack(tmp_path, None), capsys)
    assert "mlplane:pipelines[0]: pipeline 'team', workflow template 'read' mounts claim datasets, which " \
           "mlplane:storage.volumes[0] creates in namespace mlplane; its pods run in team-a" in err, err
    assert "mlplane:storage.volumes[0].namespace: team-a" in err


def test_a_volume_declared_in_the_profile_is_mounted_by_the_teams_workflow(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .test_upstream_behaviours import render_ok

    plan = render_ok(tmp_path, team_stack(tmp_path, "team-a"), capsys)
    [claim] = [r for r in plan if r.type == "kubernetes:core/v1:PersistentVolumeClaim"
               and r.inputs["metadata"]["name"] == "datasets"]
    assert claim.inputs["metadata"]["namespace"] == "team-a"
    [workflow] = [r.inputs for r in plan if r.type == "kubernetes:argoproj.io/v1alpha1:Workflow"]
    assert workflow["metadata"]["namespace"] == "team-a"
    # The claim waits for its namespace (the profile's), which the platform layer makes.
    volume = next(r for r in plan if r.urn == claim.parent)
    namespace = next(r.urn for r in plan if r.type == "kubernetes:core/v1:Namespace"
                     and r.inputs["metadata"]["name"] == "team-a")
    assert namespace in volume.dependencies


def test_a_volume_in_a_namespace_mlplane_does_not_make_is_refused(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    err = render_refused(tmp_path, team_stack(tmp_path, "elsewhere"), capsys)
    assert "mlplane:storage.volumes[0].namespace: mlplane creates no such namespace for the claim" in err, err


# --- Certificates through the gateway --------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mlplane.components.platform.acme_http import ACME_CHALLENGE_PREFIX, not_prefix_regex  # noqa: E402

CHALLENGE = ACME_CHALLENGE_PREFIX + "fZ3p8n1_Rk-Q"  # a token's shape (base64url)
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


@given(st.one_of(st.text(alphabet="/.-_abcdefghijklmnopqrstuvwxyz0123456789", max_size=40).map(lambda p: "/" + p),
                 st.text(alphabet="/.-_abcz", max_size=12).map(lambda p: ACME_CHALLENGE_PREFIX[:len(p) + 5] + p)))
def test_the_redirect_regex_matches_exactly_the_paths_outside_the_challenge_prefix(path: str) -> None:
    import re

    assert (re.fullmatch(not_prefix_regex(ACME_CHALLENGE_PREFIX), path) is not None) == \
        (not path.startswith(ACME_CHALLENGE_PREFIX))


def solver_ingress(issuer: dict[str, Any], host: str) -> dict[str, Any]:
    """The Ingress cert-manager makes for an HTTP-01 challenge of ``issuer``'s solver, as
    cert-manager/cert-manager pkg/issuer/acme/http/ingress.go (v1.12.2, v1.19.4) builds it:
    ``class`` becomes the annotation kubernetes.io/ingress.class, ``ingressClassName`` the
    field, one rule for the host with the challenge path (ImplementationSpecific)."""
    [solver] = issuer["spec"]["acme"]["solvers"]
    config = solver["http01"]["ingress"]
    assert not ("class" in config and "ingressClassName" in config)  # cert-manager refuses both
    return {"metadata": {"annotations": {INGRESS_CLASS_ANNOTATION: config["class"]} if "class" in config else {}},
            "spec": {**({"ingressClassName": config["ingressClassName"]} if "ingressClassName" in config else {}),
                     "rules": [{"host": host, "http": {"paths": [{"path": CHALLENGE,
                                                                   "pathType": "ImplementationSpecific"}]}}]}}


def istio_processes(mesh: dict[str, Any], ingress: dict[str, Any], classes: dict[str, str]) -> bool:
    """istiod's shouldProcessIngressWithClass (istio/istio 1.17.3 pilot/pkg/config/kube/ingressv1/
    conversion.go; 1.29.0 pilot/pkg/config/kube/ingress/virtualservices.go; identical), with the
    mesh config's defaults (pkg/config/mesh/mesh.go: ingressControllerMode STRICT, ingressClass
    istio). ``classes``: IngressClass name -> controller, of the cluster."""
    mode = mesh.get("ingressControllerMode", "STRICT")
    annotations = ingress["metadata"]["annotations"]
    if INGRESS_CLASS_ANNOTATION in annotations:
        return mode != "OFF" and annotations[INGRESS_CLASS_ANNOTATION] == mesh.get("ingressClass", "istio")
    name = ingress["spec"].get("ingressClassName")
    if name in classes:
        return classes[name] == "istio.io/ingress-controller"
    return mode == "DEFAULT"


def uri_matches(match: dict[str, Any], path: str) -> bool:
    import re

    uri = match.get("uri")
    if uri is None:
        return True
    if "prefix" in uri:
        return path.startswith(uri["prefix"])
    if "exact" in uri:
        return path == uri["exact"]
    return re.fullmatch(uri["regex"], path) is not None  # Envoy's safe_regex matches the whole path


def port80_routes_of(plan: Plan, host: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The port-80 Gateway servers that cover ``host`` and the routes bound to them for it."""
    gateways = {f"{r.inputs['metadata']['namespace']}/{r.inputs['metadata']['name']}": r.inputs for r in plan
                if r.type.endswith(":Gateway") and r.type.startswith("kubernetes:networking.istio.io")}
    servers, routes = [], []
    for key, gateway in gateways.items():
        covering = [s for s in gateway["spec"]["servers"] if s["port"]["number"] == 80
                    and any(h in ("*", host) or h.endswith("/" + host) for h in s["hosts"])]
        servers += covering
        if not covering:
            continue
        for r in plan:
            if r.type.endswith(":VirtualService") and r.type.startswith("kubernetes:networking.istio.io"):
                spec = r.inputs["spec"]
                bound = [g if "/" in g else f"{r.inputs['metadata']['namespace']}/{g}" for g in spec.get("gateways", [])]
                if key in bound and any(h in ("*", host) for h in spec["hosts"]):
                    routes += spec.get("http", [])
    return servers, routes


def mesh_config(plan: Plan) -> dict[str, Any]:
    [configmap] = [r.inputs for r in plan if r.type == "kubernetes:core/v1:ConfigMap"
                   and r.inputs["metadata"]["name"] == "istio" and r.inputs["metadata"]["namespace"] == "istio-system"]
    return yaml.safe_load(configmap["data"]["mesh"])


@pytest.mark.parametrize("stack,release", [("gke", "1.8.1"), ("gke", "26.03"), ("eks", "26.03"), ("aks", "26.03")])
def test_http01_reaches_cert_managers_solver_through_the_gateway(stack: str, release: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped ACME stacks, expanded from the pinned sources: Istio takes the solver's Ingress,
    its derived Gateway selects the gateway's pods, and nothing on port 80 redirects the challenge."""
    pytest.importorskip({"gke": "pulumi_gcp", "eks": "pulumi_aws", "aks": "pulumi_azure_native"}[stack])
    config = yaml.safe_load((Path(__file__).parent.parent / f"Pulumi.{stack}.yaml").read_text())["config"]
    config["mlplane:kubeflow"]["release"] = release
    plan = render_expanded_ok(tmp_path, write_stack(tmp_path, config, stack=stack), capsys)
    istio = "1.17.3" if release == "1.8.1" else "1.29.0"
    assert {r.inputs.get("version") for r in plan if r.type == "kubernetes:helm.sh/v4:Chart"
            and r.inputs.get("chart") == "istiod"} == {istio}
    host = config["mlplane:kubeflow"]["ingress"]["host"]
    [issuer] = [r.inputs for r in plan if r.type == "kubernetes:cert-manager.io/v1:ClusterIssuer"
                and "acme" in r.inputs["spec"]]
    mesh = mesh_config(plan)
    classes = {r.inputs["metadata"]["name"]: r.inputs["spec"]["controller"] for r in plan
               if r.type == "kubernetes:networking.k8s.io/v1:IngressClass"}
    assert istio_processes(mesh, solver_ingress(issuer, host), classes)
    # The old solver (ingressClassName: istio, no IngressClass in the plan) was ignored: the fault.
    assert not istio_processes(mesh, {"metadata": {"annotations": {}}, "spec": {"ingressClassName": "istio"}}, classes)
    # The Gateway istiod derives for Ingresses selects istio=<ingressSelector> (default ingressgateway).
    selector = mesh.get("ingressSelector") or "ingressgateway"
    [gateway] = [r.inputs for r in plan if r.type == DEPLOYMENT and r.inputs["metadata"]["name"] == "istio-ingressgateway"]
    assert gateway["spec"]["template"]["metadata"]["labels"]["istio"] == selector
    # Port 80 for the host: no server redirects the whole host, no route takes the challenge.
    servers, routes = port80_routes_of(plan, host)
    assert servers and all(not (s.get("tls") or {}).get("httpsRedirect") for s in servers)
    assert routes and not [r for r in routes if any(uri_matches(m, CHALLENGE) for m in r.get("match", [{}]))]
    assert all(any(uri_matches(m, "/") for m in r["match"]) and r["redirect"]["scheme"] == "https" for r in routes)
    # Every other HTTP route of the platform is on 443 only.
    assert not [s for s in servers if s["port"]["number"] == 80 and "credentialName" in (s.get("tls") or {})]


DNS_SOLVERS = {
    "gke": {"provider": "cloud-dns", "project": "acme-ml-platform",
            "service_account": "cert-manager-dns@acme-ml-platform.iam.gserviceaccount.com"},
    "eks": {"provider": "route53", "region": "eu-west-1", "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
            "role_arn": "arn:aws:iam::123456789012:role/cert-manager-dns"},
    "aks": {"provider": "azure-dns", "subscription_id": "00000000-0000-0000-0000-000000000000",
            "resource_group": "dns", "zone": "ml.acme.example", "client_id": "11111111-2222-3333-4444-555555555555"},
}
IDENTITY = {"gke": ("iam.gke.io/gcp-service-account", "cert-manager-dns@acme-ml-platform.iam.gserviceaccount.com"),
            "eks": ("eks.amazonaws.com/role-arn", "arn:aws:iam::123456789012:role/cert-manager-dns"),
            "aks": ("azure.workload.identity/client-id", "11111111-2222-3333-4444-555555555555")}


@pytest.mark.parametrize("stack", ["gke", "eks", "aks"])
def test_dns01_in_the_clouds_dns_as_cert_managers_workload_identity(stack: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema

    from .crds import strict_schema

    pytest.importorskip({"gke": "pulumi_gcp", "eks": "pulumi_aws", "aks": "pulumi_azure_native"}[stack])
    config = yaml.safe_load((Path(__file__).parent.parent / f"Pulumi.{stack}.yaml").read_text())["config"]
    config["mlplane:kubeflow"]["issuer"]["dns"] = DNS_SOLVERS[stack]
    path = write_stack(tmp_path, config, stack=stack)
    plan = render_expanded_ok(tmp_path, path, capsys)
    [issuer] = [r.inputs for r in plan if r.type == "kubernetes:cert-manager.io/v1:ClusterIssuer"
                and "acme" in r.inputs["spec"]]
    [solver] = issuer["spec"]["acme"]["solvers"]
    assert list(solver) == ["dns01"] and "SecretRef" not in str(solver)  # ambient: no secret anywhere
    jsonschema.validate(issuer, strict_schema(issuer["apiVersion"], issuer["kind"]))
    # The controller's ServiceAccount (expanded from the cert-manager chart) carries the identity.
    [account] = [r.inputs for r in plan if r.type == "kubernetes:core/v1:ServiceAccount"
                 and r.inputs["metadata"]["name"] == "cert-manager" and r.inputs["metadata"]["namespace"] == "cert-manager"]
    key, value = IDENTITY[stack]
    assert account["metadata"]["annotations"][key] == value
    [controller] = [r.inputs for r in plan if r.type == DEPLOYMENT and r.inputs["metadata"]["name"] == "cert-manager"]
    assert controller["spec"]["template"]["spec"]["serviceAccountName"] == "cert-manager"
    if stack == "aks":
        assert controller["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    # No HTTP-01 exemption is opened when nothing answers one.
    _, routes = port80_routes_of(plan, config["mlplane:kubeflow"]["ingress"]["host"])
    assert any(uri_matches(m, CHALLENGE) for r in routes for m in r["match"])
    assert main(["preview", "--config-file", str(path), "--against", str(tmp_path / "ok" / "plan.json")]) == 0
    assert key.replace(".", "\\.") in capsys.readouterr().out


@pytest.mark.parametrize("chart", ["cert-manager-v1.12.2", "cert-manager-v1.19.4"])
def test_every_issuer_mlplane_writes_fits_both_trains_cert_manager(chart: str) -> None:
    """The ClusterIssuers (HTTP-01, each DNS-01 provider) against the ClusterIssuer CRD of each
    train's cert-manager: 1.12.2's from its chart's crds.yaml, 1.19.4's from ../shared/crds."""
    import jsonschema

    from mlplane.components.platform.acme_http import http01_solver
    from mlplane.components.platform.cert_manager import dns01_solver
    from mlplane.components.platform.spec import IssuerSettings

    from .crds import strict_schema
    from .upstream import render_chart

    if chart.endswith("1.12.2"):
        [crd] = [o for o in render_chart(chart, {"installCRDs": True}, release="cert-manager", namespace="cert-manager")
                 if o["kind"] == "CustomResourceDefinition" and o["metadata"]["name"] == "clusterissuers.cert-manager.io"]
        [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
        schema = version["schema"]["openAPIV3Schema"]
    else:
        schema = strict_schema("cert-manager.io/v1", "ClusterIssuer")
    solvers = [http01_solver()] + [dns01_solver(IssuerSettings(kind="acme", email="a@example.com", dns=d).dns)
                                   for d in DNS_SOLVERS.values()]
    for solver in solvers:
        issuer = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "x"},
                  "spec": {"acme": {"email": "a@example.com", "server": "https://acme.example/directory",
                                    "privateKeySecretRef": {"name": "k"}, "solvers": [solver]}}}
        jsonschema.validate(issuer, schema)
        # The fields mlplane sets are in the schema (not silently pruned by a non-strict one).
        provider = next(iter(solver.values()))
        inner = schema["properties"]["spec"]["properties"]["acme"]["properties"]["solvers"]["items"]["properties"]
        for key in provider:
            assert key in inner[next(iter(solver))]["properties"], (chart, key)


@pytest.mark.parametrize("stack,provider", [("eks", "cloud-dns"), ("gke", "azure-dns"), ("onprem", "route53")])
def test_dns01_on_a_cluster_without_that_clouds_identity_is_refused(stack: str, provider: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = yaml.safe_load((Path(__file__).parent.parent / f"Pulumi.{stack}.yaml").read_text())["config"]
    solver = next(s for s in DNS_SOLVERS.values() if s["provider"] == provider)
    config["mlplane:kubeflow"]["issuer"] = {"kind": "acme", "email": "a@example.com", "dns": solver}
    err = render_refused(tmp_path, write_stack(tmp_path, config, stack=stack), capsys)
    assert f"mlplane:kubeflow.issuer.dns.provider: {provider} credentials come through" in err, err
    assert "kind: existing-secret" in err


def test_an_existing_certificate_secret_is_served_as_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = yaml.safe_load((Path(__file__).parent.parent / "Pulumi.onprem.yaml").read_text())["config"]
    config["mlplane:kubeflow"]["issuer"] = {"kind": "existing-secret", "secret": "kubeflow-onprem-tls"}
    path = write_stack(tmp_path, config, stack="onprem")
    plan = render_expanded_ok(tmp_path, path, capsys)
    [gateway] = [r.inputs for r in plan if r.type.endswith(":Gateway") and r.inputs["metadata"]["name"] == "kubeflow-gateway"]
    assert [s["tls"]["credentialName"] for s in gateway["spec"]["servers"]] == ["kubeflow-onprem-tls"]
    # Nothing issues a certificate for the platform's host; the ACME prefix is redirected like any path.
    assert not [r for r in plan if r.type == "kubernetes:cert-manager.io/v1:Certificate"
                and "kubeflow.onprem.acme.example" in r.inputs["spec"]["dnsNames"]]
    _, routes = port80_routes_of(plan, "kubeflow.onprem.acme.example")
    assert any(uri_matches(m, CHALLENGE) for r in routes for m in r["match"])
    assert main(["preview", "--config-file", str(path), "--against", str(tmp_path / "ok" / "plan.json")]) == 0
    assert "kubectl get secret kubeflow-onprem-tls -n istio-system" in capsys.readouterr().out


@pytest.mark.parametrize("issuer,expected", [
    ({"kind": "existing-secret"}, "mlplane:kubeflow.issuer.secret: an existing certificate needs the name"),
    ({"kind": "self-signed", "secret": "x"}, "only kind existing-secret takes a Secret"),
    ({"kind": "self-signed", "dns": DNS_SOLVERS["gke"]}, "DNS-01 is an ACME challenge"),
])
def test_issuer_settings_that_cannot_work_are_refused(issuer: dict[str, Any], expected: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = yaml.safe_load((Path(__file__).parent.parent / "Pulumi.onprem.yaml").read_text())["config"]
    config["mlplane:kubeflow"]["issuer"] = issuer
    assert expected in render_refused(tmp_path, write_stack(tmp_path, config, stack="onprem"), capsys)


def test_an_endpoint_host_without_an_issuer_for_it_is_refused(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = yaml.safe_load((Path(__file__).parent.parent / "Pulumi.gke.yaml").read_text())["config"]
    config["mlplane:kubeflow"]["issuer"] = {"kind": "existing-secret", "secret": "kubeflow-tls"}
    err = render_refused(tmp_path, write_stack(tmp_path, config, stack="gke"), capsys)
    assert "so no issuer signs a certificate for another host" in err, err


# --- Storage a team already has --------------------------------------------------------------

def team_storage_config() -> dict[str, Any]:
    """The onprem stack on the data centre's own Ceph classes and MinIO, serving a model from MinIO."""
    config = yaml.safe_load((Path(__file__).parent.parent / "Pulumi.onprem.yaml").read_text())["config"]
    config["mlplane:storage"] = {
        "classes": [{"name": "ceph-rbd", "kind": "existing", "default": True},
                    {"name": "cephfs", "kind": "existing", "access_modes": ["ReadWriteMany", "ReadWriteOnce"],
                     "attaches_to_one_node": False, "expandable": True}],
        "volumes": [{"name": "datasets", "size": "2Ti", "storage_class": "cephfs", "access_modes": ["ReadWriteMany"]},
                    {"name": "models", "size": "500Gi", "storage_class": "cephfs", "access_modes": ["ReadWriteMany"]}],
        "artifacts": {"kind": "s3-compatible", "endpoint": "https://minio.dc1.example.internal:9000",
                      "bucket": "ml-artifacts"}}
    config["mlplane:workbenches"]["notebooks"][0]["workspace"]["storage_class"] = "ceph-rbd"
    for volume in config["mlplane:workbenches"]["notebooks"][0]["data_volumes"]:
        volume["storage_class"] = "cephfs"
    config["mlplane:kubeflow"]["components"] = {"kserve": {"deployment_mode": "raw"}}
    config["mlplane:serving"] = {"endpoints": [{"name": "digits", "model": {
        "format": "tensorflow", "uri": "s3://ml-artifacts/models/digits"}}]}
    return config


def test_existing_classes_and_an_existing_s3_store_serve_a_model(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from .test_upstream_behaviours import render_ok

    path = write_stack(tmp_path, team_storage_config(), stack="onprem")
    plan = render_ok(tmp_path, path, capsys)
    # The cluster's classes are used by name, never created.
    assert not [r for r in plan if r.type == "kubernetes:storage.k8s.io/v1:StorageClass"]
    claims = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan
              if r.type == "kubernetes:core/v1:PersistentVolumeClaim"}
    assert claims["models"]["storageClassName"] == "cephfs"
    # KServe's storage initializer finds the keys through the predictor's ServiceAccount.
    [isvc] = [r.inputs for r in plan if r.type == ISVC and r.inputs["metadata"]["name"] == "digits"]
    predictor = isvc["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == "s3://ml-artifacts/models/digits"
    account_name = predictor["serviceAccountName"]
    namespace = isvc["metadata"]["namespace"]
    [account] = [r.inputs for r in plan if r.type == "kubernetes:core/v1:ServiceAccount"
                 and r.inputs["metadata"]["name"] == account_name and r.inputs["metadata"]["namespace"] == namespace]
    [secret] = [r.inputs for r in plan if r.type == "kubernetes:core/v1:Secret"
                and r.inputs["metadata"]["name"] in [s["name"] for s in account["secrets"]]
                and r.inputs["metadata"]["namespace"] == namespace]
    assert secret["metadata"]["annotations"] == {
        "serving.kserve.io/s3-endpoint": "minio.dc1.example.internal:9000", "serving.kserve.io/s3-usehttps": "1",
        "serving.kserve.io/s3-region": "us-east-1", "serving.kserve.io/s3-verifyssl": "1"}
    # The keys KServe's inferenceservice-config names (s3AccessKeyIDName, s3SecretAccessKeyName), as secrets.
    assert set(secret["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert set(secret["stringData"].values()) == {"[secret]"}
    assert main(["preview", "--config-file", str(path), "--against", str(tmp_path / "ok" / "plan.json")]) == 0
    out = capsys.readouterr().out
    assert "kubectl get storageclass ceph-rbd" in out and "kubectl get storageclass cephfs" in out


@pytest.mark.parametrize("chart", ["kserve-v0.11.2", "kserve-v0.16.0"])
def test_kserves_config_names_the_keys_mlplane_writes(chart: str) -> None:
    from .upstream import render_chart

    [configmap] = [o for o in render_chart(chart, {}, release="kserve", namespace="kserve")
                   if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "inferenceservice-config"]
    import json

    s3 = json.loads(configmap["data"]["credentials"])["s3"]
    assert (s3["s3AccessKeyIDName"], s3["s3SecretAccessKeyName"]) == ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def test_a_volume_on_an_existing_block_class_is_judged_as_one_node(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = team_storage_config()
    config["mlplane:storage"]["volumes"][1] = {"name": "models", "size": "500Gi", "storage_class": "ceph-rbd"}
    config["mlplane:serving"] = {"endpoints": [{"name": "digits", "replicas": {"min": 1, "max": 3}, "model": {
        "format": "tensorflow", "volume": {"claim": "models"}}}]}
    err = render_refused(tmp_path, write_stack(tmp_path, config, stack="onprem"), capsys)
    assert "ReadWriteOnce on existing class 'ceph-rbd') attaches to one node at a time" in err, err


def test_a_claim_mode_the_existing_class_does_not_state_is_refused(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = team_storage_config()
    config["mlplane:storage"]["volumes"][0]["storage_class"] = "ceph-rbd"
    err = render_refused(tmp_path, write_stack(tmp_path, config, stack="onprem"), capsys)
    assert "mlplane:storage.volumes[0].access_modes" in err, err


# --- GPU models teams buy now ----------------------------------------------------------------

NEW_MODELS = ("h200-141gb", "b200", "rtx-pro-6000", "a40", "l40", "l40s", "mi325x")


def test_every_new_catalog_entry_states_memory_interconnect_and_its_source() -> None:
    from mlplane.components.accelerators.catalog import MODELS
    from mlplane.infra.offline.cost import catalog_gaps

    entries = {m.name: m for m in MODELS if m.name in NEW_MODELS}
    assert set(entries) == set(NEW_MODELS)
    for model in entries.values():
        assert model.memory and model.interconnect and model.source, model.name
        for cloud, offered in (("GKE", model.gke_type), ("AWS", model.eks_gpu_name), ("Azure", model.aks_sizes)):
            assert bool(offered) == (cloud in model.source), (model.name, cloud)  # every machine type cited
    assert catalog_gaps() == []  # each new machine type is priced or says why not


@pytest.mark.parametrize("stack,pool", [
    ("gke", {"name": "h200", "vendor": "nvidia", "model": "h200-141gb", "accelerators_per_node": 8,
             "machine_type": "a3-ultragpu-8g", "max_nodes": 1}),
    ("gke", {"name": "b200", "vendor": "nvidia", "model": "b200", "accelerators_per_node": 8,
             "machine_type": "a4-highgpu-8g", "max_nodes": 1}),
    ("gke", {"name": "rtx", "vendor": "nvidia", "model": "rtx-pro-6000", "accelerators_per_node": 2,
             "machine_type": "g4-standard-96", "max_nodes": 2}),
    ("eks", {"name": "h200", "vendor": "nvidia", "model": "h200-141gb", "accelerators_per_node": 8, "max_nodes": 1}),
    ("eks", {"name": "b200", "vendor": "nvidia", "model": "b200", "accelerators_per_node": 8, "max_nodes": 1}),
    ("aks", {"name": "h200", "vendor": "nvidia", "model": "h200-141gb", "accelerators_per_node": 8,
             "machine_type": "Standard_ND96isr_H200_v5", "max_nodes": 1}),
    ("onprem", {"name": "a40", "vendor": "nvidia", "model": "a40", "accelerators_per_node": 4,
                "nodes": {"names": ["gpu-a40-01"]}}),
    ("onprem", {"name": "mi325x", "vendor": "amd", "model": "mi325x", "accelerators_per_node": 8,
                "nodes": {"names": ["gpu-mi325-01"]}}),
])
def test_pools_of_the_new_models_render_on_their_clouds(stack: str, pool: dict[str, Any], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from .test_upstream_behaviours import render_ok

    pytest.importorskip({"gke": "pulumi_gcp", "eks": "pulumi_aws", "aks": "pulumi_azure_native"}.get(stack, "yaml"))
    config = yaml.safe_load((Path(__file__).parent.parent / f"Pulumi.{stack}.yaml").read_text())["config"]
    config["mlplane:accelerators"]["pools"].append(pool)
    plan = render_ok(tmp_path, write_stack(tmp_path, config, stack=stack), capsys)
    assert any(pool["name"] in r.name for r in plan)
