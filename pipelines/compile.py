"""Compiling a stack's pipelines: load each, apply the stack's overrides, check it all.

Runs while the stack config loads (from a cross-section rule), so a pipeline that cannot
be built stops the render with exit 2 before any resource exists. Results are cached;
the pipelines layer asks again when it declares the steps and gets the same specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.pipeline.outputs import consumes_outputs
from components.pipeline.spec import ContainerStepSpec, ExperimentStepSpec, PipelineSpec, ServeStepSpec, WebAppStepSpec
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
    from infra.layers.capacity import capacity_facts

    capacity = capacity_facts(config)
    return PipelineContext(
        pipeline=entry.name,
        data_name=entry.data_name,
        stack=config.source.stack,
        cluster_kind=config.cluster.kind,
        namespace=entry.namespace or config.cluster.workload_namespace,
        artifacts=capacity.artifacts,
        volumes=dict(capacity.volumes),
    )


def _available(config: "StackConfig", component: str) -> bool:
    if config.kubeflow is None:
        return False
    from components.platform.resolve import resolve

    return resolve(config.kubeflow)[component].available


def training_api(config: "StackConfig") -> str:
    """Which Kubeflow API runs distributed steps on this stack's release train."""
    release = config.kubeflow.release if config.kubeflow is not None else "26.03"
    return "pytorchjob" if release == "1.8.1" else "trainjob"


def _override_images(spec: PipelineSpec, overrides: dict[str, str]) -> PipelineSpec:
    if not overrides:
        return spec
    steps = [step.model_copy(update={"image": overrides.get(step.image, step.image)})
             if isinstance(step, ContainerStepSpec) else step for step in spec.steps]
    return spec.model_copy(update={"steps": tuple(steps)})


#: Compiled pipelines per (config object, entry). A config is frozen, so its object
#: identity stands for its content; the cache keeps the config alive, so the id is not
#: reused while the entry exists.
_CACHE: dict[tuple[int, str], tuple["StackConfig", CompiledPipeline]] = {}
_CACHE_LIMIT = 1024


def compile_entry(entry: PipelineEntry, config: "StackConfig") -> CompiledPipeline:
    """Load one pipeline of ``config`` (once per config object and entry)."""
    from pipelines.loader import load_pipeline

    key = (id(config), entry.model_dump_json())
    cached = _CACHE.get(key)
    if cached is None or cached[0] is not config:
        context = context_for(entry, config)
        spec = load_pipeline(entry, context, config.source)
        compiled = CompiledPipeline(entry=entry, spec=_override_images(spec, entry.image_overrides),
                                    namespace=context.namespace)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = cached = (config, compiled)
    return cached[1]


def step_findings(index: int, compiled: CompiledPipeline, config: "StackConfig") -> list[Finding]:
    """Problems of a loaded pipeline's steps that only the stack can judge."""
    from components.scheduling import SchedulingError, place, pools_for

    entry, findings = compiled.entry, []
    pools = pools_for(config)
    findings += _serving_findings(index, compiled, config)
    findings += _rename_findings(index, compiled)
    findings += _search_findings(index, compiled, config)
    for step in compiled.spec.steps:
        if not isinstance(step, ContainerStepSpec):
            continue
        if step.artifact_access and (config.storage is None or config.storage.artifacts is None):
            findings.append(Finding(("mlplane:pipelines", index),
                                    f"pipeline {entry.name!r}, step {step.name!r}: uses the artifact store, and "
                                    "the stack has none", allowed="mlplane:storage.artifacts"))
        if step.accelerator is not None:
            try:
                place(step.accelerator, pools, stack=config.source.stack)
            except SchedulingError as exc:
                findings.append(Finding(("mlplane:pipelines", index),
                                        f"pipeline {entry.name!r}, step {step.name!r}: {exc}"))
        if step.workers > 1 and not _available(config, "training"):
            findings.append(Finding(
                ("mlplane:pipelines", index),
                f"pipeline {entry.name!r}, step {step.name!r}: {step.workers} workers need Kubeflow's training "
                "operator (1.8.1) or Trainer (26.03)",
                allowed="enable mlplane:kubeflow.components.training, or run the step with workers: 1",
            ))
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


def _search_findings(index: int, compiled: CompiledPipeline, config: "StackConfig") -> list[Finding]:
    """Hyperparameter-search steps need Katib, a profile namespace, pinned images and a pool."""
    from components.scheduling import SchedulingError, place, pools_for

    entry, findings = compiled.entry, []
    searches = [step for step in compiled.spec.steps if isinstance(step, ExperimentStepSpec)]
    if not searches:
        return findings
    where = ("mlplane:pipelines", index)
    if not _available(config, "katib"):
        findings.append(Finding(where, f"pipeline {entry.name!r}, step {searches[0].name!r}: a hyperparameter "
                                "search needs Katib, and this stack does not install it",
                                allowed="enable mlplane:kubeflow.components.katib, or drop the search step"))
    profiles = [p.name for p in config.kubeflow.profiles] if config.kubeflow is not None else []
    if compiled.namespace not in profiles:
        # Katib's metrics collector is injected only in namespaces labelled
        # katib.kubeflow.org/metrics-collector-injection=enabled (its webhook's
        # namespaceSelector), which profile namespaces are.
        findings.append(Finding((*where, "namespace"), f"pipeline {entry.name!r}: its search step "
                                f"{searches[0].name!r} runs trials whose metrics Katib collects only in a profile "
                                "namespace", compiled.namespace, ", ".join(profiles) or "declare a profile"))
    pools = pools_for(config)
    for step in searches:
        problem = image_problem(step.trial.image)
        if problem and not entry.allow_unpinned_images:
            findings.append(Finding((*where, "image_overrides"), f"pipeline {entry.name!r}, step {step.name!r}: "
                                    f"trial image {step.trial.image!r} {problem}",
                                    allowed="a pinned image, or allow_unpinned_images: true"))
        if step.trial.accelerator is not None:
            try:
                place(step.trial.accelerator, pools, stack=config.source.stack)
            except SchedulingError as exc:
                findings.append(Finding(where, f"pipeline {entry.name!r}, step {step.name!r}: {exc}"))
    return findings


def _rename_findings(index: int, compiled: CompiledPipeline) -> list[Finding]:
    """``renamed_steps`` names steps the pipeline has, and no earlier name is a current one."""
    names = [step.name for step in compiled.spec.steps]
    findings = []
    for step, earlier in compiled.entry.renamed_steps.items():
        where = ("mlplane:pipelines", index, "renamed_steps", step)
        if step not in names:
            findings.append(Finding(where, "is not a step of the pipeline", step, ", ".join(names)))
        for old in earlier:
            if old in names:
                findings.append(Finding(where, "an earlier name is the name of a current step (their resources "
                                        "would collide)", old, "names no current step has"))
    return findings


def _serving_findings(index: int, compiled: CompiledPipeline, config: "StackConfig") -> list[Finding]:
    """Serve and web-app steps checked like mlplane:serving entries (KServe mode, store,
    pools, hosts, names)."""
    from infra.config.serving import step_findings as serving_step_findings

    entry = compiled.entry
    items: list[tuple[tuple[Any, ...], Any]] = []
    for step in compiled.spec.steps:
        if isinstance(step, ServeStepSpec):
            endpoint = step.endpoint.model_copy(update={"namespace": step.endpoint.namespace or compiled.namespace})
            items.append(((step.name, "endpoint"), endpoint))
        elif isinstance(step, WebAppStepSpec):
            app = step.app.model_copy(update={"namespace": step.app.namespace or compiled.namespace})
            items.append(((step.name, "app"), app))
    findings = []
    for found in serving_step_findings(config, items):
        where = ".".join(str(part) for part in found.path[1:])
        findings.append(Finding(("mlplane:pipelines", index),
                                f"pipeline {entry.name!r}, step {found.path[0]!r}: {where}: {found.message}",
                                found.value if found.has_value else None, found.allowed))
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
        findings += step_findings(index, compiled, config)
    return findings
