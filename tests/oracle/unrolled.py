"""KFP's Workflow with its literal loops run out: the oracle for unrolled ``ParallelFor``\\ s.

KFP 1.8.22 compiles ``ParallelFor`` over a literal list into a ``for-loop-N`` DAG task
with ``withItems``; Argo runs the DAG once per item. :func:`flatten_literal_loops`
does what Argo does, on paper: every container task inside a loop becomes one root task
per iteration, its template instantiated for that item, so the existing per-step
comparison (:func:`tests.oracle.kfp_oracle.oracle_steps`) applies.

The deliberate normalization: a copy is named ``<task>-<loop template>-<index>`` (the
name mlplane gives it; Argo's own node name, ``for-loop-2(0:a)``, is no Kubernetes
name), and its outputs ``<task>-<output>`` are renamed with it. The rest is Argo's
semantics: ``{{item}}`` is the item (a string as is, anything else as compact JSON with
sorted keys, as Go's ``json.Marshal`` writes it), ``{{item.k}}`` its field ``k``; a
task depending on a loop task depends on every task the loop runs; a loop task's own
dependencies hold for every task inside it.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

_INPUT = re.compile(r"\{\{inputs\.(parameters|artifacts)\.([^}]+)\}\}")
_TASK = re.compile(r"\{\{tasks\.([^.]+)\.outputs\.(parameters|artifacts)\.([^}]+)\}\}")


def _item_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def flatten_literal_loops(workflow: dict[str, Any]) -> dict[str, Any]:
    """``workflow`` with every ``withItems`` loop unrolled into root tasks (see the module)."""
    workflow = copy.deepcopy(workflow)
    spec = workflow["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    root = templates[spec["entrypoint"]]
    made: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []

    def members(dag: dict[str, Any], suffix: str) -> dict[str, list[str]]:
        """The root tasks each task of ``dag`` becomes."""
        found: dict[str, list[str]] = {}
        for task in dag["tasks"]:
            template = templates[task["template"]]
            if "dag" not in template:
                found[task["name"]] = [task["name"] + suffix]
                continue
            names: list[str] = []
            for index, _ in enumerate(task["withItems"]):
                names += [n for ns in members(template["dag"], f"{suffix}-{task['template']}-{index}").values()
                          for n in ns]
            found[task["name"]] = names
        return found

    def expand(dag: dict[str, Any], values: dict[str, str], suffix: str, inherited: list[str]) -> None:
        names = members(dag, suffix)

        def text(value: str, item: Any = None) -> str:
            if item is not None:
                if value == "{{item}}":
                    return _item_text(item)
                field = re.fullmatch(r"\{\{item\.([^}]+)\}\}", value)
                if field:
                    return _item_text(item[field.group(1)])
            def task_output(m: re.Match[str]) -> str:
                [producer] = names[m.group(1)]
                return "{{tasks." + producer + ".outputs." + m.group(2) + "." + producer + \
                    m.group(3)[len(m.group(1)):] + "}}"

            # This scope's task outputs first: an input's value names tasks of the outer scope.
            value = _TASK.sub(task_output, value)
            return _INPUT.sub(lambda m: values.get(f"{m.group(1)}.{m.group(2)}", m.group(0)), value)

        for task in dag["tasks"]:
            template = templates[task["template"]]
            waits = inherited + [n for d in task.get("dependencies") or [] for n in names[d]]
            if "dag" in template:
                for index, item in enumerate(task["withItems"]):
                    arguments = task.get("arguments") or {}
                    inner = {f"parameters.{p['name']}": text(str(p["value"]), item)
                             for p in arguments.get("parameters", [])}
                    inner.update({f"artifacts.{a['name']}": text(a["from"]) for a in arguments.get("artifacts", [])})
                    expand(template["dag"], inner, f"{suffix}-{task['template']}-{index}", waits)
                continue
            name = task["name"] + suffix
            instance = copy.deepcopy(template)
            instance["name"] = name
            for kind in ("parameters", "artifacts"):
                for entry in (instance.get("outputs") or {}).get(kind, []):
                    entry["name"] = name + entry["name"][len(task["name"]):]
            flat: dict[str, Any] = {"name": name, "template": name}
            arguments = copy.deepcopy(task.get("arguments") or {})
            for parameter in arguments.get("parameters", []):
                parameter["value"] = text(str(parameter["value"]))
            for artifact in arguments.get("artifacts", []):
                if "from" in artifact:
                    artifact["from"] = text(artifact["from"])
            if arguments:
                flat["arguments"] = arguments
            if waits:
                flat["dependencies"] = sorted(set(waits))
            tasks.append(flat)
            made.append(instance)

    pipeline_parameters = {f"parameters.{p['name']}": "{{inputs.parameters." + p["name"] + "}}"
                           for p in (spec.get("arguments") or {}).get("parameters", [])}
    expand(root["dag"], pipeline_parameters, "", [])
    spec["templates"] = [{**root, "dag": {"tasks": tasks}}, *made]
    return workflow
