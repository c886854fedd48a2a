"""KFP v1 lightweight components: a Python function as a container component.

What KFP 1.8.22 does (``kfp/components/_python_op.py: _func_to_component_spec``), and so
what this does, in mlplane's own code: the function's signature becomes the component's
interface (``InputPath``/``OutputPath``/``*TextFile`` parameters are files, their
``_path``/``_file`` suffixes dropped from the names; the return value is the output
``Output``, a ``NamedTuple`` one output per field), and its source (decorators dropped,
type hints stripped) becomes a program passed to ``python3`` through ``sh -ec``, with an
argument parser and output serializers around the call. ``packages_to_install`` puts a
``pip install`` in front. The image defaults to ``python:3.7`` as in KFP.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import typing
from collections.abc import Callable
from typing import Any

from mlplane.pipelines.kfp_v1 import kfp_runtime_text as runtime
from mlplane.pipelines.kfp_v1.component_spec import ComponentSpec, InputSpec, OutputSpec
from mlplane.pipelines.kfp_v1.naming import make_unique

#: KFP 1.8.22's default image for lightweight components (``default_base_image_or_builder``).
DEFAULT_BASE_IMAGE = "python:3.7"

#: How ``sh`` runs the program (kfp 1.8.22 ``_func_to_component_spec``).
PROGRAM_RUNNER = 'program_path=$(mktemp)\nprintf "%s" "$0" > "$program_path"\npython3 -u "$program_path" "$@"\n'


class FileAnnotation:
    """Base of ``InputPath``, ``OutputPath``, ``InputTextFile``, ...: a file parameter."""

    is_output = False
    #: What argparse turns the path into (kfp 1.8.22 ``get_argparse_type_for_input_file``).
    parser_type = "str"
    definition: str | None = None

    def __init__(self, type: Any = None) -> None:  # noqa: A002 - KFP's parameter name
        self.type = type


class InputPath(FileAnnotation):
    """The function receives the path of a file holding the input."""


class InputTextFile(FileAnnotation):
    """The function receives the input as an open text file."""

    parser_type = "argparse.FileType('rt')"


class InputBinaryFile(FileAnnotation):
    """The function receives the input as an open binary file."""

    parser_type = "argparse.FileType('rb')"


class OutputPath(FileAnnotation):
    """The function receives the path of a file to write the output to."""

    is_output = True
    parser_type = "_make_parent_dirs_and_return_path"
    definition = runtime.MAKE_PARENT_DIRS


class OutputTextFile(FileAnnotation):
    """The function receives a text file open for writing the output."""

    is_output = True
    parser_type = "_parent_dirs_maker_that_returns_open_file('wt')"
    definition = runtime.OPEN_FILE_MAKER


class OutputBinaryFile(FileAnnotation):
    """The function receives a binary file open for writing the output."""

    is_output = True
    parser_type = "_parent_dirs_maker_that_returns_open_file('wb')"
    definition = runtime.OPEN_FILE_MAKER


class SourceUnavailable(ValueError):
    """The function's source cannot be read (defined in a REPL, ``exec``'d, built-in)."""


def component_name(function_name: str) -> str:
    """``add_two_numbers`` -> ``Add two numbers`` (kfp 1.8.22 ``_python_function_name_to_component_name``)."""
    spaced = re.sub(" +", " ", function_name.replace("_", " ")).strip(" ")
    return spaced[0].upper() + spaced[1:]


def _short_type_name(name: str) -> str:
    match = re.match(r"(typing\.)?(?P<type>\w+)(?:\[.+\])?", name)
    return match.group("type") if match else name


def type_name(annotation: Any) -> Any:
    """The component type of a Python annotation (``int`` -> ``Integer``; else its name)."""
    if annotation is None or annotation is inspect.Parameter.empty:
        return None
    if hasattr(annotation, "to_dict"):
        annotation = annotation.to_dict()
    if isinstance(annotation, dict):
        return annotation
    if isinstance(annotation, type):
        if annotation in runtime.CANONICAL_TYPE_NAMES:
            return runtime.CANONICAL_TYPE_NAMES[annotation]
        name = str(annotation.__name__)
    elif hasattr(annotation, "__forward_arg__"):
        name = str(annotation.__forward_arg__)
    else:
        name = str(annotation)
    converter = runtime.CONVERTERS.get(name)
    if converter is not None:
        return next(key for key, value in runtime.CONVERTERS.items() if value == converter)
    return name


def serialize_default(value: Any, type_struct: Any) -> Any:
    """A default value as the component spec holds it (a string), or None if it cannot be."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    outer = next(iter(type_struct)) if isinstance(type_struct, dict) else type_struct
    return serialize(value, outer)


def serialize(value: Any, type_struct: Any) -> str:
    """A constant argument as KFP 1.8.22 passes it (``_data_passing.serialize_value``).

    Raises:
        ValueError: The value does not fit the type, or the type has no serializer.
    """
    if isinstance(value, str):
        return value
    name = type_struct if isinstance(type_struct, str) else None
    if isinstance(type_struct, dict):
        name = next(iter(type_struct))
    if name is None:
        name = runtime.CANONICAL_TYPE_NAMES.get(type(value), type(value).__name__)
    short = _short_type_name(str(name))
    checks: dict[str, Callable[[Any], bool]] = {
        "String": lambda v: False, "str": lambda v: False,
        "Integer": lambda v: isinstance(v, int), "int": lambda v: isinstance(v, int),
        "Float": lambda v: isinstance(v, (int, float)), "float": lambda v: isinstance(v, (int, float)),
        "Boolean": lambda v: isinstance(v, bool), "Bool": lambda v: isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
    }
    if short in checks:
        if not checks[short](value):
            raise ValueError(f"the value {value!r} ({type(value).__name__}) does not fit the type {name}")
        return str(value)
    converter = runtime.CONVERTERS.get(short)
    if converter is None:
        raise ValueError(f"there is no serializer for the type {name!r}; pass a string")
    if converter[0] == "_serialize_json":
        import json

        return json.dumps(value, sort_keys=True, default=lambda o: o.to_struct())
    import base64
    import pickle

    return base64.b64encode(pickle.dumps(value)).decode("ascii")


def function_source(function: Callable[..., Any]) -> str:
    """The function's definition as KFP puts it in the program: dedented, decorators
    dropped, type hints stripped.

    Raises:
        SourceUnavailable: ``inspect`` cannot find the source.
    """
    try:
        code = inspect.getsource(function)
    except (OSError, TypeError) as exc:
        raise SourceUnavailable(f"the source of {getattr(function, '__name__', function)!r} cannot be read "
                                f"({exc}); define the function in the pipeline file or a module beside it") from None
    lines = textwrap.dedent(code).split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("def")), len(lines))
    return strip_type_hints("\n".join(lines[start:]))


def strip_type_hints(source: str) -> str:
    """``source`` without parameter and return annotations, spacing otherwise kept.

    KFP 1.8.22 strips them (``_strip_type_hints_using_lib2to3``) so the program does not
    need ``InputPath`` and friends at run time; the same edits are made here from the
    syntax tree: ``a: int = 1`` -> ``a = 1``, ``def f() -> int:`` -> ``def f():``.
    """
    try:
        tree = ast.parse(source if source.endswith("\n") else source + "\n")
    except SyntaxError:
        return source
    lines = source.encode("utf-8").split(b"\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    data = source.encode("utf-8")

    def position(line: int, column: int) -> int:
        return offsets[line - 1] + column

    cuts: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        arguments = node.args
        for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                    *(a for a in (arguments.vararg, arguments.kwarg) if a is not None)]:
            if arg.annotation is not None:
                start = position(arg.lineno, arg.col_offset) + len(arg.arg.encode("utf-8"))
                cuts.append((start, position(arg.annotation.end_lineno, arg.annotation.end_col_offset)))
        if node.returns is not None:
            returns_start = position(node.returns.lineno, node.returns.col_offset)
            arrow = data.rindex(b"->", 0, returns_start)
            start = arrow
            while start > 0 and data[start - 1:start] in (b" ", b"\t", b"\n", b"\\"):
                start -= 1
            cuts.append((start, position(node.returns.end_lineno, node.returns.end_col_offset)))
    for start, end in sorted(cuts, reverse=True):
        data = data[:start] + data[end:]
    return data.decode("utf-8")


def _strip_optional(annotation: Any) -> Any:
    if getattr(annotation, "__origin__", None) is typing.Union and annotation.__args__[1] is type(None):
        return annotation.__args__[0]
    return annotation


def function_component(function: Callable[..., Any], base_image: str | None = None,
                       packages_to_install: list[str] | None = None, source: str = "<function>",
                       extra_code: str = "") -> ComponentSpec:
    """The component KFP 1.8.22 makes of ``function``.

    Raises:
        SourceUnavailable: The function's source cannot be read.
        ValueError: A file parameter has a default other than None.
    """
    base_image = getattr(function, "_component_base_image", None) or base_image or DEFAULT_BASE_IMAGE
    signature = inspect.signature(function)
    inputs: list[tuple[InputSpec, str, type | None]] = []
    file_outputs: list[tuple[OutputSpec, str, type]] = []
    input_names: set[str] = set()
    output_names: set[str] = set()
    for parameter in signature.parameters.values():
        annotation = _strip_optional(parameter.annotation)
        name = parameter.name
        style = None
        if isinstance(annotation, FileAnnotation):
            if isinstance(annotation, (InputPath, OutputPath)) and name.endswith("_path"):
                name = name[:-len("_path")]
            if name.endswith("_file"):
                name = name[:-len("_file")]
            style = type(annotation)
            if parameter.default is not inspect.Parameter.empty and not (
                    style is InputPath and parameter.default is None):
                raise ValueError(f"parameter {parameter.name!r}: file inputs may only default to None, and outputs "
                                 "cannot have defaults")
            annotation = annotation.type
        type_struct = type_name(annotation)
        if style is not None and style.is_output:
            name = make_unique(name, output_names, "_")
            output_names.add(name)
            file_outputs.append((OutputSpec(name, type_struct), parameter.name, style))
            continue
        name = make_unique(name, input_names, "_")
        input_names.add(name)
        optional = parameter.default is not inspect.Parameter.empty
        default = serialize_default(parameter.default, type_struct) if optional else None
        inputs.append((InputSpec(name, type_struct, default, optional), parameter.name, style))

    returned: list[tuple[OutputSpec, str]] = []
    annotation = signature.return_annotation
    single = False
    if hasattr(annotation, "_fields"):
        fields = getattr(annotation, "__annotations__", None) or {}
        for field in annotation._fields:
            name = make_unique(field, output_names, "_")
            output_names.add(name)
            returned.append((OutputSpec(name, type_name(fields.get(field))), field))
    elif annotation is not None and annotation is not inspect.Signature.empty and not isinstance(annotation, dict):
        name = make_unique("Output", output_names, "_")
        output_names.add(name)
        returned.append((OutputSpec(name, type_name(annotation)), name))
        single = True

    description = _description(function)
    spec_name = getattr(function, "_component_human_name", None) or component_name(function.__name__)
    definitions: set[str] = set()
    pre_definitions: set[str] = set()
    parser = ["import argparse",
              f"_parser = argparse.ArgumentParser(prog={spec_name!r}, description={(description or '')!r})"]
    arguments: list[Any] = []
    for port, parameter, style in [*inputs, *file_outputs]:
        flag = "--" + port.name.replace("_", "-")
        required = isinstance(port, OutputSpec) or not port.optional
        if style is not None:
            kind = style.parser_type
            if style.definition:
                pre_definitions.add(style.definition)
        else:
            kind = _deserializer(port.type, definitions)
        parser.append(f'_parser.add_argument("{flag}", dest="{parameter}", type={kind}, required={required}, '
                      "default=argparse.SUPPRESS)")
        if style is not None and style.is_output:
            placeholder: Any = ("outputPath", port.name)
        elif style is not None:
            placeholder = ("inputPath", port.name)
        else:
            placeholder = ("inputValue", port.name)
        if required:
            arguments += [flag, placeholder]
        else:
            arguments.append(("if", ("isPresent", port.name), [flag, placeholder], None))
    if returned:
        parser.append(f'_parser.add_argument("----output-paths", dest="_output_paths", type=str, '
                      f"nargs={len(returned)})")
        arguments.append("----output-paths")
        arguments += [("outputPath", port.name) for port, _ in returned]
    serializers = [_serializer(port.type, definitions) for port, _ in returned]
    parser = sorted(definitions) + parser
    parser.append("_parsed_args = vars(_parser.parse_args())")
    if returned:
        parser.append('_output_files = _parsed_args.pop("_output_paths", [])')
    # The program's layout: kfp 1.8.22 _func_to_component_spec, ``full_source``.
    program = "\n\n".join(["\n".join(pre_definitions_sorted(pre_definitions)), extra_code,
                            function_source(function), "\n".join(parser),
                            f"_outputs = {function.__name__}(**_parsed_args)\n"])
    if returned:
        program += _output_handling(single, serializers)
    program = re.sub("\n\n\n+", "\n\n", program).strip("\n") + "\n"
    command: list[Any] = []
    if packages_to_install:
        pip = ("PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location "
               + " ".join(repr(str(package)) for package in packages_to_install))
        command = ["sh", "-c", f'({pip} || {pip} --user) && "$0" "$@"']
    command += ["sh", "-ec", PROGRAM_RUNNER, program]
    return ComponentSpec(
        name=spec_name, description=description, inputs=[port for port, _, _ in inputs],
        outputs=[port for port, _, _ in file_outputs] + [port for port, _ in returned],
        image=base_image, command=command, args=arguments, source=source,
    )


def pre_definitions_sorted(definitions: set[str]) -> list[str]:
    """Helper definitions in a fixed order.

    KFP joins them from a ``set``, so when a function has both ``OutputPath`` and
    ``Output*File`` parameters their order depends on Python's string hashing; here it
    is always sorted (docs/pipelines.md).
    """
    return sorted(definitions)


def _description(function: Callable[..., Any]) -> str | None:
    described = getattr(function, "_component_description", None)
    if described:
        return described.strip()
    doc = inspect.getdoc(function)
    if not doc:
        return None
    # docstring_parser's short description (what KFP uses): the first line, unless the
    # docstring opens with a section.
    first = doc.strip().split("\n", 1)[0].strip()
    if re.match(r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?):", first):
        return None
    return first or None


def _converter(type_struct: Any) -> tuple[str, str, str, str | None] | None:
    if type_struct is None or isinstance(type_struct, dict):
        return None
    return runtime.CONVERTERS.get(_short_type_name(str(type_struct)))


def _deserializer(type_struct: Any, definitions: set[str]) -> str:
    converter = _converter(type_struct)
    if converter is None:
        return "str"
    if converter[3]:
        definitions.add(converter[3])
    return converter[2]


def _serializer(type_struct: Any, definitions: set[str]) -> str:
    converter = _converter(type_struct)
    if converter is None:
        return "str"
    definitions.add(converter[1])
    return converter[0]


def _output_handling(single: bool, serializers: list[str]) -> str:
    listed = "_outputs = [_outputs]" if single else ""
    serialized = "".join(f"    {name},\n" for name in serializers)
    return (f"\n\n{listed}\n\n_output_serializers = [\n{serialized}\n]\n\nimport os\n"
            "for idx, output_file in enumerate(_output_files):\n"
            "    try:\n"
            "        os.makedirs(os.path.dirname(output_file))\n"
            "    except OSError:\n"
            "        pass\n"
            "    with open(output_file, 'w') as f:\n"
            "        f.write(_output_serializers[idx](_outputs[idx]))\n")
