"""Loading an unmodified KFP v1 pipeline file with mlplane's ``kfp`` in place.

``kfp`` and its submodules are put into ``sys.modules`` only while the file executes
and its pipeline function runs, then the previous entries (a real ``kfp``, or none) are
put back: the substitution is visible to that file and nowhere else.
"""

from __future__ import annotations

import importlib.abc
import inspect
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mlplane.components.pipeline.spec import PipelineSpec
from mlplane.pipelines.errors import functions_note, pipeline_error, validation_message
from mlplane.pipelines.kfp_v1 import api
from mlplane.pipelines.kfp_v1.api import aws, azure, compiler, components, dsl, gcp, onprem
from mlplane.pipelines.kfp_v1.api._params import PipelineParam
from mlplane.pipelines.kfp_v1.context import KfpCompatError, begin, current, end
from mlplane.pipelines.kfp_v1.convert import to_spec
from mlplane.pipelines.kfp_v1.placeholders import PlaceholderError
from mlplane.pipelines.kfp_v1.unroll import literal_loops
from mlplane.pipelines.kfp_v1.workflow import WorkflowError

_MODULES: dict[str, types.ModuleType] = {
    "kfp": api,
    "kfp.dsl": dsl,
    "kfp.gcp": gcp,
    "kfp.aws": aws,
    "kfp.azure": azure,
    "kfp.onprem": onprem,
    "kfp.compiler": compiler,
    "kfp.components": components,
    "kfp.components.structures": components,
}


#: What a KFP v1 file may import, for messages.
SUPPORTED_MODULES = ", ".join(sorted(_MODULES))


class _OtherKfpModules(importlib.abc.MetaPathFinder):
    """Refuses any other ``kfp.*`` module, naming what is supported.

    Without it ``from kfp.v2 import dsl`` fails with Python's "No module named
    'kfp.v2'", which says nothing about why: KFP v2 compiles to its own IR for the v2
    backend, and the layer implements KFP v1's DSL only.
    """

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if not fullname.startswith("kfp.") or fullname in _MODULES:
            return None
        allowed = f"a kfp-v1 file may import {SUPPORTED_MODULES}"
        if fullname == "kfp.v2" or fullname.startswith("kfp.v2."):
            raise current().refuse(fullname, "is KFP v2's SDK, which mlplane does not support (v2 components and "
                                             "pipelines compile to KFP v2's IR, not to v1's Argo Workflows); "
                                             f"{allowed}, or declare the pipeline natively (kind: native)")
        raise current().refuse(fullname, f"is not part of mlplane's KFP v1 layer; {allowed}")


@contextmanager
def kfp_modules() -> Iterator[None]:
    """Make ``import kfp...`` resolve to mlplane's implementation, then undo it."""
    saved = {name: sys.modules[name] for name in list(sys.modules)
             if name == "kfp" or name.startswith("kfp.")}
    for name in saved:
        del sys.modules[name]
    sys.modules.update(_MODULES)
    finder = _OtherKfpModules()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == "kfp" or n.startswith("kfp.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def load_kfp_v1_pipeline(path: Path, function: str, params: Mapping[str, Any], *, name: str,
                         display: str | None = None, data_name: str | None = None,
                         component_copies: Mapping[str, Path] | None = None, stack: str = "",
                         pools: tuple[Any, ...] = (), project: Path | None = None,
                         engine_reason: str | None = None) -> PipelineSpec:
    """Load ``function`` from the KFP v1 file ``path`` and declare it as pipeline ``name``.

    Args:
        path: The pipeline file.
        function: The ``@dsl.pipeline`` function in it.
        params: Values for the function's parameters (the rest keep their defaults).
        name: The pipeline's name in the stack.
        display: How to name the file in messages.
        data_name: The name its claims are named after (its oldest name); ``name``
            when None.
        component_copies: Local copies of pinned component URLs, by URL.
        stack: The stack's name (messages name it).
        pools: The stack's accelerator pools (``PoolScheduling``): where
            ``gcp.use_preemptible_nodepool`` finds a spot pool.
        project: The project's folder, which component files must lie in (default: the
            pipeline file's folder).
        engine_reason: Why the pipeline must run on the workflow engine whatever its
            flow (a schedule, ``run: async``): it becomes one Workflow.

    Returns:
        The validated pipeline spec.

    Raises:
        InputError: The file cannot be loaded, the function is not a pipeline, a
            parameter is unknown, a construct is refused, or the steps are inconsistent;
            the message names the pipeline, the step or construct, the file and the line.
    """
    shown = display or str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise pipeline_error(shown, name, f"cannot read the pipeline file ({exc})") from None

    # Claims are named after the pipeline's first name, so a renamed pipeline keeps them.
    declaration, token = begin(path.resolve(), data_name or name, dict(component_copies or {}), stack=stack,
                               pools=pools, project=project)
    try:
        with kfp_modules():
            module = types.ModuleType(f"mlplane_kfp_v1_{name.replace('-', '_')}")
            module.__file__ = str(path.resolve())
            try:
                # dont_inherit: the user's file gets none of this module's __future__ flags
                # (``annotations`` would turn its annotations into strings).
                code = compile(source, str(path.resolve()), "exec", dont_inherit=True)
                exec(code, module.__dict__)  # noqa: S102 - loading the user's pipeline is the point
                pipeline_function = module.__dict__.get(function)
                if pipeline_function is None:
                    raise pipeline_error(shown, name, f"the file defines no function {function!r}",
                                         allowed=functions_note(module.__dict__, function,
                                                                lambda f: hasattr(f, dsl.PIPELINE_MARK)))
                meta = getattr(pipeline_function, dsl.PIPELINE_MARK, None)
                if meta is None:
                    raise pipeline_error(shown, name, f"{function!r} is not a pipeline (no @dsl.pipeline decorator)")
                arguments = _bind(pipeline_function, params, shown, name)
                pipeline_function(**arguments)
                dsl.apply_pipeline_conf(declaration.ops, declaration.conf)
                if engine_reason:
                    declaration.needs_engine(engine_reason)
                gcp.place_on_spot_pools(declaration)
                # A plan of steps has no limit on the run's pods; the Workflow keeps it.
                if declaration.conf.parallelism and not any(literal_loops(op) for op in declaration.ops):
                    declaration.needs_engine("PipelineConf.set_parallelism")
            except KfpCompatError as exc:
                where = shown if exc.file in (None, str(path.resolve())) else exc.file
                raise pipeline_error(where, name, f"{exc.construct} {exc.reason}", line=exc.line) from None
            except SyntaxError as exc:
                raise pipeline_error(shown, name, f"invalid Python: {exc.msg}", line=exc.lineno) from None
            except Exception as exc:  # noqa: BLE001 - user code; report where it failed
                if hasattr(exc, "problems"):
                    raise
                raise pipeline_error(shown, name, f"the pipeline raised {type(exc).__name__}: {exc}",
                                     line=_line_in(exc, path)) from None
    finally:
        end(token)
    try:
        return to_spec(name, meta.get("description", ""), declaration.ops, declaration.engine_reasons,
                       parallelism=declaration.conf.parallelism, calls=declaration.recursive_calls)
    except ValidationError as exc:
        raise pipeline_error(shown, name, validation_message(exc)) from None
    except (PlaceholderError, WorkflowError) as exc:
        raise pipeline_error(shown, name, str(exc)) from None


def _bind(function: Any, params: Mapping[str, Any], shown: str, name: str) -> dict[str, PipelineParam]:
    signature = inspect.signature(function)
    accepted = [p for p in signature.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    names = {p.name for p in accepted}
    unknown = sorted(set(params) - names)
    if unknown:
        raise pipeline_error(shown, name, f"the pipeline takes no parameter {unknown[0]!r}",
                             allowed=", ".join(p.name for p in accepted) or "none")
    arguments: dict[str, PipelineParam] = {}
    for parameter in accepted:
        if parameter.name in params:
            value = params[parameter.name]
        elif parameter.default is not inspect.Parameter.empty:
            value = parameter.default
        else:
            raise pipeline_error(shown, name, f"parameter {parameter.name!r} has no default and no value in the stack")
        arguments[parameter.name] = PipelineParam(parameter.name, value="" if value is None else value)
    return arguments


def _line_in(exc: BaseException, path: Path) -> int | None:
    target = str(path.resolve())
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == target:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
