"""Calling a KFP v1 component: arguments in, one ``ContainerOp`` out.

The command line is resolved as KFP 1.8.22 resolves it when a pipeline is compiled
(``kfp/components/_components.py: _resolve_command_line_and_paths`` and
``kfp/dsl/_component_bridge.py: _create_container_op_from_component_and_arguments``):
defaults fill missing inputs, ``inputValue`` becomes the argument's text, ``inputPath``
``/tmp/inputs/<input>/data`` (a file the step receives), ``outputPath``
``/tmp/outputs/<output>/data`` (an output of the step), ``concat`` joins, ``if`` picks a
branch by its condition, ``isPresent`` says whether an argument was given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlplane.pipelines.kfp_v1.component_spec import ComponentSpec
from mlplane.pipelines.kfp_v1.context import current
from mlplane.pipelines.kfp_v1.lightweight import serialize
from mlplane.pipelines.kfp_v1.naming import file_name, unique_python_names

_TRUE = {"y", "yes", "t", "true", "on", "1"}
_FALSE = {"n", "no", "f", "false", "off", "0"}


class _Resolver:
    """Expands a component's command line for one set of arguments."""

    def __init__(self, spec: ComponentSpec, arguments: dict[str, Any]) -> None:
        self.spec = spec
        self.arguments = arguments
        self.input_paths: dict[str, str] = {}
        self.by_value: set[str] = set()
        self.output_paths: dict[str, str] = {
            output.name: spec.file_outputs[output.name] for output in spec.outputs if output.name in spec.file_outputs
        }

    def missing(self, name: str) -> None:
        raise current().refuse(f"component {self.spec.name!r}", f"needs a value for its input {name!r} "
                                                                f"({self.spec.source})")

    def part(self, item: Any) -> Any:
        if item is None:
            return None
        if isinstance(item, str):
            return item
        if isinstance(item, list):
            return self.items(item)
        kind = item[0]
        if kind == "inputValue":
            value = self.arguments.get(item[1])
            if value is None:
                if self.spec.input(item[1]).optional:
                    return None
                self.missing(item[1])
            try:
                self.by_value.add(item[1])
                return serialize(value, self.spec.input(item[1]).type)
            except ValueError as exc:
                raise current().refuse(f"component {self.spec.name!r}", f"input {item[1]!r}: {exc}") from None
        if kind == "inputPath":
            if self.arguments.get(item[1]) is None:
                if self.spec.input(item[1]).optional:
                    return None
                self.missing(item[1])
            self.input_paths[item[1]] = f"/tmp/inputs/{file_name(item[1])}/data"  # noqa: S108 - KFP's path
            return self.input_paths[item[1]]
        if kind == "outputPath":
            path = f"/tmp/outputs/{file_name(item[1])}/data"  # noqa: S108 - KFP's path
            if self.output_paths.get(item[1], path) != path:
                raise current().refuse(f"component {self.spec.name!r}",
                                       f"output {item[1]!r} has two files: {self.output_paths[item[1]]} and {path}")
            self.output_paths[item[1]] = path
            return path
        if kind == "isPresent":
            return str(self.arguments.get(item[1]) is not None)
        if kind == "concat":
            return "".join(self.items(item[1]))
        if kind == "if":
            condition = self.part(item[1])
            chosen = item[2] if condition and _truth(str(condition), self.spec) else item[3]
            if chosen is None:
                return []
            return self.items(chosen) if isinstance(chosen, list) else self.part(chosen)
        raise AssertionError(kind)

    def items(self, items: list[Any]) -> list[str]:
        expanded: list[str] = []
        for item in items:
            value = self.part(item)
            if value is None:
                continue
            if isinstance(value, list):
                expanded += value
            else:
                expanded.append(str(value))
        return expanded


def _truth(text: str, spec: ComponentSpec) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise current().refuse(f"component {spec.name!r}", f"an if condition is {text!r}, which is neither true nor false")


def _with_defaults(spec: ComponentSpec, arguments: dict[str, Any]) -> dict[str, Any]:
    filled = dict(arguments)
    for port in spec.inputs:
        if port.name not in filled and port.default is not None:
            value = port.default
            if port.type == "Integer":
                value = int(value)
            elif port.type == "Float":
                value = float(value)
            filled[port.name] = value
    return filled


def instantiate(spec: ComponentSpec, arguments: dict[str, Any]) -> Any:
    """A ``ContainerOp`` running ``spec`` with ``arguments`` (input name -> value)."""
    from mlplane.pipelines.kfp_v1.api.dsl import BaseOp, ContainerOp

    for name, value in arguments.items():
        if isinstance(value, BaseOp):
            raise current().refuse(f"component {spec.name!r}", f"input {name!r} got an op; pass one of its outputs "
                                                               "(op.output or op.outputs[name])")
    resolver = _Resolver(spec, _with_defaults(spec, arguments))
    command = resolver.items(spec.command)
    args = resolver.items(spec.args)
    # Every declared output has a file, used on the command line or not (kfp 1.8.22
    # ContainerOp._set_metadata).
    file_outputs = dict(resolver.output_paths)
    for output in spec.output_names():
        file_outputs.setdefault(output, f"/tmp/outputs/{file_name(output)}/data")  # noqa: S108 - KFP's path
    op = ContainerOp(name=spec.name or "Component", image=spec.image, command=command, arguments=args,
                     file_outputs=file_outputs, _from_component=True)
    # Every argument not consumed by value reaches the step as a file, at its input path
    # or /tmp/inputs/<input>/data (kfp 1.8.22 ContainerOp._set_metadata and
    # _component_bridge: artifact_arguments minus the inputs consumed by value).
    for name, value in resolver.arguments.items():
        if name in resolver.by_value:
            continue
        path = resolver.input_paths.get(name, f"/tmp/inputs/{file_name(name)}/data")  # noqa: S108 - KFP's path
        op.input_files[path] = value if isinstance(value, str) else serialize(value, spec.input(name).type)
    python = unique_python_names(spec.output_names())
    for output in spec.output_names():
        if python[output] not in op.outputs and output in op.outputs:
            op.outputs[python[output]] = op.outputs[output]
    for key, value in spec.env.items():
        op.container.add_env_variable({"name": key, "value": value})
    for key, value in spec.annotations.items():
        op.add_pod_annotation(key, value)
    for key, value in spec.labels.items():
        op.add_pod_label(key, value)
    return op


def task_factory(spec: ComponentSpec) -> Callable[..., Any]:
    """The function a pipeline calls to add a step running ``spec``.

    Positional arguments follow KFP's order (required inputs first); keywords are the
    inputs' Python names. An unknown keyword or a missing required input is an error
    naming the component, the input and the pipeline's line.
    """
    names = [port.name for port in spec.inputs]
    python = unique_python_names(names)
    by_python = {value: key for key, value in python.items()}
    ordered = [p for p in spec.inputs if p.default is None and not p.optional] + \
              [p for p in spec.inputs if not (p.default is None and not p.optional)]

    def create(*args: Any, **kwargs: Any) -> Any:
        if len(args) > len(ordered):
            raise current().refuse(f"component {spec.name!r}", f"takes {len(ordered)} positional arguments, "
                                                               f"got {len(args)}")
        given: dict[str, Any] = {port.name: value for port, value in zip(ordered, args, strict=False)}
        for key, value in kwargs.items():
            if key not in by_python:
                raise current().refuse(f"component {spec.name!r}",
                                       f"has no input {key!r} (inputs: {', '.join(python[n] for n in names) or 'none'})")
            if by_python[key] in given:
                raise current().refuse(f"component {spec.name!r}", f"got two values for input {key!r}")
            given[by_python[key]] = value
        for port in spec.inputs:
            if port.name not in given and port.default is not None and not port.optional:
                given[port.name] = port.default  # the factory's own default (kfp _dynamic)
            if port.name not in given and not port.optional and port.default is None:
                raise current().refuse(f"component {spec.name!r}", f"needs a value for its input "
                                                                   f"{python[port.name]!r} ({spec.source})")
        return instantiate(spec, given)

    create.__name__ = python.get(spec.name or "", "component") if spec.name else "component"
    create.component_spec = spec  # type: ignore[attr-defined]
    return create
