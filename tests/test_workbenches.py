"""Workbenches: notebook servers and TensorBoards declared per profile, checked against upstream."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.components.scheduling import AcceleratorRequest, place
from mlplane.components.platform.notebook_culling import CONTROLLER_PARAMS, NotebookCulling
from mlplane.components.workbench.images import (
    NOTEBOOK_IMAGES,
    SPAWNER_CONFIG,
    SPAWNER_GROUPS,
)
from mlplane.components.workbench.notebook import STOP_ANNOTATION
from mlplane.infra.cli import main
from mlplane.infra.layers.capacity import capacity_facts

from .conftest import load_stack, rendered
from .crds import strict_schema
from .upstream import SHARED_UPSTREAM, needs_upstream
from .test_pipelines_stack import stack_from
from .test_renames import diff, render

UPSTREAM = SHARED_UPSTREAM / "kubeflow-manifests"

NOTEBOOK = "kubernetes:kubeflow.org/v1:Notebook"
BOARD = "kubernetes:tensorboard.kubeflow.org/v1alpha1:Tensorboard"
CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"


def objects(stack: str, type_: str) -> dict[str, Any]:
    return {r.inputs["metadata"]["name"]: r for r in rendered(stack).of_type(type_)}


# --- upstream facts ------------------------------------------------------------------------


@needs_upstream
@pytest.mark.parametrize("release", sorted(NOTEBOOK_IMAGES))
def test_release_images_equal_the_spawners(release: str) -> None:
    config = yaml.safe_load((UPSTREAM / SPAWNER_CONFIG[release]).read_text())["spawnerFormDefaults"]
    for kind, group in SPAWNER_GROUPS.items():
        images = NOTEBOOK_IMAGES[release][kind]
        assert list(images) == config[group]["options"], (release, kind)
        assert images[0] == config[group]["value"], (release, kind)


@needs_upstream
@pytest.mark.parametrize("release", sorted(CONTROLLER_PARAMS))
def test_culling_is_the_controllers_environment(release: str) -> None:
    params = dict(line.split("=", 1) for line in (UPSTREAM / CONTROLLER_PARAMS[release]).read_text().split()
                  if "=" in line)
    defaults = NotebookCulling().environment()  # what a stack that says nothing sets: upstream's
    assert {key: params[key] for key in defaults} == defaults
    documents = yaml.safe_load_all((UPSTREAM / CONTROLLER_PARAMS[release]).with_name("manager.yaml").read_text())
    manager = next(d for d in documents if d and d.get("kind") == "Deployment")
    env = {e["name"] for c in manager["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    assert set(defaults) <= env  # one controller, one setting: culling is platform-wide


# --- rendered stacks -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "gke", "onprem"])
def test_notebooks_and_boards_are_valid_awaited_custom_resources(stack: str) -> None:
    import jsonschema

    found = [*rendered(stack).of_type(NOTEBOOK), *rendered(stack).of_type(BOARD)]
    assert found
    for resource in found:
        body = resource.inputs
        jsonschema.Draft7Validator(strict_schema(body["apiVersion"], body["kind"])).validate(body)
        assert body["metadata"]["annotations"]["pulumi.com/waitFor"] == "jsonpath={.status.readyReplicas}=1"


def test_dev_declares_a_small_restricted_cpu_notebook() -> None:
    notebook = objects("dev", NOTEBOOK)["scratch"].inputs
    assert notebook["metadata"]["namespace"] == "kubeflow-user-example-com"
    pod = notebook["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["name"] == "scratch"  # the controller reports the container named like the Notebook
    assert container["image"] == NOTEBOOK_IMAGES["26.03"]["jupyter"][0]
    assert not any("gpu" in key for key in container["resources"]["limits"])
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                            "runAsNonRoot": True, "readOnlyRootFilesystem": False,
                                            "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False


def test_gke_notebook_is_placed_on_the_shared_l4_pool_with_workload_identity() -> None:
    config = load_stack("gke")
    placement = place(AcceleratorRequest(pool="l4-mps"), capacity_facts(config).pools, stack="gke")
    pod = objects("gke", NOTEBOOK)["vision-gpu"].inputs["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"][placement.resource_name] == "1"
    assert container["resources"]["requests"][placement.resource_name] == "1"
    assert pod["nodeSelector"] == placement.node_selector
    assert all(t in pod["tolerations"] for t in placement.tolerations)
    assert pod["serviceAccountName"] == "mlplane-artifacts"
    accounts = [r for r in rendered("gke").of_type("kubernetes:core/v1:ServiceAccount")
                if r.inputs["metadata"]["name"] == "mlplane-artifacts"]
    workloads = config.cluster.workload_namespace
    assert sorted(a.inputs["metadata"]["namespace"] for a in accounts) == sorted([workloads, "team-vision"])
    members = [r.inputs["member"] for r in rendered("gke").resources
               if r.type == "gcp:serviceaccount/iAMMember:IAMMember"]
    assert any("[team-vision/mlplane-artifacts]" in m for m in members)


def test_workspace_and_data_claims_are_protected_and_mounted() -> None:
    claims = objects("onprem", CLAIM)
    for name, mode in (("nlp-code-workspace", "ReadWriteOnce"), ("nlp-code-runs", "ReadWriteMany")):
        claim = claims[name]
        assert claim.protect and claim.retain_on_delete
        assert claim.inputs["spec"]["accessModes"] == [mode]
        assert claim.inputs["metadata"]["namespace"] == "team-nlp"
    pod = objects("onprem", NOTEBOOK)["nlp-code"].inputs["spec"]["template"]["spec"]
    volumes = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in pod["volumes"]}
    assert volumes["workspace"] == "nlp-code-workspace" and volumes["runs"] == "nlp-code-runs"
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["workspace"] == "/home/jovyan" and mounts["runs"] == "/home/jovyan/runs"
    board = objects("onprem", BOARD)["nlp-runs"]
    assert board.inputs["spec"]["logspath"] == "pvc://nlp-code-runs"
    assert claims["nlp-code-runs"].urn in board.dependencies


def test_vscode_servers_get_the_spawners_annotations() -> None:
    notebook = objects("onprem", NOTEBOOK)["nlp-code"].inputs
    annotations = notebook["metadata"]["annotations"]
    assert annotations["notebooks.kubeflow.org/server-type"] == "group-one"
    assert annotations["notebooks.kubeflow.org/http-rewrite-uri"] == "/"
    assert notebook["spec"]["template"]["spec"]["containers"][0]["image"] == NOTEBOOK_IMAGES["26.03"]["vscode"][0]


# --- renames, releases and bad input through the CLI -------------------------------------------


def _notebook(config: dict[str, Any]) -> dict[str, Any]:
    return config["mlplane:workbenches"]["notebooks"][0]


def test_a_renamed_workbench_keeps_its_workspace(tmp_path: Path) -> None:
    before = render(tmp_path / "a", "dev")

    def renamed(config: dict[str, Any]) -> None:
        _notebook(config).update(name="lab", formerly=["scratch"])

    after = render(tmp_path / "b", "dev", renamed)
    code, changes = diff(before / "plan.json", after / "plan.json")
    assert code == 0, [c for c in changes["changes"] if c["danger"]]
    claim = next(yaml.safe_load(p.read_text()) for p in (after / "manifests").rglob("PersistentVolumeClaim-*workspace*"))
    assert claim["metadata"]["name"] == "scratch-workspace"
    notebook = yaml.safe_load((after / "manifests" / "kubeflow-user-example-com" / "Notebook-lab.yaml").read_text())
    assert notebook["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == \
        "scratch-workspace"

    def renamed_without_history(config: dict[str, Any]) -> None:
        _notebook(config).update(name="lab")

    forgot = render(tmp_path / "c", "dev", renamed_without_history)
    code, _ = diff(before / "plan.json", forgot / "plan.json")
    assert code == 1  # without formerly the workspace would be replaced: danger


def test_release_1_8_1_images_run_at_baseline_with_their_images(tmp_path: Path) -> None:
    def old_release(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["release"] = "1.8.1"
        for key in ("model_registry",):
            config["mlplane:kubeflow"]["components"].pop(key, None)

    out = render(tmp_path, "dev", old_release)
    notebook = yaml.safe_load((out / "manifests" / "kubeflow-user-example-com" / "Notebook-scratch.yaml").read_text())
    container = notebook["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == NOTEBOOK_IMAGES["1.8.1"]["jupyter"][0]
    assert "securityContext" not in container  # kubeflow/kubeflow#5808: documented exception


def refused(tmp_path: Path, change: Any, base: str = "dev", capsys: Any = None) -> str:
    stack = stack_from(tmp_path, base, change)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["render", "--config-file", str(stack), "--out", str(tmp_path / "out")])
    text = err.getvalue()
    assert code == 2, text
    assert "Traceback" not in text and not (tmp_path / "out").exists()
    assert "Pulumi.t.yaml" in text
    return text


@pytest.mark.parametrize("change, expected", [
    (lambda c: _notebook(c).update(image="jupyter/scipy-notebook:2024-01-01"),
     ["mlplane:workbenches.notebooks[0].image", "not an image Kubeflow 26.03 offers for jupyter",
      "jupyter-scipy:v1.10.0"]),
    (lambda c: _notebook(c).update(kind="rstudio", image=NOTEBOOK_IMAGES["26.03"]["vscode"][0]),
     ["offers for rstudio", "rstudio-tidyverse:v1.10.0"]),
    (lambda c: _notebook(c).update(kind="emacs"), ["mlplane:workbenches.notebooks[0].kind", "jupyter"]),
    (lambda c: _notebook(c).update(image="acme/lab:latest", custom_image=True), ["mutable tag 'latest'"]),
    (lambda c: _notebook(c).update(profile="team-ghost"),
     ["notebooks[0].profile", "team-ghost", "kubeflow-user-example-com"]),
    (lambda c: _notebook(c).update(accelerator={"vendor": "nvidia"}),
     ["notebooks[0].accelerator", "no accelerator pools"]),
    (lambda c: _notebook(c).update(workspace={"size": "5Gi", "storage_class": "fast"}),
     ["workspace.storage_class", "mlplane-local"]),
    (lambda c: _notebook(c).update(artifact_access=True, kubernetes_api=True), ["choose kubernetes_api"]),
    (lambda c: c["mlplane:kubeflow"]["components"].update(notebooks={"enabled": False}),
     ["notebook controller"]),
])
def test_bad_notebooks_exit_2(tmp_path: Path, change: Any, expected: list[str]) -> None:
    text = refused(tmp_path, change)
    for part in expected:
        assert part in text, text


def test_a_shared_data_volume_on_a_class_without_many_writers_is_refused_as_a_stack_volume(tmp_path: Path) -> None:
    """Notebook volumes obey the storage rules of every claim, in the same words as a stack volume."""
    def shared(config: dict[str, Any]) -> None:
        _notebook(config)["data_volumes"] = [{"name": "data", "size": "5Gi", "storage_class": "mlplane-local", "mount_path": "/home/jovyan/data",
                                              "shared": True}]

    def many(config: dict[str, Any]) -> None:
        config["mlplane:storage"]["volumes"][0].update(access_modes=["ReadWriteMany"],
                                                       storage_class="mlplane-local")

    notebook = refused(tmp_path / "nb", shared)
    stack = refused(tmp_path / "st", many)
    wording = "only NFS classes can be mounted read-write by many nodes (class 'mlplane-local' is local-path)"
    assert f"mlplane:workbenches.notebooks[0].data_volumes[0].shared: {wording}" in notebook, notebook
    assert f"mlplane:storage.volumes[0].access_modes: {wording}" in stack, stack


def test_an_accelerator_no_pool_satisfies_is_refused_on_gke(tmp_path: Path) -> None:
    def too_many(config: dict[str, Any]) -> None:
        config["mlplane:workbenches"]["notebooks"][0]["accelerator"] = {"pool": "l4-mps", "count": 2}

    pytest.importorskip("pulumi_gcp")
    text = refused(tmp_path, too_many, base="gke")
    assert "l4-mps" in text and "one slice per container" in text


def test_a_workspace_never_shrinks(tmp_path: Path) -> None:
    """Against the saved baseline (``mlplane preview --save``): a smaller workspace exits 2."""
    stack = stack_from(tmp_path, "dev", lambda c: None)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["render", "--config-file", str(stack), "--out", str(tmp_path / "base")]) == 0
    saved = tmp_path / ".mlplane" / "baselines" / "t.json"
    saved.parent.mkdir(parents=True)
    shutil.copy(tmp_path / "base" / "plan.json", saved)

    def smaller(config: dict[str, Any]) -> None:
        _notebook(config)["workspace"]["size"] = "2Gi"

    text = refused(tmp_path, smaller)
    assert "notebooks[0].workspace.size" in text and "refuses to shrink a claim" in text and "5Gi or more" in text
    # The file is not the project's Pulumi.t.yaml: the hint names it, so --save saves *its* baseline.
    assert f"`mlplane preview --config-file {stack} --save`" in text

    def larger(config: dict[str, Any]) -> None:
        _notebook(config)["workspace"]["size"] = "8Gi"

    stack = stack_from(tmp_path, "dev", larger)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["render", "--config-file", str(stack), "--out", str(tmp_path / "grown")]) == 0


def test_stopped_servers_carry_the_stop_annotation_and_are_not_awaited(tmp_path: Path) -> None:
    out = render(tmp_path, "dev", lambda c: _notebook(c).update(stopped=True))
    notebook = yaml.safe_load((out / "manifests" / "kubeflow-user-example-com" / "Notebook-scratch.yaml").read_text())
    annotations = notebook["metadata"]["annotations"]
    assert STOP_ANNOTATION in annotations and "pulumi.com/waitFor" not in annotations


def test_in_cluster_store_credentials_reach_the_profile(tmp_path: Path) -> None:
    out = render(tmp_path, "dev", lambda c: _notebook(c).update(artifact_access=True))
    profile = out / "manifests" / "kubeflow-user-example-com"
    assert (profile / "Secret-mlplane-artifacts-s3.yaml").is_file()
    assert (profile / "ServiceAccount-mlplane-artifacts.yaml").is_file()
    notebook = yaml.safe_load((profile / "Notebook-scratch.yaml").read_text())
    pod = notebook["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mlplane-artifacts"
    env = {e["name"] for e in pod["containers"][0]["env"]}
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3"} <= env
    policy = yaml.safe_load((out / "manifests" / "mlplane-artifacts" / "NetworkPolicy-allow-s3-clients.yaml").read_text())
    # The granted profile reaches the S3 port, and only it (the store's other ports stay closed).
    (rule,) = policy["spec"]["ingress"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kubeflow-user-example-com"}}} \
        in rule["from"]
    assert rule["ports"] == [{"port": 8333, "protocol": "TCP"}]


@pytest.mark.parametrize("length, ok", [(52, True), (53, False)])
def test_notebook_names_leave_room_for_the_statefulsets_label(tmp_path: Path, length: int, ok: bool) -> None:
    name = "n" * length

    def long_name(config: dict[str, Any]) -> None:
        _notebook(config)["name"] = name

    if ok:
        out = render(tmp_path, "dev", long_name)
        claim = next((out / "manifests" / "kubeflow-user-example-com").glob("PersistentVolumeClaim-*"))
        assert len(yaml.safe_load(claim.read_text())["metadata"]["name"]) <= 63
    else:
        text = refused(tmp_path, long_name)
        assert "notebooks[0].name" in text and "at most 52" in text


@pytest.mark.parametrize("release", sorted(NOTEBOOK_IMAGES))
def test_short_names_follow_the_release_train(tmp_path: Path, release: str) -> None:
    def on(config: dict[str, Any]) -> None:
        config["mlplane:kubeflow"]["release"] = release
        _notebook(config)["image"] = "jupyter-pytorch-full"

    out = render(tmp_path, "dev", on)
    notebook = yaml.safe_load((out / "manifests" / "kubeflow-user-example-com" / "Notebook-scratch.yaml").read_text())
    image = notebook["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image in NOTEBOOK_IMAGES[release]["jupyter"] and "jupyter-pytorch-full:" in image


def test_an_unknown_short_name_is_refused(tmp_path: Path) -> None:
    text = refused(tmp_path, lambda c: _notebook(c).update(image="jupyter-julia"))
    assert "notebooks[0].image" in text and "jupyter-scipy, jupyter-pytorch-full" in text


def test_a_framework_images_cpu_build_on_a_gpu_is_refused_for_its_cuda_build(tmp_path: Path) -> None:
    pytest.importorskip("pulumi_gcp")

    def cpu_build(config: dict[str, Any]) -> None:
        _notebook(config)["image"] = "jupyter-pytorch-full"

    text = refused(tmp_path / "a", cpu_build, base="gke")
    assert "notebooks[0].image: jupyter-pytorch-full has its framework's CPU build" in text
    assert "allowed: jupyter-pytorch-cuda-full" in text
    # An image without a framework is left to its user (who installs the GPU build).
    render(tmp_path / "b", "gke", lambda c: _notebook(c).update(image="jupyter-scipy"))


def test_another_releases_image_names_the_short_name_that_follows_the_stack() -> None:
    from mlplane.infra.config.workbenches import _image_findings
    from mlplane.components.workbench.spec import NotebookSpec

    spec = NotebookSpec(name="n", profile="p", image=NOTEBOOK_IMAGES["1.8.1"]["jupyter"][1])
    [finding] = list(_image_findings(("s",), spec, "26.03"))
    assert "it is Kubeflow 1.8.1's image" in finding.message and "jupyter-pytorch-full" in finding.message


def _render_errors(stack: Path, out: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["render", "--config-file", str(stack), "--out", str(out)])
    return code, err.getvalue()


def test_without_a_baseline_the_render_says_the_shrink_check_needs_one(tmp_path: Path) -> None:
    """Offline, the claims' sizes on the cluster are known only from the saved baseline: say so when there is none."""
    stack = stack_from(tmp_path, "dev", lambda c: None)
    code, err = _render_errors(stack, tmp_path / "a")
    saved = tmp_path / ".mlplane" / "baselines" / "t.json"
    assert code == 0
    assert f"no saved baseline ({saved}), so notebook workspace and data volume sizes are not checked" in err
    assert f"`mlplane preview --config-file {stack} --save`" in err
    saved.parent.mkdir(parents=True)
    shutil.copy(tmp_path / "a" / "plan.json", saved)
    code, err = _render_errors(stack, tmp_path / "b")
    assert code == 0 and "no saved baseline" not in err
    # A stack without notebooks has nothing to check, and says nothing.
    bare = stack_from(tmp_path / "bare", "dev", lambda c: c.pop("mlplane:workbenches"))
    code, err = _render_errors(bare, tmp_path / "c")
    assert code == 0 and "no saved baseline" not in err


def test_a_notebook_data_volume_never_shrinks_either(tmp_path: Path) -> None:
    def with_volume(size: str) -> Any:
        def change(config: dict[str, Any]) -> None:
            _notebook(config)["data_volumes"] = [{"name": "runs", "size": size, "storage_class": "mlplane-local",
                                                  "mount_path": "/home/jovyan/runs"}]
        return change

    stack = stack_from(tmp_path, "dev", with_volume("4Gi"))
    assert _render_errors(stack, tmp_path / "base")[0] == 0
    saved = tmp_path / ".mlplane" / "baselines" / "t.json"
    saved.parent.mkdir(parents=True)
    shutil.copy(tmp_path / "base" / "plan.json", saved)
    text = refused(tmp_path, with_volume("3Gi"))
    assert "notebooks[0].data_volumes[0].size: the data volume runs claim scratch-runs holds 4Gi" in text, text
    assert "4Gi or more" in text


def test_a_rename_without_formerly_is_refused_against_the_baseline(tmp_path: Path) -> None:
    """The saved baseline's protected workspace would be deleted, which Pulumi refuses: say so, and what to do."""
    stack = stack_from(tmp_path, "dev", lambda c: None)
    assert _render_errors(stack, tmp_path / "base")[0] == 0
    saved = tmp_path / ".mlplane" / "baselines" / "t.json"
    saved.parent.mkdir(parents=True)
    shutil.copy(tmp_path / "base" / "plan.json", saved)
    text = refused(tmp_path, lambda c: _notebook(c).update(name="lab"))
    assert "mlplane:workbenches.notebooks: the protected claim kubeflow-user-example-com/scratch-workspace" in text
    assert "`formerly: [scratch]` on it" in text and "stopped: true" in text and "protect: false" in text
    assert f"`mlplane preview --config-file {stack} --save`" in text
    # With formerly the claim is kept: nothing to say.
    renamed = stack_from(tmp_path, "dev", lambda c: _notebook(c).update(name="lab", formerly=["scratch"]))
    assert _render_errors(renamed, tmp_path / "renamed")[0] == 0
    # Dropping the server, or the whole section, is the same deletion.
    dropped = refused(tmp_path, lambda c: c.pop("mlplane:workbenches"))
    assert "the protected claim kubeflow-user-example-com/scratch-workspace" in dropped
    # An unprotected claim (protect: false applied and saved) may go.
    unprotected = stack_from(tmp_path / "u", "dev", lambda c: _notebook(c).update(protect=False))
    assert _render_errors(unprotected, tmp_path / "u" / "base")[0] == 0
    (tmp_path / "u" / ".mlplane" / "baselines").mkdir(parents=True)
    shutil.copy(tmp_path / "u" / "base" / "plan.json", tmp_path / "u" / ".mlplane" / "baselines" / "t.json")
    gone = stack_from(tmp_path / "u", "dev", lambda c: c.pop("mlplane:workbenches"))
    assert _render_errors(gone, tmp_path / "u" / "gone")[0] == 0
