"""mlplane's ``kfp.components``: component specs and Python-function components.

``load_component_from_file``/``_text`` read a KFP v1 ``component.yaml`` (relative paths
from the pipeline file's folder; anywhere inside the project); ``func_to_container_op`` and
``create_component_from_func`` (also as decorators) build the component KFP 1.8.22
builds from a function. Each returns a factory whose calls add steps.
``load_component_from_url`` fetches nothing: a URL pinned to a commit or digest is read
from the local copy the pipeline entry names (``component_copies``); any other URL is
refused with how to vendor it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mlplane.core.pinning import is_pinned
from mlplane.pipelines.kfp_v1.component_spec import ComponentSpecError, parse_component
from mlplane.pipelines.kfp_v1.component_task import task_factory
from mlplane.pipelines.kfp_v1.context import current, unsupported_attributes
from mlplane.pipelines.kfp_v1.lightweight import (
    InputBinaryFile,
    InputPath,
    InputTextFile,
    OutputBinaryFile,
    OutputPath,
    OutputTextFile,
    SourceUnavailable,
    function_component,
)

__all__ = [
    "InputBinaryFile", "InputPath", "InputTextFile", "OutputBinaryFile", "OutputPath", "OutputTextFile",
    "create_component_from_func", "func_to_container_op", "load_component", "load_component_from_file",
    "load_component_from_text", "load_component_from_url",
]

#: A URL that names one immutable version: a 40-hex commit in its path, or a digest.


def _from_text(text: str | bytes, source: str) -> Callable[..., Any]:
    declaration = current()
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise declaration.refuse("components.load_component", f"{source} is not YAML: {exc}") from None
    try:
        spec = parse_component(document, source)
    except ComponentSpecError as exc:
        raise declaration.refuse("components.load_component", str(exc)) from None
    return task_factory(spec)


def load_component_from_text(text: str) -> Callable[..., Any]:
    """A factory for the component spec in ``text``."""
    return _from_text(text, "the component text")


def load_component_from_file(filename: str) -> Callable[..., Any]:
    """A factory for the component spec in ``filename``.

    A relative path is read from the pipeline file's folder (where KFP reads it when the
    file is compiled from its own folder); an absolute one (built from ``__file__``) as
    it is. Either way the file must lie inside the project (the folder with the stack's
    ``Pulumi.yaml``): ``../../components/x.yaml`` is a project's own component, a path
    out of the project is refused, as a file the stack's review does not cover.
    """
    declaration = current()
    folder = declaration.file.parent
    project = declaration.project_root.resolve()
    path = (folder / str(filename)).resolve()
    if not path.is_relative_to(project):
        raise declaration.refuse("components.load_component_from_file",
                                 f"{filename!r} is outside the project ({project}); component files must lie "
                                 "inside it")
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise declaration.refuse("components.load_component_from_file",
                                 f"cannot read {filename!r} ({exc.strerror})") from None
    return _from_text(text, str(path.relative_to(project)))


def load_component_from_url(url: str, auth: Any = None) -> Callable[..., Any]:
    """A factory for a component at a pinned URL, read from its vendored copy."""
    declaration = current()
    copy = declaration.component_copies.get(url)
    if copy is None:
        if not is_pinned(url):
            raise declaration.refuse("components.load_component_from_url",
                                     f"{url!r} is not pinned to a commit or digest, so what it names can change "
                                     "without review; pin it, or vendor the file and use load_component_from_file")
        raise declaration.refuse("components.load_component_from_url",
                                 f"mlplane fetches nothing while it plans; vendor {url!r} into the project and name the "
                                 "copy in the pipeline entry: component_copies: {<url>: <path>}")
    try:
        text = Path(copy).read_bytes()
    except OSError as exc:
        raise declaration.refuse("components.load_component_from_url",
                                 f"cannot read the copy of {url!r} at {copy} ({exc.strerror})") from None
    return _from_text(text, f"{copy} (copy of {url})")


def load_component(filename: str | None = None, url: str | None = None, text: str | None = None) -> Callable[..., Any]:
    """``load_component(filename=...|url=...|text=...)``: exactly one of them."""
    given = [x for x in (filename, url, text) if x is not None]
    if len(given) != 1:
        raise current().refuse("components.load_component", "needs exactly one of filename, url, text")
    if filename is not None:
        return load_component_from_file(filename)
    if url is not None:
        return load_component_from_url(url)
    return load_component_from_text(str(text))


def _from_function(construct: str, function: Callable[..., Any], base_image: str | None,
                   packages_to_install: list[str] | None, extra_code: str = "", use_code_pickling: bool = False,
                   annotations: dict[str, str] | None = None) -> Callable[..., Any]:
    declaration = current()
    if use_code_pickling:
        raise declaration.refuse(construct, "use_code_pickling=True is not supported: a pickled function cannot be "
                                            "reviewed; the function's source is used instead when it is left out")
    if not callable(function):
        raise declaration.refuse(construct, f"expects a function, got {type(function).__name__}")
    code = getattr(function, "__code__", None)
    where = f"{Path(code.co_filename).name}:{code.co_firstlineno}" if code is not None else "?"
    try:
        spec = function_component(function, base_image=base_image, packages_to_install=packages_to_install,
                                  source=f"function {getattr(function, '__name__', '?')} ({where})",
                                  extra_code=extra_code or "")
    except SourceUnavailable as exc:
        raise declaration.refuse(construct, str(exc)) from None
    except ValueError as exc:
        raise declaration.refuse(construct, f"function {function.__name__!r} ({where}): {exc}") from None
    if annotations:
        spec.annotations.update({str(k): str(v) for k, v in annotations.items()})
    return task_factory(spec)


def func_to_container_op(func: Callable[..., Any], output_component_file: str | None = None,
                         base_image: str | None = None, extra_code: str | None = "",
                         packages_to_install: list[str] | None = None, modules_to_capture: list[str] | None = None,
                         use_code_pickling: bool = False,
                         annotations: dict[str, str] | None = None) -> Callable[..., Any]:
    """A factory running ``func`` in ``base_image`` (default ``python:3.7``), as KFP 1.8.22 builds it.

    ``output_component_file`` is not written: loading a pipeline writes nothing.
    """
    return _from_function("components.func_to_container_op", func, base_image, packages_to_install,
                          extra_code or "", use_code_pickling, annotations)


def create_component_from_func(func: Callable[..., Any], output_component_file: str | None = None,
                               base_image: str | None = None, packages_to_install: list[str] | None = None,
                               annotations: dict[str, str] | None = None) -> Callable[..., Any]:
    """A factory running ``func`` (KFP 1.8.22's ``create_component_from_func``)."""
    return _from_function("components.create_component_from_func", func, base_image, packages_to_install,
                          annotations=annotations)


__getattr__ = unsupported_attributes("components", "load_component_from_file/_text/_url, func_to_container_op, "
                                                   "create_component_from_func, InputPath, OutputPath, ... are")
