"""Diffs of serving changes: a new model rolls the endpoint in place; a rename replaces it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlplane.infra.cli import main

from .test_serving_config import GKE, LOCAL


def endpoint(uri: str, version: str) -> str:
    return f"""\
  mlplane:serving:
    endpoints:
      - name: mnist
        model: {{format: tensorflow, uri: "{uri}", version: "{version}"}}
        accelerator: {{pool: l4-mps}}
"""


def volume_endpoint(path: str) -> str:
    return f"""\
  mlplane:serving:
    endpoints:
      - name: mnist
        model: {{format: tensorflow, volume: {{claim: models, path: {path}}}}}
"""


def diff(tmp_path: Path, capsys: pytest.CaptureFixture[str], base: str, old: str, new: str) -> dict:
    """Render the stack with ``old`` and with ``new`` serving sections, then diff the plans."""
    for label, serving in (("old", old), ("new", new)):
        # One stack name for both renders, so URNs line up as they do for one stack.
        folder = tmp_path / label
        folder.mkdir()
        (folder / "Pulumi.s.yaml").write_text(base + serving)
        assert main(["render", "--config-file", str(folder / "Pulumi.s.yaml"), "--out", str(folder / "out")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "old" / "out"), str(tmp_path / "new" / "out"), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def ops(result: dict) -> dict[str, tuple[str, list[str]]]:
    return {c["urn"].rsplit("::", 1)[1]: (c["op"], c["paths"]) for c in result["changes"]}


def test_new_model_uri_updates_the_inference_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = diff(tmp_path, capsys, GKE,
                  endpoint("gs://acme-artifacts/mnist/1", "a1"), endpoint("gs://acme-artifacts/mnist/2", "b2"))
    changes = ops(result)
    assert changes == {"endpoint-mnist-inference-service": ("update", [
        'metadata.labels["mlplane.dev/model-version"]',
        'spec.predictor.labels["mlplane.dev/model-version"]',
        "spec.predictor.model.storageUri",
    ])}
    assert result["summary"]["replace"] == 0 and result["summary"]["update"] == 1
    assert not any(c["danger"] for c in result["changes"])


def test_new_model_path_rolls_the_deployment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = LOCAL.replace('    release: "26.03"\n', '    release: "26.03"\n    components:\n'
                          '      kserve: {enabled: false}\n      models_web_app: {enabled: false}\n')
    result = diff(tmp_path, capsys, plain, volume_endpoint("mnist/1"), volume_endpoint("mnist/2"))
    changes = ops(result)
    assert set(changes) == {"endpoint-mnist-deployment"}
    op, paths = changes["endpoint-mnist-deployment"]
    assert op == "update"
    assert paths == ["spec.template.spec.containers[name=server].volumeMounts[0].subPath"]


def test_moving_an_endpoint_replaces_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = GKE.replace('    release: "26.03"\n', '    release: "26.03"\n    profiles:\n'
                       '      - {name: team-vision, owner: alice@example.com}\n')
    old = """\
  mlplane:serving:
    endpoints:
      - name: scorer
        container: {image: "ghcr.io/acme/scorer:1.0.0"}
"""
    changes = ops(diff(tmp_path, capsys, base, old, old + "        namespace: team-vision\n"))
    op, paths = changes["endpoint-scorer-inference-service"]
    assert op == "replace" and "metadata.namespace" in paths
