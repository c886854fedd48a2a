"""``mlplane:images.digests``: every image the expanded plans run pinned by digest, through the
registered transform; ``mlplane images`` lists them; bad maps exit 2."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.components.images import pin
from mlplane.components.images.pin import DIGEST_TRANSFORM, pin_object
from mlplane.components.images.refs import parse, uses
from mlplane.infra.cli import main
from mlplane.infra.offline.manifests import manifest_files
from mlplane.infra.offline.plan import STACK_TYPE
from mlplane.infra.offline.render import render_config
from mlplane.policy.images import has_digest, image_uses

from .conftest import ROOT, load_stack
from .expansion import RELEASES, expansion_cache, expanded, needs_upstream, onprem_on, sources_folder

pytestmark = [needs_upstream, pytest.mark.usefixtures("expansion_scratch")]


def fake_digest(image: str) -> str:
    """A well-formed digest, made up (nothing here resolves a real one)."""
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _with_images(path: Path, images: dict[str, Any]) -> Path:
    document = yaml.safe_load(path.read_text())
    document["config"]["mlplane:images"] = images
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _file_uses(files: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(manifest file, path, image)`` for every image the manifests name."""
    found = []
    for name in sorted(files):
        for document in yaml.safe_load_all(files[name]):
            found += [(name, u.path, u.image) for u in uses(document)]
    return found


def _manifest_uses(out: Path) -> list[tuple[str, str, str]]:
    folder = out / "manifests"
    return _file_uses({str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*.yaml")})


def _onprem(train: str, tmp_path: Path) -> Path:
    """The onprem stack file on ``train``, in a folder of its own (the repository's stays as it is)."""
    onprem_on(train, tmp_path / "stack")
    return tmp_path / "stack" / "Pulumi.onprem.yaml"


@pytest.fixture
def session_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads the session's expansions ($XDG_CACHE_HOME/mlplane/expansions)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(expansion_cache().parent.parent))


@pytest.mark.parametrize("train", RELEASES)
def test_a_full_digest_map_pins_every_image_and_satisfies_require_digest(
        train: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], session_cache: None) -> None:
    stack = _onprem(train, tmp_path)
    sources = str(sources_folder())
    # What the plan runs and where, before pinning: the listing's JSON, filled with made-up digests.
    code, listing, err = _cli(["images", "--config-file", str(stack), "--sources", sources, "--format", "json"],
                              capsys)
    assert code == 0, err
    listed = json.loads(listing)
    assert listed["unexpanded"] == 0
    skeleton = listed["digests"]
    assert len(skeleton) > 60 and set(skeleton.values()) == {""}
    digests = {image: fake_digest(image) for image in skeleton}
    before = _file_uses(manifest_files(expanded(train).plan))  # the session's render of the same stack

    _with_images(stack, {"require_digest": True, "digests": digests})
    out = tmp_path / "pinned"
    code, _, err = _cli(["render", "--config-file", str(stack), "--sources", sources, "--out", str(out)], capsys)
    assert code == 0, err
    assert "does not run" not in err  # every entry is used
    after = _manifest_uses(out)
    # The same places name images, each now with its digest (the tag kept), none by tag alone.
    assert [(f, p) for f, p, _ in after] == [(f, p) for f, p, _ in before]
    for (file, path, old), (_, _, new) in zip(before, after, strict=True):
        expected = old if has_digest(old) else f"{old}@{digests[old]}"
        assert new == expected, (file, path)
    assert all(has_digest(image) for _, _, image in after)
    where = {re.sub(r"\[\d+\]", "[]", p) for _, p, image in before if not has_digest(image)}
    # Containers, init containers, env values, args, ConfigMap values and embedded configs all covered.
    assert {"spec.template.spec.containers[].image", "spec.template.spec.initContainers[].image",
            "spec.template.spec.containers[].env[].value", "spec.template.spec.containers[].args[]",
            "data.cacheImage", "data.storageInitializer", "data.katib-config.yaml"} <= where
    if train == "26.03":
        kinds = {f.split("/")[-1].split("-")[0] for f, _, _ in before}
        assert {"Deployment", "StatefulSet", "DaemonSet", "Job", "ClusterServingRuntime", "ConfigMap",
                "ClusterTrainingRuntime", "ClusterStorageContainer"} <= kinds

    # A missing entry is refused, naming that image; nothing written.
    missing = sorted(digests)[len(digests) // 2]
    _with_images(stack, {"require_digest": True, "digests": {k: v for k, v in digests.items() if k != missing}})
    code, _, err = _cli(["render", "--config-file", str(stack), "--sources", sources, "--out", str(tmp_path / "no")],
                        capsys)
    assert code == 2 and "Traceback" not in err
    assert str(stack) in err and "mlplane:images.require_digest" in err
    assert f"'{missing}'" in err and "mlplane:images.digests" in err
    assert not (tmp_path / "no").exists()


def test_the_listing_is_a_skeleton_to_paste(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           session_cache: None) -> None:
    stack = _onprem("26.03", tmp_path)
    kept = "ghcr.io/kubeflow/kfp-api-server:2.16.0"
    _with_images(stack, {"digests": {kept: fake_digest(kept)}})
    code, text, err = _cli(["images", "--config-file", str(stack), "--sources", str(sources_folder())], capsys)
    assert code == 0, err
    skeleton = yaml.safe_load(text)["mlplane:images"]["digests"]
    assert skeleton[kept] == fake_digest(kept)  # an entry the stack has keeps its digest
    assert skeleton["ghcr.io/kubeflow/kfp-launcher:2.16.0"] == ""  # an env value (KFP's launcher)
    assert skeleton["kserve/storage-initializer:v0.16.0"] == ""
    assert "# platform-apps-pipelines-pipelines:kubeflow/ml-pipeline spec.template.spec.containers[0].env" in text
    # Upstream's own digests need no entry; they are listed as comments.
    assert not any("@sha256:" in key for key in skeleton)
    assert "#   gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:" in text
    # istiod's sidecar is named by hub and tag at admission: said, not silently left out.
    assert "# Injected by istiod at admission, named by hub and tag (cannot be pinned here): " \
           "docker.io/istio/proxyv2:1.29.0" in text


def test_the_registered_transform_is_the_only_code_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Own objects and expanded children alike are pinned by the stack transform the program
    registers: with its function made a no-op, nothing is pinned."""
    image = "gcr.io/kubeflow-examples/mnist/model:v20190304-v0.2-176-g15d997b"
    path = tmp_path / "Pulumi.dev.yaml"
    base = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    base["config"]["mlplane:images"] = {"digests": {image: fake_digest(image)}}
    path.write_text(yaml.safe_dump(base))
    from mlplane.infra.load import load_stack_file

    config = load_stack_file(path, stack="dev", display="Pulumi.dev.yaml")
    plan = render_config(config)
    stack = next(r for r in plan if r.type == STACK_TYPE)
    registered = plan.transforms[stack.urn]
    assert [getattr(t, DIGEST_TRANSFORM) for t in registered] == [(image,)]
    assert f"{image}@{fake_digest(image)}" in {u.image for u in image_uses(plan)}
    monkeypatch.setattr(pin, "pinned", lambda image, digests: image)
    unpinned = render_config(config)
    assert image in {u.image for u in image_uses(unpinned)}
    assert not any(has_digest(u.image) for u in image_uses(unpinned))
    assert plan.resources != unpinned.resources


def test_without_digests_nothing_is_registered_and_the_plan_is_unchanged() -> None:
    plan = render_config(load_stack("dev"))
    stack = next(r for r in plan if r.type == STACK_TYPE)
    assert stack.urn not in plan.transforms


@pytest.mark.parametrize(("digests", "key_path", "shown", "allowed"), [
    ({"ghcr.io/kubeflow/kfp-api-server": "sha256:" + "a" * 64},
     'mlplane:images.digests["ghcr.io/kubeflow/kfp-api-server"]', "has no tag", "<name>:<tag>"),
    ({"ghcr.io/kubeflow/kfp-api-server:2.16.0": "sha256:abc"},
     'mlplane:images.digests["ghcr.io/kubeflow/kfp-api-server:2.16.0"]', "'sha256:abc'", "64 lowercase hex"),
    ({"ghcr.io/kubeflow/kfp-api-server:2.16.0": "a" * 64},
     'mlplane:images.digests["ghcr.io/kubeflow/kfp-api-server:2.16.0"]', "'" + "a" * 64 + "'", "sha256:"),
    ({"ghcr.io/x:1@sha256:" + "a" * 64: "sha256:" + "a" * 64},
     "mlplane:images.digests", "carries a digest already", "<name>:<tag>"),
    ({"Not An Image:1": "sha256:" + "a" * 64}, "mlplane:images.digests", "is not an image reference", "<name>:<tag>"),
    ({"ghcr.io/x:1": 5}, 'mlplane:images.digests["ghcr.io/x:1"]', "must be a string", None),
])
def test_a_malformed_digest_map_exits_2(digests: dict[str, Any], key_path: str, shown: str, allowed: str | None,
                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    base["config"]["mlplane:images"] = {"digests": digests}
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump(base))
    out = tmp_path / "out"
    code, _, err = _cli(["render", "--config-file", str(stack), "--out", str(out)], capsys)
    assert code == 2 and "Traceback" not in err
    assert str(stack) in err and key_path in err and shown in err
    if allowed:
        assert allowed in err
    assert not out.exists()


def test_an_entry_the_plan_does_not_run_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        session_cache: None) -> None:
    stack = _onprem("26.03", tmp_path)
    typo = "ghcr.io/kubeflow/kfp-api-server:2.16.1"
    _with_images(stack, {"digests": {typo: fake_digest(typo)}})
    code, _, err = _cli(["render", "--config-file", str(stack), "--sources", str(sources_folder()),
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert "warning:" in err and "mlplane:images.digests names 1 image(s) the plan does not run" in err
    assert repr(typo) in err


# --- the scan and the pinning, on objects -------------------------------------------------------

D = "sha256:" + "d" * 64


def test_every_pod_shape_is_pinned() -> None:
    digests = {"reg.example/app:1": D, "reg.example/init:2": D, "busybox:1.36": D, "reg.example/debug:3": D}
    pod = {"initContainers": [{"name": "i", "image": "reg.example/init:2"}],
           "containers": [{"name": "m", "image": "reg.example/app:1",
                           "env": [{"name": "HELPER_IMAGE", "value": "busybox:1.36"},
                                   {"name": "URL", "value": "ml-pipeline.kubeflow:8888"}],
                           "args": ["--executor-image=reg.example/app:1", "--port", "8080"]}],
           "ephemeralContainers": [{"name": "e", "image": "reg.example/debug:3"}]}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "annotations": {
        "note": "reg.example/app:1"}}, "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}}
    patched = pin_object(cron, digests)
    assert patched is not None and cron["spec"]["jobTemplate"]["spec"]["template"]["spec"] is pod  # not changed
    spec = patched["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert spec["initContainers"][0]["image"] == f"reg.example/init:2@{D}"
    assert spec["containers"][0]["image"] == f"reg.example/app:1@{D}"
    assert spec["containers"][0]["env"][0]["value"] == f"busybox:1.36@{D}"
    assert spec["containers"][0]["env"][1]["value"] == "ml-pipeline.kubeflow:8888"  # a host and port
    assert spec["containers"][0]["args"] == [f"--executor-image=reg.example/app:1@{D}", "--port", "8080"]
    assert spec["ephemeralContainers"][0]["image"] == f"reg.example/debug:3@{D}"
    assert patched["metadata"]["annotations"]["note"] == "reg.example/app:1"  # metadata runs nothing
    assert pin_object(patched, digests) is None  # pinned once, never twice


def test_images_inside_configmap_documents_are_pinned() -> None:
    digests = {"kserve/storage-initializer:v0.16.0": D, "kserve/agent:v0.16.0": D, "tensorflow/tensorflow:2.5.1": D}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inferenceservice-config"}, "data": {
        "storageInitializer": '{\n "image" : "kserve/storage-initializer:v0.16.0",\n "cpuRequest": "100m"}',
        "agent": '{"image": "kserve/agent:v0.16.0"}',
        "TENSORBOARD_IMAGE": "tensorflow/tensorflow:2.5.1",
        "_example": "image: kserve/agent:v0.16.0",
        "credentials": '{"gcs": {"gcsCredentialFileName": "gcloud-application-credentials.json"}, '
                       '"url": "https://storage.example/bucket/model:v1"}'}}
    assert [u.image for u in uses(config)] == ["kserve/storage-initializer:v0.16.0", "kserve/agent:v0.16.0",
                                               "tensorflow/tensorflow:2.5.1"]
    data = pin_object(config, digests)["data"]  # type: ignore[index]
    assert data["storageInitializer"] == f'{{\n "image" : "kserve/storage-initializer:v0.16.0@{D}",\n "cpuRequest": "100m"}}'
    assert data["agent"] == f'{{"image": "kserve/agent:v0.16.0@{D}"}}'
    assert data["TENSORBOARD_IMAGE"] == f"tensorflow/tensorflow:2.5.1@{D}"
    assert data["_example"] == "image: kserve/agent:v0.16.0"  # documentation, read by no controller
    assert data["credentials"] == config["data"]["credentials"]


def test_references_parse_as_distribution_reference_does() -> None:
    assert parse("ghcr.io/kubeflow/kfp-api-server:2.16.0") is not None
    ref = parse(f"localhost:5000/team/app:v1@{D}")
    assert ref is not None and (ref.name, ref.tag, ref.digest) == ("localhost:5000/team/app", "v1", D)
    assert parse("mysql").tag is None  # type: ignore[union-attr]
    for bad in ("team/Upper:1", "app:", "app@sha256:abc", "-app:1", "app:-1"):
        assert parse(bad) is None, bad
