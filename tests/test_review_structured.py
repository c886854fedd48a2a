"""Structured values are diffed as structures: JSON and YAML inside strings, Workflow items by name.

A Workflow's ``podSpecPatch`` is a JSON document in a string and its templates, DAG tasks
and parameters are named lists; a ConfigMap's value is often YAML. A reviewer sees the
field that changed (``podSpecPatch<json>.containers[name=main].resources...``,
``templates[name=train]``), not an escaped blob or a position. A long value cut for the
report keeps every part that changed visible (the new ``?ref=26.03`` of a directory URL).
"""

from __future__ import annotations

import json

from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.paths import Parsed, parsed, value_at
from mlplane.infra.offline.report import format_text
from mlplane.infra.offline.shown import elided

from .plans import k8s, plan

WORKFLOW = "kubernetes:argoproj.io/v1alpha1:Workflow"


def _workflow(gpus: int, steps: str = "200", extra_template: bool = False):
    patch = json.dumps({"containers": [{"name": "main", "resources": {"limits": {"nvidia.com/gpu": gpus}}}]})
    templates = [
        {"name": "pipeline", "dag": {"tasks": [{"name": "train", "template": "train"},
                                               {"name": "serve", "template": "serve", "dependencies": ["train"]}]}},
        {"name": "train", "podSpecPatch": patch, "inputs": {"parameters": [{"name": "steps", "value": steps}]},
         "container": {"image": "trainer:v1"}},
        {"name": "serve", "container": {"image": "server:v1"}},
    ]
    if extra_template:  # a new first template: positions shift, names do not
        templates.insert(0, {"name": "prepare", "container": {"image": "prep:v1"}})
    return k8s(WORKFLOW, "mnist", {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                                   "metadata": {"name": "mnist", "namespace": "ml"},
                                   "spec": {"entrypoint": "pipeline", "templates": templates}})


def test_json_inside_a_workflow_string_is_diffed_as_a_structure() -> None:
    change = diff_plans(plan(_workflow(1)), plan(_workflow(2))).find("mnist")
    path = 'spec.templates[name=train].podSpecPatch<json>.containers[name=main].resources.limits["nvidia.com/gpu"]'
    assert change.paths == (path,)
    assert [(v.before, v.after) for v in change.values] == [(1, 2)]
    assert f"{path}: 1 → 2" in format_text(diff_plans(plan(_workflow(1)), plan(_workflow(2))))


def test_workflow_templates_and_parameters_are_addressed_by_name() -> None:
    change = diff_plans(plan(_workflow(1)), plan(_workflow(1, steps="500", extra_template=True))).find("mnist")
    assert set(change.paths) == {"spec.templates[name=prepare]",
                                 "spec.templates[name=train].inputs.parameters[name=steps].value"}


def test_yaml_inside_a_config_map_is_diffed_as_a_structure() -> None:
    def config(replicas: int):
        return k8s("kubernetes:core/v1:ConfigMap", "settings", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "ml"},
            "data": {"config.yaml": f"sharing:\n  timeSlicing:\n    resources:\n      - name: nvidia.com/gpu\n"
                                    f"        replicas: {replicas}\nversion: v1\n"}})

    change = diff_plans(plan(config(2)), plan(config(4))).find("settings")
    assert change.paths == ('data["config.yaml"]<yaml>.sharing.timeSlicing.resources[0].replicas',)
    assert [(v.before, v.after) for v in change.values] == [(2, 4)]
    assert change.op == "replace" and 'data["config.yaml"]<yaml>' in change.reason  # a ConfigMap's data is force-new


def test_strings_that_are_not_documents_stay_strings() -> None:
    assert parsed("plain text") is None and parsed("a: b") is None  # one line: a value, not a document
    assert parsed("{not json") is None and parsed('"quoted"') is None
    assert parsed('{"a": 1}') == ("json", {"a": 1}) and parsed("a: 1\nb: 2\n") == ("yaml", {"a": 1, "b": 2})
    assert value_at({"p": '{"a": {"b": 3}}'}, ("p", Parsed("json"), "a", "b")) == 3


def test_a_cut_value_keeps_every_change_visible() -> None:
    before = "https://github.com/kubeflow/manifests//common/knative/knative-serving/overlays/gateways?ref=v1.8.1"
    after = "https://github.com/kubeflow/manifests//common/knative/knative-serving/overlays/gateways?ref=26.03"
    old, new = elided(before, after)
    assert old.endswith('?ref=v1.8.1"') and new.endswith('?ref=26.03"') and new.startswith("…")
    script = "set -e\n" + "".join(f"echo step {i}\n" for i in range(40))
    # Two changes far apart: both shown, the unchanged text between them cut.
    changed = script.replace("echo step 3\n", "echo step three\n").replace("echo step 36\n", "echo step 36!\n")
    old, new = elided(script, changed)
    assert "step three" in new and "step 36!" in new and "step 3\\n" in old and "…" in new
    assert "step 20" not in new
