"""Finding and running a stack's pipeline functions, native or KFP v1.

A pipeline's ``source`` is ``package.module:function`` or ``path/to/file.py:function``;
file paths are relative to the stack file's folder and must stay inside it, and modules
must be the project's (the stack file's folder) or mlplane's own pipelines: a stack file
cannot make mlplane execute code from elsewhere on the machine.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import sysconfig
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

import mlplane.pipelines as mlplane_pipelines
from mlplane.components.pipeline.spec import PipelineSpec
from mlplane.infra.config.pipelines import PipelineEntry
from mlplane.infra.config.source import StackSource
from mlplane.pipelines.context import PipelineContext
from mlplane.pipelines.errors import functions_note, pipeline_error, validation_message
from mlplane.pipelines.kfp_v1 import load_kfp_v1_pipeline


class SourceError(ValueError):
    """A pipeline source that cannot be found or loaded (message says why)."""


def source_file(entry: PipelineEntry, source: StackSource) -> tuple[Path, str]:
    """The file and function a source names.

    Raises:
        SourceError: The file is outside the stack file's folder, or does not exist, or
            the module cannot be found.
    """
    target, _, function = entry.source.rpartition(":")
    if target.endswith(".py"):
        base = source.base_dir.resolve()
        path = (base / target).resolve()
        if not path.is_relative_to(base):
            raise SourceError(f"{target!r} is outside the stack file's folder ({base})")
        if not path.is_file():
            raise SourceError(f"no such file {target!r} (relative to {base})")
        return path, function
    with project_first(source.base_dir.resolve()):
        _check_module_home(target, source.base_dir.resolve())
        try:
            spec = importlib.util.find_spec(target)
        except (ImportError, ValueError) as exc:
            raise SourceError(f"cannot find module {target!r} ({exc})") from None
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise SourceError(f"cannot find module {target!r}" + _moved_note(target))
    return Path(spec.origin), function


@contextmanager
def project_first(base: Path) -> Iterator[None]:
    """The project's folder first on ``sys.path`` while its pipeline modules are found and imported.

    As the engine runs the program: ``pulumi preview`` runs the project folder
    (``runpy.run_path``), which puts it first on ``sys.path``. The ``mlplane`` console
    script has its own folder there instead, so without this a project's
    ``pipelines.hello`` would not be found offline.
    """
    entry = str(base)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(entry)


#: mlplane's own pipelines (``mlplane.pipelines.mnist``), wherever mlplane is installed.
_OWN_PIPELINES = Path(mlplane_pipelines.__file__).resolve().parent
_OWN_PACKAGE = mlplane_pipelines.__name__


def engine_reason(entry: PipelineEntry) -> str | None:
    """Why a KFP v1 pipeline must be one Workflow whatever its flow: a schedule (a
    CronWorkflow runs a Workflow's spec), or ``run: async`` (one object whose steps Argo
    orders, so nothing in the plan waits for a step)."""
    if entry.schedule is not None:
        return "schedule"  # not the schedule itself: the steps' version is the steps'
    if entry.run == "async":
        return "run: async"
    return None


def project_folder(source: StackSource) -> Path:
    """The project a stack file belongs to: the nearest folder with a ``Pulumi.yaml``
    from the stack file's folder up, or that folder itself (a lone ``--config-file``).

    A KFP v1 file's component files must lie in it (teams keep them in a sibling folder,
    ``../../components/...``): the repository under review, not the rest of the machine.
    """
    base = source.base_dir.resolve()
    return next((folder for folder in (base, *base.parents) if (folder / "Pulumi.yaml").is_file()), base)


def _check_module_home(target: str, base: Path) -> None:
    """Refuse a module that is not the project's, before anything of it is imported.

    Importing a module runs its code, so ``module:function`` may only name a module of
    the stack file's folder or one of mlplane's own pipelines, as a file path may: a
    stack file cannot make mlplane import (run) whatever else is installed. Only the
    top-level package is looked up, which executes nothing.
    """
    if target == _OWN_PACKAGE or target.startswith(f"{_OWN_PACKAGE}."):
        return  # mlplane's own pipelines, wherever mlplane is installed
    top = target.split(".", 1)[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError) as exc:
        raise SourceError(f"cannot find module {target!r} ({exc})") from None
    if spec is None:
        raise SourceError(f"cannot find module {target!r}" + _moved_note(target))
    homes = [Path(location).resolve() for location in (spec.submodule_search_locations or ())]
    if not homes and spec.origin and spec.has_location:  # built-in and frozen modules have none
        homes = [Path(spec.origin).resolve()]
    if not homes or not all(_is_project_code(home, base) for home in homes):
        where = ", ".join(str(home) for home in homes) or "a built-in module"
        raise SourceError(f"module {target!r} is not part of this project (it is {where}); pipeline modules "
                          f"must lie in the stack file's folder ({base}) or be mlplane's own pipelines")


def _moved_note(target: str) -> str:
    """Where a module of mlplane's from before the package move lives now, if it does.

    mlplane's pipelines were the top-level ``pipelines`` package; they are
    ``mlplane.pipelines`` now, and a project's own ``pipelines`` package is the project's.
    """
    moved = f"{_OWN_PACKAGE.rpartition('.')[0]}.{target}"
    try:
        found = target.split(".", 1)[0] in _MOVED_PACKAGES and importlib.util.find_spec(moved) is not None
    except (ImportError, ValueError):
        found = False
    return f"; mlplane's own modules moved under `mlplane.`: use `{moved}`" if found else ""


#: mlplane's top-level packages before they moved under ``mlplane.`` (setup.py).
_MOVED_PACKAGES = ("pipelines", "components", "infra", "policy")


def _is_project_code(home: Path, base: Path) -> bool:
    if home.is_relative_to(_OWN_PIPELINES):
        return True
    # A virtualenv inside the project folder holds installed packages, not the project's code.
    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib", "stdlib", "platstdlib")}
    return home.is_relative_to(base) and not any(home.is_relative_to(folder) for folder in installed)


def _import_native(path: Path, target: str) -> ModuleType:
    if target.endswith(".py"):
        name = f"mlplane_pipeline_{abs(hash(str(path)))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise SourceError(f"cannot load {target!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(target)


def load_pipeline(entry: PipelineEntry, context: PipelineContext, source: StackSource) -> PipelineSpec:
    """Run an entry's pipeline function and return its validated spec.

    Raises:
        SourceError: The source cannot be found.
        InputError: The pipeline cannot be built (names the pipeline, step, file, line).
    """
    path, function = source_file(entry, source)
    shown = _shown(path, source)
    if entry.kind == "kfp-v1":
        return load_kfp_v1_pipeline(path, function, entry.params, name=entry.name, display=shown,
                                    data_name=entry.data_name, component_copies=_copies(entry, source),
                                    stack=context.stack, pools=context.pools, project=project_folder(source),
                                    engine_reason=engine_reason(entry))
    try:
        with project_first(source.base_dir.resolve()):
            module = _import_native(path, entry.source.rpartition(":")[0])
    except SourceError:
        raise  # already says what is wrong with the source
    except Exception as exc:  # noqa: BLE001 - the user's module failed to import
        raise pipeline_error(shown, entry.name, f"cannot import the pipeline module: {type(exc).__name__}: {exc}") \
            from None
    candidate = getattr(module, function, None)
    if candidate is None:
        raise pipeline_error(shown, entry.name, f"the module defines no function {function!r}",
                             allowed=functions_note(vars(module), function,
                                                    lambda f: getattr(f, "is_mlplane_pipeline", False)))
    if not getattr(candidate, "is_mlplane_pipeline", False):
        raise pipeline_error(shown, entry.name, f"{function!r} is not a pipeline (decorate it with "
                                                "@mlplane.pipelines.native.pipeline)")
    _check_params(candidate, entry, shown)
    try:
        result = candidate(context, **entry.params)
    except ValidationError as exc:
        raise pipeline_error(shown, entry.name, validation_message(exc)) from None
    except ValueError as exc:
        raise pipeline_error(shown, entry.name, str(exc)) from None
    if not isinstance(result, PipelineSpec):
        raise pipeline_error(shown, entry.name, f"{function!r} returned {type(result).__name__}, not a PipelineSpec")
    return result


def _check_params(function: Callable[..., Any], entry: PipelineEntry, shown: str) -> None:
    parameters = list(inspect.signature(function).parameters.values())[1:]
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in entry.params:
        if key not in names:
            raise pipeline_error(shown, entry.name, f"the pipeline takes no parameter {key!r}",
                                 allowed=", ".join(names) or "none")


def _copies(entry: PipelineEntry, source: StackSource) -> dict[str, Path]:
    """The entry's vendored component copies as paths, each inside the stack file's folder.

    Raises:
        SourceError: A copy is outside the folder or missing.
    """
    base = source.base_dir.resolve()
    copies = {}
    for url, relative in entry.component_copies.items():
        path = (base / relative).resolve()
        if not path.is_relative_to(base):
            raise SourceError(f"component_copies: {relative!r} is outside the stack file's folder ({base})")
        if not path.is_file():
            raise SourceError(f"component_copies: no such file {relative!r} (relative to {base})")
        copies[url] = path
    return copies


def _shown(path: Path, source: StackSource) -> str:
    try:
        return str(path.relative_to(source.base_dir.resolve()))
    except ValueError:
        return str(path)
