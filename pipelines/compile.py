"""Compiling a stack's pipelines: load each, apply the stack's overrides, check it all.

Runs while the stack config loads (from a cross-section rule), so a pipeline that cannot
be built stops the render with exit 2 before any resource exists. Results are cached;
the pipelines layer asks again when it declares the steps and gets the same specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.pipeline.outputs import consumes_outputs
from components.pipeline.spec import ContainerStepSpec, PipelineSpec
from components.pod_security import image_problem
from infra.config.pipelines import PipelineEntry
from infra.config.rules import Finding
from infra.errors import InputError
from pipelines.context import PipelineContext

if TYPE_CHECKING:
    from infra.config.stack import StackConfig


@dataclass(frozen=True)
class CompiledPipeline:
    """A pipeline of the stack, ready to declare.

    Attributes:
        entry: Its entry in ``mlplane:pipelines``.
        spec: Its steps, with the stack's image overrides applied.
        namespace: Where its steps run.
    """

    entry: PipelineEntry
    spec: PipelineSpec
    namespace: str


def context_for(entry: PipelineEntry, config: "StackConfig") -> PipelineContext:
    """The facts a native pipeline function gets about ``config``'s stack."""
    return PipelineContext(
        pipeline=entry.name,
        stack=config.source.stack,
        cluster_kind=config.cluster.kind,
        namespace=entry.namespace or config.cluster.workload_namespace,
    )


def _override_images(spec: PipelineSpec, overrides: dict[str, str]) -> PipelineSpec:
    if not overrides:
        return spec
    steps = [step.model_copy(update={"image": overrides.get(step.image, step.image)})
             if isinstance(step, ContainerStepSpec) else step for step in spec.steps]
    return spec.model_copy(update={"steps": tuple(steps)})


_CACHE: dict[tuple[str, str, str], CompiledPipeline] = {}
_CACHE_LIMIT = 256


def compile_entry(entry: PipelineEntry, config: "StackConfig") -> CompiledPipeline:
    """Load one pipeline (cached per stack config, stack file and entry)."""
    from pipelines.loader import load_pipeline

    key = (entry.model_dump_json(), config.model_dump_json(), str(config.source.file))
    cached = _CACHE.get(key)
    if cached is None:
        context = context_for(entry, config)
        spec = load_pipeline(entry, context, config.source)
        cached = CompiledPipeline(entry=entry, spec=_override_images(spec, entry.image_overrides),
                                  namespace=context.namespace)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = cached
    return cached


def step_findings(index: int, compiled: CompiledPipeline) -> list[Finding]:
    """Problems of a loaded pipeline's steps that only the stack can judge."""
    entry, findings = compiled.entry, []
    for step in compiled.spec.steps:
        if not isinstance(step, ContainerStepSpec):
            continue
        problem = image_problem(step.image)
        if problem and not entry.allow_unpinned_images:
            findings.append(Finding(
                ("mlplane:pipelines", index, "image_overrides"),
                f"pipeline {entry.name!r}, step {step.name!r}: image {step.image!r} {problem}",
                allowed=f"a pinned image via image_overrides: {{{step.image!r}: <image:tag or @sha256:...>}}, "
                        "or allow_unpinned_images: true",
            ))
        if consumes_outputs(step) and not step.command:
            findings.append(Finding(
                ("mlplane:pipelines", index, "source"),
                f"pipeline {entry.name!r}, step {step.name!r}: uses other steps' outputs, so it must set a "
                "command (the image's entrypoint cannot be known when the plan is made)",
            ))
    return findings


def pipeline_findings(config: "StackConfig") -> list[Finding]:
    """Load every pipeline of ``config``; report what stops one from being built."""
    from pipelines.loader import SourceError

    findings: list[Finding] = []
    for index, entry in enumerate(config.pipelines):
        try:
            compiled = compile_entry(entry, config)
        except SourceError as exc:
            findings.append(Finding(("mlplane:pipelines", index, "source"), f"pipeline {entry.name!r}: {exc}",
                                    value=entry.source))
            continue
        except InputError as exc:
            findings.append(Finding(("mlplane:pipelines", index), f"pipeline {entry.name!r} cannot be built: {exc}"))
            continue
        findings += step_findings(index, compiled)
    return findings
