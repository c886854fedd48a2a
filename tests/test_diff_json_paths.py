"""The path form a consumer of ``mlplane diff --format json`` gets is the one README documents.

Items of lists that Kubernetes merges by name are addressed ``containers[name=main]``,
not by position (``containers[0]``); README's example of the JSON diff is checked against
what the diff emits for the same change, key by key.
"""

from __future__ import annotations

import json
import re

from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.report import format_json

from .conftest import ROOT
from .plans import deployment, job, plan


def _documented() -> dict:
    """The JSON example under README's "The JSON diff"."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("#### The JSON diff", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block, "README's JSON diff section lost its example"
    return json.loads(block.group(1))


def test_readme_shows_the_json_diff_as_it_is_emitted() -> None:
    documented = _documented()
    emitted = json.loads(format_json(diff_plans(plan(job(args=("--steps", "200"))),
                                                plan(job(args=("--steps", "500"))))))
    assert emitted["summary"] == documented["summary"]
    assert len(emitted["changes"]) == len(documented["changes"])
    for shown, actual in zip(documented["changes"], emitted["changes"], strict=True):
        assert {key: actual.get(key) for key in shown} == shown
    paths = [p for change in documented["changes"] for p in change["paths"]]
    assert paths == ["spec.template.spec.containers[name=main].args[1]"]  # by name, not containers[0]


def test_no_named_list_item_is_addressed_by_position() -> None:
    old = deployment()
    new = deployment(image="web:v2")
    new.inputs["spec"]["template"]["spec"]["containers"].insert(0, {"name": "sidecar", "image": "proxy:v1"})
    emitted = json.loads(format_json(diff_plans(plan(old), plan(new))))
    paths = {p for change in emitted["changes"] for p in change["paths"]}
    assert paths == {"spec.template.spec.containers[name=main].image", "spec.template.spec.containers[name=sidecar]"}
    assert not any(re.search(r"(containers|env|volumes)\[\d+\]", p) for p in paths)


def test_index_patterns_in_options_still_match_the_item_at_that_position() -> None:
    old = deployment(replace_on_changes=("spec.template.spec.containers[0].image",))
    new = deployment(image="web:v2", replace_on_changes=("spec.template.spec.containers[0].image",))
    change = diff_plans(plan(old), plan(new)).find("web")
    assert change.op == "replace" and change.paths == ("spec.template.spec.containers[name=main].image",)
    ignored = ("spec.template.spec.containers[0].image",)
    assert diff_plans(plan(deployment(ignore_changes=ignored)),
                      plan(deployment(image="web:v2", ignore_changes=ignored))).find("web") is None
