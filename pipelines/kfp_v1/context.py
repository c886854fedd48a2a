"""The pipeline being declared: where ops register, and where errors point."""

from __future__ import annotations

import contextvars
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any


class KfpCompatError(Exception):
    """A KFP v1 construct that mlplane cannot turn into infrastructure.

    Attributes:
        construct: The DSL construct, e.g. ``dsl.Condition``.
        reason: Why it is refused, or what to do instead.
        file: The pipeline file.
        line: The line in that file, when known.
    """

    def __init__(self, construct: str, reason: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(f"{construct}: {reason}")
        self.construct = construct
        self.reason = reason
        self.file = file
        self.line = line


class UnsupportedAttribute(KfpCompatError, AttributeError):
    """An op attribute or method the layer does not have (``hasattr`` sees False)."""


@dataclass
class Declaration:
    """Everything a pipeline function declared, in order.

    Attributes:
        file: The pipeline file (errors point into it).
        pipeline_name: The pipeline's name in the stack (names its volumes).
        ops: The ops, in declaration order.
        component_copies: Local copies of pinned component URLs (``load_component_from_url``).
        conf: The pipeline's ``dsl.get_pipeline_conf()``.
        stack: The stack the pipeline is declared in (messages name it).
        pools: The stack's accelerator pools (``PoolScheduling``), in its order.
        project: The project's folder: component files must lie inside it (default:
            the pipeline file's folder).
    """

    file: Path
    pipeline_name: str
    ops: list[Any] = field(default_factory=list)
    component_copies: dict[str, Path] = field(default_factory=dict)
    conf: Any = None
    groups: list[Any] = field(default_factory=list)
    engine_reasons: list[str] = field(default_factory=list)
    recursive_calls: list[Any] = field(default_factory=list)
    group_count: int = 0
    stack: str = ""
    pools: tuple[Any, ...] = ()
    project: Path | None = None

    @property
    def project_root(self) -> Path:
        """The folder component files must lie in."""
        return self.project or self.file.parent

    def next_group_index(self) -> int:
        """A new group's number (KFP numbers conditions, loops and exit handlers from 1)."""
        self.group_count += 1
        return self.group_count

    def needs_engine(self, reason: str) -> None:
        """Record that the pipeline's flow is decided at run time (a workflow engine runs it)."""
        if reason not in self.engine_reasons:
            self.engine_reasons.append(reason)

    def __post_init__(self) -> None:
        from mlplane.pipelines.kfp_v1.api.dsl import PipelineConf

        self.conf = PipelineConf()

    def unique_name(self, human_name: str) -> str:
        """The op name KFP 1.8.22 gives ``human_name`` in this pipeline (sanitized, then
        ``-2``, ``-3``... for repeats; kfp/dsl/_pipeline.py ``Pipeline.add_op``)."""
        from mlplane.pipelines.kfp_v1.naming import op_name

        return op_name(human_name, {op.name for op in self.ops})

    def caller_line(self) -> int | None:
        """The line of the innermost frame that runs code of the pipeline file."""
        frame: FrameType | None = sys._getframe(1)  # noqa: SLF001 - the only way to find the user's line
        target = str(self.file)
        while frame is not None:
            if frame.f_code.co_filename == target:
                return frame.f_lineno
            frame = frame.f_back
        return None

    def refuse(self, construct: str, reason: str) -> KfpCompatError:
        """An error for ``construct``, pointing at the pipeline file's current line."""
        return KfpCompatError(construct, reason, str(self.file), self.caller_line())


_CURRENT: contextvars.ContextVar[Declaration | None] = contextvars.ContextVar("kfp_v1_declaration", default=None)


def current() -> Declaration:
    """The declaration in progress.

    Raises:
        KfpCompatError: No pipeline file is being loaded (the shim was used elsewhere).
    """
    declaration = _CURRENT.get()
    if declaration is None:
        raise KfpCompatError("kfp", "mlplane's KFP v1 layer works only while a kfp-v1 pipeline file loads")
    return declaration


def begin(file: Path, pipeline_name: str, component_copies: dict[str, Path] | None = None, *, stack: str = "",
          pools: tuple[Any, ...] = (), project: Path | None = None,
          ) -> tuple[Declaration, contextvars.Token[Declaration | None]]:
    """Start declaring the pipeline ``pipeline_name`` from ``file`` (on ``stack``, with its pools,
    in the project folder ``project``)."""
    declaration = Declaration(file=file, pipeline_name=pipeline_name, component_copies=dict(component_copies or {}),
                              stack=stack, pools=tuple(pools), project=project)
    return declaration, _CURRENT.set(declaration)


def end(token: contextvars.Token[Declaration | None]) -> None:
    """Stop declaring."""
    _CURRENT.reset(token)


def refusing(construct: str, reason: str) -> Any:
    """A stand-in for a KFP v1 callable that cannot be infrastructure: calling it fails."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise current().refuse(construct, reason)

    refuse.__name__ = construct.rsplit(".", 1)[-1]
    return refuse


def unsupported_attributes(prefix: str, supported: str = "") -> Any:
    """A module ``__getattr__`` that refuses anything the layer does not implement."""
    note = f"is not supported by mlplane's KFP v1 layer{f' ({supported})' if supported else ''}"

    def module_getattr(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise current().refuse(f"{prefix}.{name}", note)

    return module_getattr
