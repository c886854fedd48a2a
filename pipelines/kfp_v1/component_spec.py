"""KFP v1 component specs (``component.yaml``), read into plain data.

The format is KFP's (kfp 1.8.22 ``kfp/components/_structures.py``): ``name``,
``description``, ``metadata.{annotations,labels}``, ``inputs``/``outputs`` (``name``,
``type``, ``default``, ``optional``), ``implementation.container`` (``image``,
``command``, ``args``, ``env``, the older ``fileOutputs``). Command-line items are
strings or one-key maps: ``inputValue``, ``inputPath``, ``outputPath``, ``concat``,
``if`` (``cond``/``then``/``else``) and ``isPresent``. Graph components and the v2
placeholders (``inputUri``, ``executorInput``, ...) are refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: A command-line item: a literal, or ``(kind, payload)`` for a placeholder.
Item = Any

_NAMED = {"inputValue", "inputPath", "outputPath", "isPresent"}
_V2_ONLY = {"inputUri", "outputUri", "inputMetadata", "outputMetadata", "inputOutputPortName", "executorInput"}


class ComponentSpecError(ValueError):
    """A document that is not a valid KFP v1 component spec (the message says where)."""


@dataclass(frozen=True)
class InputSpec:
    """A component input: name, type name, default (a string or None), optional."""

    name: str
    type: Any = None
    default: Any = None
    optional: bool = False


@dataclass(frozen=True)
class OutputSpec:
    """A component output: name and type name."""

    name: str
    type: Any = None


@dataclass
class ComponentSpec:
    """A container component: interface and implementation.

    Attributes:
        name: The component's name (the task's name, sanitized as KFP does).
        description: Its description.
        inputs: Its inputs, in declaration order.
        outputs: Its outputs, in declaration order.
        image: The container image.
        command: Command items (literals and placeholders).
        args: Argument items.
        env: Environment variables, in order.
        file_outputs: Outputs at fixed paths (the older ``fileOutputs``).
        annotations: ``metadata.annotations`` (become pod annotations).
        labels: ``metadata.labels`` (become pod labels).
        source: Where the spec came from, for messages.
    """

    name: str | None
    description: str | None
    inputs: list[InputSpec]
    outputs: list[OutputSpec]
    image: str
    command: list[Item] = field(default_factory=list)
    args: list[Item] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    file_outputs: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    source: str = "<component>"

    def input(self, name: str) -> InputSpec | None:
        """The input called ``name``, or None."""
        return next((spec for spec in self.inputs if spec.name == name), None)

    def output_names(self) -> list[str]:
        """The outputs' names, in order."""
        return [spec.name for spec in self.outputs]


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ComponentSpecError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _ports(value: Any, where: str, kind: type) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ComponentSpecError(f"{where} must be a list, got {type(value).__name__}")
    ports, seen = [], set()
    for index, raw in enumerate(value):
        entry = _mapping(raw, f"{where}[{index}]")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ComponentSpecError(f"{where}[{index}] has no name")
        if name in seen:
            raise ComponentSpecError(f"{where}: two entries are named {name!r}")
        seen.add(name)
        if kind is InputSpec:
            default = entry.get("default")
            ports.append(InputSpec(name, entry.get("type"), default, bool(entry.get("optional", False))))
        else:
            ports.append(OutputSpec(name, entry.get("type")))
    return ports


def _item(value: Any, where: str, inputs: set[str], outputs: set[str]) -> Item:
    """One command-line item, checked against the component's interface."""
    if isinstance(value, (str, int, float, bool)):
        return str(value) if not isinstance(value, str) else value
    if isinstance(value, list):
        return [_item(v, f"{where}[{i}]", inputs, outputs) for i, v in enumerate(value)]
    if not isinstance(value, dict) or len(value) != 1:
        raise ComponentSpecError(f"{where}: {value!r} is not a command-line item (a string or one placeholder)")
    (key, payload), = value.items()
    if key in _NAMED:
        known = outputs if key == "outputPath" else inputs
        if payload not in known:
            what = "output" if key == "outputPath" else "input"
            raise ComponentSpecError(f"{where}: {{{key}: {payload}}} names no {what} of the component "
                                     f"(declared: {', '.join(sorted(known)) or 'none'})")
        return (key, payload)
    if key == "concat":
        if not isinstance(payload, list):
            raise ComponentSpecError(f"{where}: concat takes a list")
        return ("concat", [_item(v, f"{where}.concat[{i}]", inputs, outputs) for i, v in enumerate(payload)])
    if key == "if":
        branch = _mapping(payload, f"{where}.if")
        if "cond" not in branch or "then" not in branch:
            raise ComponentSpecError(f"{where}.if needs cond and then")
        return ("if", _item(branch["cond"], f"{where}.if.cond", inputs, outputs),
                _item(branch["then"], f"{where}.if.then", inputs, outputs),
                None if branch.get("else") is None else _item(branch["else"], f"{where}.if.else", inputs, outputs))
    if key in _V2_ONLY:
        raise ComponentSpecError(f"{where}: {key} is a KFP v2 placeholder, which KFP v1 pipelines cannot use")
    raise ComponentSpecError(f"{where}: unknown placeholder {key!r} (known: concat, if, inputPath, inputValue, "
                             "isPresent, outputPath)")


def parse_component(document: Any, source: str) -> ComponentSpec:
    """A component spec from its parsed YAML.

    Raises:
        ComponentSpecError: The document is not a container component spec.
    """
    if not isinstance(document, dict):
        raise ComponentSpecError(f"{source} is not a component spec (a mapping with implementation.container), "
                                 f"it is a {type(document).__name__}")
    implementation = _mapping(document.get("implementation"), "implementation")
    if "graph" in implementation:
        raise ComponentSpecError(f"{source}: graph components are not supported (implementation.graph); "
                                 "use the container components they are made of")
    container = _mapping(implementation.get("container"), "implementation.container")
    if not container:
        raise ComponentSpecError(f"{source} is not a component spec: it has no implementation.container")
    image = container.get("image")
    if not isinstance(image, str) or not image:
        raise ComponentSpecError(f"{source}: implementation.container.image must be an image reference")
    inputs = _ports(document.get("inputs"), "inputs", InputSpec)
    outputs = _ports(document.get("outputs"), "outputs", OutputSpec)
    input_names, output_names = {i.name for i in inputs}, {o.name for o in outputs}
    file_outputs = {str(k): str(v) for k, v in _mapping(container.get("fileOutputs"),
                                                        "implementation.container.fileOutputs").items()}
    for name in file_outputs:
        if name not in output_names:
            raise ComponentSpecError(f"{source}: fileOutputs names {name!r}, which is not an output "
                                     f"(declared: {', '.join(sorted(output_names)) or 'none'})")
    metadata = _mapping(document.get("metadata"), "metadata")

    def items(key: str) -> list[Item]:
        raw = container.get(key)
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise ComponentSpecError(f"{source}: implementation.container.{key} must be a list")
        return [_item(v, f"implementation.container.{key}[{i}]", input_names, output_names)
                for i, v in enumerate(raw)]

    try:
        command, args = items("command"), items("args")
    except ComponentSpecError as exc:
        raise ComponentSpecError(f"{source}: {exc}") from None
    return ComponentSpec(
        name=document.get("name"), description=document.get("description"), inputs=inputs, outputs=outputs,
        image=image, command=command, args=args,
        env={str(k): str(v) for k, v in _mapping(container.get("env"), "implementation.container.env").items()},
        file_outputs=file_outputs,
        annotations={str(k): str(v) for k, v in _mapping(metadata.get("annotations"), "metadata.annotations").items()},
        labels={str(k): str(v) for k, v in _mapping(metadata.get("labels"), "metadata.labels").items()},
        source=source,
    )
