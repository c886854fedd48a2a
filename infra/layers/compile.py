"""Compiling a stack's pipelines: load each, apply the stack's overrides, check it all.

Runs while the stack config loads (from a cross-section rule), so a pipeline that cannot
be built stops the render with exit 2 before any resource exists. Results are cached;
the pipelines layer asks again when it declares the steps and gets the same specs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlplane.core.naming import k8s_name
from mlplane.components.pipeline.outputs import consumes_outputs
from mlplane.components.pipeline.spec import (
    ContainerStepSpec,
    ExperimentStepSpec,
    PipelineSpec,
    ServeStepSpec,
    VolumeStepSpec,
    WebAppStepSpec,
    WorkflowStepSpec,
)
from mlplane.components.pipeline.training_step import training_name_problems
from mlplane.components.pod_security import image_problem
from mlplane.infra.config.pipelines import PipelineEntry
from mlplane.infra.config.rules import Finding
from mlplane.core.errors import InputError
from mlplane.pipelines.context import PipelineContext

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig


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
    from mlplane.components.scheduling import pools_for
    from mlplane.infra.layers.capacity import capacity_facts

    capacity = capacity_facts(config)
    return PipelineContext(
        pipeline=entry.name,
        data_name=entry.data_name,
        stack=config.source.stack,
        cluster_kind=config.cluster.kind,
        namespace=entry.namespace or config.cluster.workload_namespace,
        artifacts=capacity.artifacts,
        volumes=dict(capacity.volumes),
        pools=pools_for(config),
    )


def _available(config: "StackConfig", component: str) -> bool:
    if config.kubeflow is None:
        return False
    from mlplane.components.platform.resolve import resolve

    return resolve(config.kubeflow)[component].available


def training_api(config: "StackConfig") -> str:
    """Which Kubeflow API runs distributed steps on this stack's release train."""
    release = config.kubeflow.release if config.kubeflow is not None else "26.03"
    return "pytorchjob" if release == "1.8.1" else "trainjob"


def _override_images(spec: PipelineSpec, overrides: dict[str, str]) -> PipelineSpec:
    if not overrides:
        return spec
    steps = [_override_workflow_images(step, overrides) if isinstance(step, WorkflowStepSpec) else step
             for step in spec.steps]
    steps = [step.model_copy(update={
        "image": overrides.get(step.image, step.image),
        "sidecars": tuple(s.model_copy(update={"image": overrides.get(s.image, s.image)}) for s in step.sidecars)})
        if isinstance(step, ContainerStepSpec) else step for step in steps]
    return spec.model_copy(update={"steps": tuple(steps)})


def _override_workflow_images(step: WorkflowStepSpec, overrides: dict[str, str]) -> WorkflowStepSpec:
    workflow = json.loads(json.dumps(step.workflow))
    for template in workflow["spec"]["templates"]:
        for container in [template.get("container") or {}, *(template.get("sidecars") or [])]:
            if "image" in container:
                container["image"] = overrides.get(container["image"], container["image"])
    return step.model_copy(update={"workflow": workflow})


#: Compiled pipelines per (config object, entry). A config is frozen, so its object
#: identity stands for its content; the cache keeps the config alive, so the id is not
#: reused while the entry exists.
_CACHE: dict[tuple[int, str], tuple["StackConfig", CompiledPipeline]] = {}
_CACHE_LIMIT = 1024


def compile_entry(entry: PipelineEntry, config: "StackConfig") -> CompiledPipeline:
    """Load one pipeline of ``config`` (once per config object and entry)."""
    from mlplane.infra.layers.pipeline_source import load_pipeline

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
    from mlplane.components.scheduling import SchedulingError, place, pool_label_problem, pools_for

    entry, findings = compiled.entry, []
    pools = pools_for(config)
    findings += _rename_findings(index, compiled)
    findings += run_findings(index, compiled)
    findings += _volume_findings(index, compiled, config)
    findings += _search_findings(index, compiled, config)
    for step in compiled.spec.steps:
        if isinstance(step, WorkflowStepSpec) and not _available(config, "pipelines"):
            findings.append(Finding(
                ("mlplane:pipelines", index),
                f"pipeline {entry.name!r} needs Kubeflow Pipelines: its flow is decided at run time "
                f"({', '.join(step.reasons)}), so it runs as an Argo Workflow on the engine Kubeflow Pipelines "
                "installs, and the stack has none",
                allowed="enable mlplane:kubeflow.components.pipelines, or declare the steps without run-time flow"))
        if isinstance(step, WorkflowStepSpec) and _available(config, "pipelines"):
            profiles = [profile.name for profile in config.kubeflow.profiles]
            if compiled.namespace not in profiles:
                # KFP multi-user runs workflows as default-editor (kubeflow/manifests
                # apps/pipeline/upstream/base/installs/multi-user/api-service/params.env,
                # DEFAULTPIPELINERUNNERSERVICEACCOUNT), the account profile namespaces have.
                findings.append(Finding(
                    ("mlplane:pipelines", index, "namespace"),
                    f"pipeline {entry.name!r} runs as an Argo Workflow under the ServiceAccount default-editor, which "
                    f"only Kubeflow profile namespaces have; {compiled.namespace!r} is not a profile",
                    compiled.namespace, allowed=", ".join(profiles) or "a profile under mlplane:kubeflow.profiles"))
        if isinstance(step, WorkflowStepSpec):
            findings += _workflow_findings(index, entry, step, config)
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
        elif (problem := pool_label_problem(step.node_selector, pools)) is not None:
            findings.append(Finding(("mlplane:pipelines", index), f"pipeline {entry.name!r}, step {step.name!r}: "
                                    f"{problem}"))
        if step.workers > 1:
            for problem in training_name_problems(k8s_name(compiled.spec.name, step.name), step.workers,
                                                  training_api(config)):  # type: ignore[arg-type]
                findings.append(Finding(("mlplane:pipelines", index, "name"),
                                        f"pipeline {entry.name!r}, step {step.name!r}: {problem}", entry.name,
                                        "a shorter pipeline or step name (starting with a letter)"))
        if step.workers > 1 and not _available(config, "training"):
            findings.append(Finding(
                ("mlplane:pipelines", index),
                f"pipeline {entry.name!r}, step {step.name!r}: {step.workers} workers need Kubeflow's training "
                "operator (1.8.1) or Trainer (26.03)",
                allowed="enable mlplane:kubeflow.components.training, or run the step with workers: 1",
            ))
        findings += _image_findings(index, entry, step.name, (step.image, *(s.image for s in step.sidecars)))
        if consumes_outputs(step) and not step.command:
            findings.append(Finding(
                ("mlplane:pipelines", index, "source"),
                f"pipeline {entry.name!r}, step {step.name!r}: uses other steps' outputs, so it must set a "
                "command (the image's entrypoint cannot be known when the plan is made)",
            ))
    return findings


def _plan_uses(spec: PipelineSpec) -> str | None:
    """What of a run's results the rest of the plan uses, in words (None: nothing).

    A serve step deploys the model a step of the run makes (its version names the
    folder), a web app calls that endpoint: both need the run finished first, which only
    an awaited run guarantees.
    """
    for step in spec.steps:
        if isinstance(step, ServeStepSpec):
            made = f" the model step {step.model_step!r} makes" if step.model_step else " a model the run makes"
            return f"step {step.name!r} serves{made}"
        if isinstance(step, WebAppStepSpec):
            return f"step {step.name!r} is a web app in front of the run's endpoint"
    return None


def run_findings(index: int, compiled: CompiledPipeline) -> list[Finding]:
    """A schedule or ``run: async`` where the plan needs the run's results, or where the
    pipeline cannot be one Workflow (a native pipeline's steps are ordered by the plan,
    which must await each)."""
    entry = compiled.entry
    if entry.schedule is not None:
        key, value, what = "schedule", entry.schedule.cron, f"a schedule ({entry.schedule.in_words})"
    elif entry.run == "async":
        key, value, what = "run", entry.run, "run: async"
    else:
        return []
    where = ("mlplane:pipelines", index, key)
    used = _plan_uses(compiled.spec)
    if used:
        return [Finding(where, f"pipeline {entry.name!r}: {what} means no `pulumi up` waits for its run, and the "
                               f"plan uses the run's results ({used})", value,
                        allowed="run: await (the default) for a pipeline whose results the plan uses; schedule or "
                                "run async a pipeline without serve or web-app steps")]
    if entry.kind == "native":
        return [Finding(where, f"pipeline {entry.name!r}: {what} needs the pipeline as one Argo Workflow, which "
                               "KFP v1 pipelines compile to; a native pipeline's steps are resources the plan "
                               "orders, awaiting each", value,
                        allowed="kind: kfp-v1 for a scheduled or async pipeline, or run: await")]
    return []


def _image_findings(index: int, entry: PipelineEntry, step: str, images: tuple[str, ...]) -> list[Finding]:
    """The step's unpinned images, unless the entry allows them."""
    findings = []
    for image in images:
        problem = image_problem(image)
        if problem and not entry.allow_unpinned_images:
            findings.append(Finding(
                ("mlplane:pipelines", index, "image_overrides"),
                f"pipeline {entry.name!r}, step {step!r}: image {image!r} {problem}",
                allowed=f"a pinned image via image_overrides: {{{image!r}: <image:tag or @sha256:...>}}, "
                        "or allow_unpinned_images: true",
            ))
    return findings


def _workflow_findings(index: int, entry: PipelineEntry, step: WorkflowStepSpec, config: "StackConfig") -> list[Finding]:
    """A workflow's templates judged as container steps are: pinned images (sidecars too),
    and accelerators a pool of the stack can give (the template is the step)."""
    from mlplane.components.scheduling import SchedulingError, place, pool_label_problem, pools_for

    findings = []
    pools = pools_for(config)
    for template in step.workflow["spec"]["templates"]:
        if "container" not in template:
            continue
        findings += _image_findings(index, entry, template["name"], (
            template["container"]["image"], *(s["image"] for s in template.get("sidecars") or [])))
        problem = pool_label_problem(template.get("nodeSelector") or {}, pools)
        if template["name"] not in step.accelerators and problem is not None:
            findings.append(Finding(("mlplane:pipelines", index),
                                    f"pipeline {entry.name!r}, step {template['name']!r}: {problem}"))
    for template, request in sorted(step.accelerators.items()):
        try:
            place(request, pools, stack=config.source.stack)
        except SchedulingError as exc:
            findings.append(Finding(("mlplane:pipelines", index), f"pipeline {entry.name!r}, step {template!r}: {exc}"))
    return findings


def _volume_findings(index: int, compiled: CompiledPipeline, config: "StackConfig") -> list[Finding]:
    """Volume steps (and KFP v1 VolumeOps) obey the storage rules of mlplane:storage.volumes."""
    from mlplane.components.storage.rules import claim_issues

    classes = config.storage.classes if config.storage is not None else ()
    default = next((cls.name for cls in classes if cls.default), None)
    findings = []
    for step in compiled.spec.steps:
        if not isinstance(step, VolumeStepSpec):
            continue
        for issue in claim_issues(size=step.size, access_modes=step.modes,
                                  storage_class=step.storage_class or default, classes=classes):
            where = ".".join(str(part) for part in issue.path)
            findings.append(Finding(("mlplane:pipelines", index),
                                    f"pipeline {compiled.entry.name!r}, step {step.name!r}: {where}: {issue.message}",
                                    issue.value, issue.allowed))
    return findings


def _search_findings(index: int, compiled: CompiledPipeline, config: "StackConfig") -> list[Finding]:
    """Hyperparameter-search steps need Katib, a profile namespace, pinned images and a pool."""
    from mlplane.components.pipeline.experiment_step import experiment_name
    from mlplane.components.scheduling import SchedulingError, place, pools_for
    from mlplane.components.upstream_names import name_problems, rules_for
    from mlplane.infra.config.workbenches import release_of

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
    rule = rules_for("kubeflow.org/v1beta1", "Experiment", release_of(config))
    for step in searches:
        name = experiment_name(compiled.spec.name, step.name, step.algorithm, release_of(config))
        for problem in name_problems(rule, name, algorithm=step.algorithm) if rule is not None else ():
            findings.append(Finding((*where, "name"), f"pipeline {entry.name!r}, step {step.name!r}: {problem}",
                                    entry.name, "a pipeline name that starts with a letter"))
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


def _serving_findings(compiled: list[tuple[int, CompiledPipeline]], config: "StackConfig") -> list[Finding]:
    """Serve and web-app steps of all pipelines checked like mlplane:serving entries (KServe
    mode, store, pools, derived names), and their names and hosts against each other's and
    the section's: a host in two pipelines is refused here, naming both."""
    from mlplane.infra.config.serving import step_findings as serving_step_findings

    items: list[tuple[tuple[Any, ...], Any]] = []
    names: dict[int, str] = {}
    for index, pipeline in compiled:
        names[index] = pipeline.entry.name
        for step in pipeline.spec.steps:
            if isinstance(step, ServeStepSpec):
                endpoint = step.endpoint.model_copy(update={"namespace": step.endpoint.namespace or pipeline.namespace})
                items.append((("mlplane:pipelines", index, pipeline.entry.name, step.name, "endpoint"), endpoint))
            elif isinstance(step, WebAppStepSpec):
                app = step.app.model_copy(update={"namespace": step.app.namespace or pipeline.namespace})
                items.append((("mlplane:pipelines", index, pipeline.entry.name, step.name, "app"), app))
    findings = []
    for found in serving_step_findings(config, items):
        _, index, pipeline_name, step_name, *inner = found.path
        where = ".".join(str(part) for part in inner)
        findings.append(Finding(("mlplane:pipelines", index),
                                f"pipeline {pipeline_name!r}, step {step_name!r}: {where}: {found.message}",
                                found.value if found.has_value else None, found.allowed))
    return findings


def pipeline_findings(config: "StackConfig") -> list[Finding]:
    """Load every pipeline of ``config``; report what stops one from being built."""
    from mlplane.infra.layers.pipeline_source import SourceError

    findings: list[Finding] = []
    loaded: list[tuple[int, CompiledPipeline]] = []
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
        loaded.append((index, compiled))
    from mlplane.infra.layers.claims import claim_findings

    return findings + _serving_findings(loaded, config) + claim_findings(loaded, config)
