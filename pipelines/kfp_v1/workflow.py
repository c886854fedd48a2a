"""KFP v1 pipelines whose flow is decided at run time, as one Argo ``Workflow``.

``dsl.Condition`` on a step's output, ``dsl.ParallelFor`` and ``dsl.ExitHandler`` cannot
be declared step by step in a plan; Kubeflow Pipelines v1 runs such pipelines on Argo
Workflows, whose controller Kubeflow Pipelines installs. This compiles the declaration
into the Workflow KFP 1.8.22 would produce (kfp/compiler/compiler.py
``_create_workflow``, ``_group_to_dag_template``, ``_op_to_template``), in mlplane's own
code: one container template per op, one DAG template per group (``condition-N`` with
``when``, ``for-loop-N`` with ``withItems``/``withParam``, ``exit-handler-N`` with the
exit op as ``onExit``), outputs as parameters and artifacts, values passed down through
each group's inputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mlplane.components.pipeline.spec import (
    ContainerStepSpec,
    SidecarSpec,
    output_placeholder,
    output_references,
    split_placeholders,
)

_LOOP_ITEM = re.compile(r"\{\{mlplane\.loop-item:([^}]+)\}\}")


class WorkflowError(ValueError):
    """A run-time construct this compiler does not handle yet (the message says which)."""


def param_name(step: str, output: str) -> str:
    """The Argo parameter an output travels as: ``<step>-<output>`` (as KFP names it)."""
    return re.sub(r"[^-_0-9A-Za-z]+", "-", f"{step}-{output}")


@dataclass
class _Node:
    """A group (or the pipeline itself) and what it holds, in declaration order."""

    name: str
    group: Any = None
    children: list[Any] = field(default_factory=list)  # _Node or step names
    inputs: dict[str, str] = field(default_factory=dict)  # parameter -> what the parent passes


def _step_refs(step: ContainerStepSpec) -> list[tuple[str, str]]:
    texts = [*step.command, *step.args, *(e.get("value", "") for e in step.env),
             *(json.dumps(v) for v in step.volumes)]
    return [ref for text in texts for ref in output_references(str(text))]


def _file_refs(step: ContainerStepSpec) -> list[tuple[str, str]]:
    return [ref for text in step.input_files.values() for ref in output_references(text)]


def _files_under(node: _Node, steps: dict[str, ContainerStepSpec]) -> list[tuple[str, str]]:
    return [ref for s in _steps_under(node) if s in steps for ref in _file_refs(steps[s])]


def _loop_refs(step: ContainerStepSpec) -> list[str]:
    texts = [*step.command, *step.args, *(e.get("value", "") for e in step.env)]
    return [m for text in texts for m in _LOOP_ITEM.findall(str(text))]


def _text(value: str) -> str:
    """Output and loop-item placeholders as the template's inputs."""
    value = _LOOP_ITEM.sub(lambda m: "{{inputs.parameters." + m.group(1) + "}}", value)
    parts = []
    for part in split_placeholders(value):
        parts.append("{{inputs.parameters." + param_name(*part) + "}}" if isinstance(part, tuple) else part)
    return "".join(parts)


def _container_template(step: ContainerStepSpec, consumed: set[tuple[str, str]],
                        ui_files: dict[str, str] | None = None) -> dict[str, Any]:
    """A container template as KFP 1.8.22 compiles it; ``ui_files``: the KFP UI's files
    (``mlpipeline-ui-metadata``, ``mlpipeline-metrics``), artifacts before the step's own."""
    container: dict[str, Any] = {"image": step.image}
    if step.command:
        container["command"] = [_text(c) for c in step.command]
    if step.args:
        container["args"] = [_text(a) for a in step.args]
    if step.env:
        container["env"] = [{**e, "value": _text(e["value"])} if "value" in e else dict(e) for e in step.env]
    if step.volume_mounts:
        container["volumeMounts"] = [dict(m) for m in step.volume_mounts]
    resources: dict[str, dict[str, str]] = {}
    for field_name, section, key in (("cpu_limit", "limits", "cpu"), ("memory_limit", "limits", "memory"),
                                     ("cpu_request", "requests", "cpu"), ("memory_request", "requests", "memory")):
        value = getattr(step.resources, field_name)
        if value is not None:
            resources.setdefault(section, {})[key] = str(value)
    if step.accelerator is not None:
        resources.setdefault("limits", {})[f"{step.accelerator.vendor}.com/gpu"] = str(step.accelerator.count)
    if resources:
        container["resources"] = resources
    if step.working_dir:
        container["workingDir"] = step.working_dir
    if step.image_pull_policy:
        container["imagePullPolicy"] = step.image_pull_policy
    # As KFP compiles it; mlplane's additions (defaults, placement, security, the mesh
    # opt-out) are made where the stack is known: components/pipeline/workflow_step.py.
    template: dict[str, Any] = {"name": step.name, "container": container}
    if step.sidecars:
        # KFP 1.8.22 _op_to_template: the template's ``sidecars``, Argo stops them when the
        # main container ends.
        template["sidecars"] = [_sidecar(sidecar) for sidecar in step.sidecars]
    parameters = sorted({param_name(*ref) for ref in _step_refs(step)} | set(_loop_refs(step)))
    artifacts = []
    for path, text in sorted(step.input_files.items()):
        references = output_references(text)
        artifact_name = param_name(*references[0]) if references else f"{step.name}-input-{len(artifacts)}"
        artifact: dict[str, Any] = {"name": artifact_name, "path": path}
        if not references:
            artifact["raw"] = {"data": _text(text)}
        artifacts.append(artifact)
    inputs: dict[str, Any] = {}
    if parameters:
        inputs["parameters"] = [{"name": name} for name in parameters]
    if artifacts:
        inputs["artifacts"] = artifacts
    if inputs:
        template["inputs"] = inputs
    if step.file_outputs or ui_files:
        outputs: dict[str, Any] = {"artifacts": [{"name": o, "path": p} for o, p in (ui_files or {}).items()]
                                   + [{"name": param_name(step.name, o), "path": p}
                                      for o, p in sorted(step.file_outputs.items())]}
        used = sorted((o, p) for o, p in step.file_outputs.items() if (step.name, o) in consumed)
        if used:
            outputs["parameters"] = [{"name": param_name(step.name, o), "valueFrom": {"path": p}} for o, p in used]
        template["outputs"] = outputs
    metadata: dict[str, Any] = {}
    if step.pod_annotations:
        metadata["annotations"] = dict(step.pod_annotations)
    if step.pod_labels:
        metadata["labels"] = dict(step.pod_labels)
    if metadata:
        template["metadata"] = metadata
    if step.volumes:
        template["volumes"] = [json.loads(_text(json.dumps(v))) for v in step.volumes]
    if step.retries:
        template["retryStrategy"] = {"limit": step.retries}
    if step.timeout_seconds:
        template["activeDeadlineSeconds"] = step.timeout_seconds
    if step.node_selector:
        template["nodeSelector"] = dict(step.node_selector)
    if step.tolerations:
        template["tolerations"] = [dict(t) for t in step.tolerations]
    return template


def _sidecar(sidecar: SidecarSpec) -> dict[str, Any]:
    """A ``dsl.Sidecar`` as KFP 1.8.22 serializes it (unset fields left out)."""
    body: dict[str, Any] = {"name": sidecar.name, "image": sidecar.image}
    for key, value in (("command", list(sidecar.command)), ("args", list(sidecar.args)),
                       ("env", [dict(e) for e in sidecar.env])):
        if value:
            body[key] = value
    if sidecar.mirror_volume_mounts:
        body["mirrorVolumeMounts"] = True
    return body


@dataclass
class _Call:
    """A graph component's call of itself, where it is made."""

    call: Any


def compile_workflow(name: str, ops: list[Any], steps: dict[str, ContainerStepSpec],
                     service_account: str, parallelism: int | None = None,
                     calls: list[Any] | None = None) -> dict[str, Any]:
    """The Argo Workflow running ``ops`` (their steps by op name), as KFP 1.8.22 compiles it.

    Raises:
        WorkflowError: An op kind or data flow this compiler does not handle yet.
    """
    volume_ops = {op.name: op for op in ops if type(op).__name__ == "VolumeOp"}
    resource_ops = {op.name: op for op in ops if "k8s_resource" in vars(op)}
    steps = _claims_as_outputs(steps, volume_ops, resource_ops)
    for op in ops:
        if op.name not in steps and op.name not in volume_ops and op.name not in resource_ops:
            raise WorkflowError(f"step {op.name!r}: {type(op).__name__} cannot run on the workflow engine yet")
    exit_ops = [op for op in ops if op.is_exit_handler]
    root = _Node(name=name)
    nodes: dict[int, _Node] = {}
    where: dict[str, _Node] = {}  # step -> the node it is a child of
    parents: dict[str, _Node] = {}  # group name -> its parent node
    def place(groups: list[Any]) -> _Node:
        node = root
        for group in groups:
            child = nodes.get(id(group))
            if child is None:
                child = nodes[id(group)] = _Node(name=group.name, group=group)
                node.children.append(child)
                parents[child.name] = node
            node = child
        return node

    for op in ops:
        if op.is_exit_handler:
            continue
        node = place(op.groups)
        node.children.append(op.name)
        where[op.name] = node
    for call in calls or []:
        place(call.groups).children.append(_Call(call))

    def chain(step: str) -> list[_Node]:
        """The nodes from the root down to the one holding ``step``."""
        path = [where[step]]
        while path[-1] is not root:
            path.append(parents[path[-1].name])
        return list(reversed(path))

    def child_of(node: _Node, step: str) -> str | None:
        """The child of ``node`` (a step or a group name) that holds ``step``, if any."""
        path = chain(step)
        if node not in path:
            return None
        index = path.index(node)
        return step if index == len(path) - 1 else path[index + 1].name

    consumed = {ref for step in steps.values() for ref in _step_refs(step)}
    consumed |= {(argument.op_name, argument.name) for call in calls or [] for argument in call.arguments}
    for op in ops:
        group_items = [g.items for g in op.groups if g.kind == "for-loop" and not isinstance(g.items, list)]
        consumed |= {(item.op_name, item.name) for item in group_items}
        for group in op.groups:
            if group.kind == "condition" and group.static is None:
                for operand in (group.condition.operand1, group.condition.operand2):
                    if getattr(operand, "op_name", None):
                        consumed.add((operand.op_name, operand.name))
    templates: dict[str, dict[str, Any]] = {}
    for op in ops:
        if op.name in volume_ops:
            templates[op.name] = _volume_template(op)
        elif op.name in resource_ops:
            templates[op.name] = _resource_template(op)
        else:
            templates[op.name] = _container_template(steps[op.name], consumed, op.output_artifact_paths)

    def value_in(node: _Node, producer: str, output: str, kind: str = "parameters") -> tuple[str, str | None]:
        """How a task in ``node`` refers to an output (a value, or with ``kind`` "artifacts"
        a file): its sibling's output, or the node's input."""
        holder = child_of(node, producer)
        name = param_name(producer, output)
        if holder is not None and holder != producer:
            raise WorkflowError(f"step {producer!r}: its output {output!r} is used outside the condition or loop it is "
                                "in, which is not compiled yet")
        if holder is not None:
            return "{{tasks." + holder + ".outputs." + kind + "." + name + "}}", holder
        node.inputs[name] = "output" if kind == "parameters" else "artifact"
        return "{{inputs." + kind + "." + name + "}}", None

    def dag(node: _Node) -> dict[str, Any]:
        tasks = []
        for child in node.children:
            if isinstance(child, _Call):
                tasks.append(_call_task(node, child.call, value_in))
                continue
            task: dict[str, Any] = {"name": child if isinstance(child, str) else child.name,
                                    "template": child if isinstance(child, str) else child.name}
            needs: list[str] = []
            dependencies: set[str] = set()
            if isinstance(child, str) and (child in volume_ops or child in resource_ops):
                refs, loops, files = [], [], []
                object_op = volume_ops.get(child) or resource_ops[child]
                dependencies |= {d for d in (child_of(node, o) for o in object_op.dependent_names) if d}
            elif isinstance(child, str):
                step = steps[child]
                refs = sorted(set(_step_refs(step)))
                loops = sorted(set(_loop_refs(step)))
                for other in step.after:
                    holder = child_of(node, other)
                    if holder is not None and holder != child:
                        dependencies.add(holder)
                files = sorted(set(_file_refs(step)))
            else:
                inner = dag(child)
                templates[child.name] = inner["template"]
                refs = inner["refs"]
                files = inner["files"]
                loops = inner["loops"]
                dependencies |= {d for d in (child_of(node, s) for s in inner["after"]) if d and d != child.name}
                group = child.group
                if group.kind == "condition":
                    operands = []
                    for operand in (group.condition.operand1, group.condition.operand2):
                        if getattr(operand, "op_name", None):
                            text, holder = value_in(node, operand.op_name, operand.name)
                            if holder:
                                dependencies.add(holder)
                            operands.append(text)
                        else:
                            operands.append(str(operand))
                    if group.condition.operator in ("==", "!="):
                        operands = [f'"{o}"' for o in operands]
                    task["when"] = f"{operands[0]} {group.condition.operator} {operands[1]}"
                if group.kind == "for-loop":
                    if isinstance(group.items, list):
                        task["withItems"] = group.items
                    else:
                        text, holder = value_in(node, group.items.op_name, group.items.name)
                        if holder:
                            dependencies.add(holder)
                        task["withParam"] = text
                    needs.append(group.item_param)
            for producer, output in refs:
                text, holder = value_in(node, producer, output)
                if holder and holder != task["name"]:
                    dependencies.add(holder)
                if holder != task["name"]:
                    task.setdefault("arguments", {}).setdefault("parameters", []).append(
                        {"name": param_name(producer, output), "value": text})
            for producer, output in files:
                source, holder = value_in(node, producer, output, "artifacts")
                if holder is not None:
                    dependencies.add(holder)
                task.setdefault("arguments", {}).setdefault("artifacts", []).append(
                    {"name": param_name(producer, output), "from": source})
            for loop in loops:
                item, _, field_name = loop.partition("-subvar-")  # item.a (kfp/compiler/compiler.py)
                if item in needs:
                    task.setdefault("arguments", {}).setdefault("parameters", []).append(
                        {"name": loop, "value": "{{item." + field_name + "}}" if field_name else "{{item}}"})
                else:
                    node.inputs[loop] = "loop"
                    task.setdefault("arguments", {}).setdefault("parameters", []).append(
                        {"name": loop, "value": "{{inputs.parameters." + loop + "}}"})
            if "arguments" in task:
                for kind in ("parameters", "artifacts"):
                    if kind in task["arguments"]:
                        unique = {item["name"]: item for item in task["arguments"][kind]}
                        task["arguments"][kind] = [unique[k] for k in sorted(unique)]
            if dependencies:
                task["dependencies"] = sorted(dependencies)
            tasks.append(task)
        template: dict[str, Any] = {"name": node.name, "dag": {"tasks": sorted(tasks, key=lambda t: t["name"])}}
        if node.group is not None and node.group.kind == "for-loop":
            template["parallelism"] = node.group.parallelism
        own_refs = sorted({(p, o) for p, o in _refs_under(node, steps) if child_of(node, p) is None})
        parameters = sorted({param_name(p, o) for p, o in own_refs} |
                            {k for k, v in node.inputs.items() if v != "artifact"})
        own_files = sorted({(p, o) for p, o in _files_under(node, steps) if child_of(node, p) is None})
        if node is not root:
            inputs: dict[str, Any] = {}
            if own_files:
                inputs["artifacts"] = [{"name": a} for a in sorted({param_name(p, o) for p, o in own_files})]
            if parameters:
                inputs["parameters"] = [{"name": p} for p in parameters]
            if inputs:
                template["inputs"] = inputs
        held = [s for s in _steps_under(node) if s in steps]
        after = {o for s in held for o in steps[s].after}
        after |= {producer for text in (t for s in held for t in steps[s].input_files.values())
                  for producer, _ in output_references(text)}
        return {"template": template, "refs": own_refs, "files": own_files,
                "loops": sorted({k for k, v in node.inputs.items() if v == "loop"}),
                "after": sorted(a for a in after if child_of(node, a) is None)}

    entry = dag(root)
    templates[name] = entry["template"]
    spec: dict[str, Any] = {
        "entrypoint": name,
        "serviceAccountName": service_account,
        "templates": [templates[key] for key in sorted(templates)],
        "arguments": {"parameters": []},
    }
    if exit_ops:
        spec["onExit"] = exit_ops[0].name
    if parallelism:
        spec["parallelism"] = parallelism
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": name}, "spec": json.loads(json.dumps(spec))}


def _call_task(node: _Node, call: Any, value_in: Any) -> dict[str, Any]:
    """The task running a graph's template again, its arguments under the graph's input names."""
    task: dict[str, Any] = {"name": call.graph.name, "template": call.graph.name}
    parameters, dependencies = [], set()
    for input_name, argument in zip(call.graph.inputs, call.arguments, strict=True):
        text, holder = value_in(node, argument.op_name, argument.name)
        if holder:
            dependencies.add(holder)
        parameters.append({"name": input_name, "value": text})
    if parameters:
        task["arguments"] = {"parameters": sorted(parameters, key=lambda p: p["name"])}
    if dependencies:
        task["dependencies"] = sorted(dependencies)
    return task


def _steps_under(node: _Node) -> list[str]:
    found = []
    for child in node.children:
        if isinstance(child, str):
            found.append(child)
        elif isinstance(child, _Node):
            found += _steps_under(child)
    return found


def _refs_under(node: _Node, steps: dict[str, ContainerStepSpec]) -> list[tuple[str, str]]:
    refs = [ref for s in _steps_under(node) if s in steps for ref in _step_refs(steps[s])]
    for child in node.children:
        if isinstance(child, _Call):
            refs += [(argument.op_name, argument.name) for argument in child.call.arguments]
            continue
        if isinstance(child, _Node):
            group = child.group
            if group.kind == "condition" and group.static is None:
                refs += [(o.op_name, o.name) for o in (group.condition.operand1, group.condition.operand2)
                         if getattr(o, "op_name", None)]
            if group.kind == "for-loop" and not isinstance(group.items, list):
                refs.append((group.items.op_name, group.items.name))
            refs += _refs_under(child, steps)
    return refs


def _claims_as_outputs(steps: dict[str, ContainerStepSpec], volume_ops: dict[str, Any],
                       resource_ops: dict[str, Any]) -> dict[str, ContainerStepSpec]:
    """Steps whose claims of a VolumeOp, or whose arguments and environment holding a
    VolumeOp's or ResourceOp's name (``outputs["name"]`` passed on, as Kale does), refer to
    its ``name`` output, as in KFP: on the workflow engine a claim is made per run, and an
    object's name may hold Argo's per-run placeholders (``{{workflow.uid}}``)."""
    claims = {op.claim_name: op.name for op in volume_ops.values()}
    names = {str(op.outputs["name"]): op.name for op in resource_ops.values()}
    rewritten = {}
    for name, step in steps.items():
        volumes = []
        for volume in step.volumes:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim in claims:
                volume = {**volume, "persistentVolumeClaim": {
                    **volume["persistentVolumeClaim"],
                    "claimName": output_placeholder(claims[claim], "name")}}
            volumes.append(volume)

        def run_claim(text: str) -> str:  # a VolumeOp's or ResourceOp's outputs["name"] passed on (Kale)
            owner = claims.get(text) or names.get(text)
            return output_placeholder(owner, "name") if owner else text

        rewritten[name] = step.model_copy(update={
            "volumes": tuple(volumes), "command": tuple(run_claim(c) for c in step.command),
            "args": tuple(run_claim(a) for a in step.args),
            "env": tuple({**e, "value": run_claim(e["value"])} if "value" in e else e for e in step.env)})
    return rewritten


def _volume_template(op: Any) -> dict[str, Any]:
    """A VolumeOp as KFP 1.8.22 compiles it (kfp/dsl/_volume_op.py, _resource_op.py): a
    resource template creating ``{{workflow.name}}-<resource name>``, with the claim's
    manifest, name and size as outputs."""
    import yaml

    spec: dict[str, Any] = {"accessModes": list(op.modes), "resources": {"requests": {"storage": op.size}}}
    if op.storage_class:
        spec["storageClassName"] = op.storage_class
    manifest = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "{{workflow.name}}-" + op.kfp_resource_name}, "spec": spec}
    outputs = [("manifest", "{}"), ("name", "{.metadata.name}"), ("size", "{.status.capacity.storage}")]
    return {"name": op.name,
            "resource": {"action": "create", "manifest": yaml.safe_dump(manifest, default_flow_style=False)},
            "outputs": {"parameters": [{"name": param_name(op.name, key), "valueFrom": {"jsonPath": path}}
                                       for key, path in outputs]}}


def _resource_template(op: Any) -> dict[str, Any]:
    """A ResourceOp as KFP 1.8.22 compiles it: the object's manifest, its conditions, and
    its name, manifest and attribute outputs read by JSON path."""
    import yaml

    resource: dict[str, Any] = {"action": "create", "manifest": yaml.safe_dump(op.k8s_resource)}
    if op.success_condition:
        resource["successCondition"] = op.success_condition
    if op.failure_condition:
        resource["failureCondition"] = op.failure_condition
    attributes = {"name": "{.metadata.name}", "manifest": "{}", **op.attribute_outputs}
    return {"name": op.name, "resource": resource,
            "outputs": {"parameters": [{"name": param_name(op.name, key), "valueFrom": {"jsonPath": path}}
                                       for key, path in sorted(attributes.items())]}}
