"""Manifest texts reused between renders are exactly the texts a fresh render writes."""

from __future__ import annotations

import json
from pathlib import Path

from mlplane.infra.offline.manifests import manifest_files, to_yaml
from mlplane.infra.offline.yaml_texts import YamlTexts
from tests.conftest import rendered


def test_reused_texts_equal_fresh_ones_and_only_this_render_is_kept(tmp_path: Path) -> None:
    plan = rendered("dev")
    file = tmp_path / "dev.json"
    first = YamlTexts(file)
    fresh = manifest_files(plan, first)
    first.save()
    assert fresh == manifest_files(plan)
    calls: list[object] = []

    def counting(document: dict) -> str:
        calls.append(document)
        return to_yaml(document)

    second = YamlTexts(file)
    again = {path: text for path, text in manifest_files(plan, second).items()}
    assert again == fresh
    reused = YamlTexts(file)
    for resource in plan:
        if resource.is_kubernetes_object:
            reused.text(resource.inputs, counting)
    assert calls == []  # every object's text came from the earlier render
    changed = YamlTexts(file)
    changed.text({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}}, counting)
    changed.save()
    assert len(calls) == 1 and len(json.loads(file.read_text())) == 1  # texts of objects no longer written go


def test_a_damaged_cache_is_only_slower(tmp_path: Path) -> None:
    file = tmp_path / "dev.json"
    file.write_text("{not json")
    document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    assert YamlTexts(file).text(document, to_yaml) == to_yaml(document)
