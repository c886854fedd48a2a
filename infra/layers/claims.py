"""Claims that workloads mount, judged across the stack's pipelines and endpoints.

Two faults a render does not show and a cluster never recovers from: a pod that mounts a
declared claim from another namespace than the claim's (Pending forever: a pod mounts
claims of its own namespace only), and two pods on different nodes of a claim that
attaches to one node (the later one waits on "Multi-Attach error"). Both are refused
while the config loads (exit 2), with the ways out (docs/upstream-behaviours.md,
sections 11 and 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlplane.components.pipeline.spec import ContainerStepSpec, ExperimentStepSpec, ServeStepSpec, WorkflowStepSpec
from mlplane.infra.config.rules import Finding

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig
    from mlplane.infra.layers.compile import CompiledPipeline


def claim_findings(loaded: list[tuple[int, "CompiledPipeline"]], config: "StackConfig") -> list[Finding]:
    """Both checks over the loaded pipelines (``(index in mlplane:pipelines, pipeline)``)."""
    return _claim_namespace_findings(loaded, config) + _one_node_claim_findings(loaded, config)


def _claim_namespace_findings(loaded: list[tuple[int, "CompiledPipeline"]], config: "StackConfig") -> list[Finding]:
    """A workload that mounts a declared volume from another namespace than the claim's.

    A pod mounts claims of its own namespace only; the pod of a claim that does not exist
    there stays Pending ("persistentvolumeclaim ... not found") and the run waits forever.
    Pipelines that run as Argo Workflows, and searches, run in a profile namespace, while
    declared volumes default to the workload namespace: the way out is the volume's
    ``namespace``.
    """
    storage = config.storage
    if storage is None:
        return []
    workload = config.cluster.workload_namespace
    homes: dict[str, list[tuple[int, str]]] = {}
    for index, volume in enumerate(storage.volumes):
        homes.setdefault(volume.claim_name, []).append((index, volume.namespace or workload))
    findings = []
    for (namespace, claim), consumers in sorted(_consumers(loaded, config).items()):
        declared = homes.get(claim, [])
        if not declared or any(home == namespace for _, home in declared):
            continue
        index, home = declared[0]
        for consumer in consumers:
            if consumer.endpoint:
                continue  # infra/config/serving.py judges endpoints, pipelines' serve steps included
            findings.append(Finding(consumer.path, f"{consumer.what} mounts claim {claim}, which "
                                    f"mlplane:storage.volumes[{index}] creates in namespace {home}; its pods run in "
                                    f"{namespace}, where no such claim exists, and would wait forever",
                                    allowed=f"mlplane:storage.volumes[{index}].namespace: {namespace} (the claim "
                                    f"then lives in that namespace), or a pipeline namespace of {home} (native steps "
                                    "only: Argo Workflows and searches run in a profile namespace)"))
            break
    return findings


@dataclass(frozen=True)
class _Consumer:
    """A workload that mounts a claim: an endpoint, or a pipeline step (``pipeline``, ``step`` set)."""

    what: str
    path: tuple[Any, ...]
    pipeline: int | None = None
    step: str | None = None
    pods: int = 1  # pods of it that may run at once (trials in parallel, training workers)
    endpoint: bool = False


def _claims_of(volumes: Any) -> list[str]:
    return [str(v["persistentVolumeClaim"]["claimName"]) for v in volumes or ()
            if isinstance(v, dict) and isinstance(v.get("persistentVolumeClaim"), dict)]


def _consumers(loaded: list[tuple[int, "CompiledPipeline"]], config: "StackConfig") -> dict[tuple[str, str], list[_Consumer]]:
    """Every workload of the stack that mounts a claim, by ``(namespace, claim)``."""
    found: dict[tuple[str, str], list[_Consumer]] = {}

    def add(namespace: str, claim: str, consumer: _Consumer) -> None:
        found.setdefault((namespace, claim), []).append(consumer)

    workload = config.cluster.workload_namespace
    serving = getattr(config, "serving", None)
    for index, endpoint in enumerate(serving.endpoints if serving is not None else ()):
        if endpoint.model is not None and endpoint.model.volume is not None:
            add(endpoint.namespace or workload, endpoint.model.volume.claim,
                _Consumer(f"endpoint {endpoint.name!r}", ("mlplane:serving", "endpoints", index, "model", "volume"),
                          endpoint=True))
    for index, pipeline in loaded:
        name = pipeline.entry.name
        for step in pipeline.spec.steps:
            where = ("mlplane:pipelines", index)
            if isinstance(step, ServeStepSpec) and step.endpoint.model is not None \
                    and step.endpoint.model.volume is not None:
                # An endpoint outlives its run: the next run's steps start while it serves.
                add(step.endpoint.namespace or pipeline.namespace, step.endpoint.model.volume.claim,
                    _Consumer(f"pipeline {name!r}, serve step {step.name!r} (an endpoint)", where, endpoint=True))
            elif isinstance(step, ContainerStepSpec):
                for claim in _claims_of(step.volumes):
                    add(pipeline.namespace, claim, _Consumer(f"pipeline {name!r}, step {step.name!r}", where, index,
                                                             step.name, step.workers))
            elif isinstance(step, ExperimentStepSpec):
                for claim in _claims_of(step.trial.volumes):
                    add(pipeline.namespace, claim, _Consumer(f"pipeline {name!r}, search step {step.name!r}", where,
                                                             index, step.name, step.parallel_trials))
            elif isinstance(step, WorkflowStepSpec):
                for template in step.workflow["spec"]["templates"]:
                    for claim in _claims_of([*(template.get("volumes") or []),
                                             *(step.workflow["spec"].get("volumes") or [])]):
                        # Argo decides the order at run time: its templates may run at once.
                        add(pipeline.namespace, claim, _Consumer(
                            f"pipeline {name!r}, workflow template {template['name']!r}", where))
    return found


def _ordered(a: _Consumer, b: _Consumer, loaded: dict[int, "CompiledPipeline"]) -> bool:
    """Whether two steps of one pipeline never run at once (one waits for the other)."""
    if a.pipeline is None or a.pipeline != b.pipeline or a.step is None or b.step is None:
        return False
    spec = loaded[a.pipeline].spec
    by_name = {step.name: step for step in spec.steps}

    def reaches(start: str, target: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name == target:
                return True
            if name not in seen and name in by_name:
                seen.add(name)
                todo += spec.upstream(by_name[name])
        return False

    return reaches(a.step, b.step) or reaches(b.step, a.step)


def _one_node_claim_findings(loaded: list[tuple[int, "CompiledPipeline"]], config: "StackConfig") -> list[Finding]:
    """Two workloads (or two pods of one) that may run at once on a claim that attaches to one node.

    The attach/detach controller attaches such a volume to one node (components/storage/
    rules.py: ``one_node_claim``); the second pod on another node waits on "Multi-Attach
    error" until the first is gone (kserve/kserve#3409). Endpoints alone are judged by
    infra/config/serving.py (replicas, surge pods); here: endpoints with steps, steps of
    different pipelines, unordered steps of one pipeline, parallel trials and workers.
    """
    from mlplane.infra.config.serving import one_node_volume

    by_index = dict(loaded)
    findings = []
    for (namespace, claim), consumers in sorted(_consumers(loaded, config).items()):
        volume = one_node_volume(claim, namespace, config)
        if volume is None:
            continue
        index, spec = volume
        what = (f"claim {claim} (mlplane:storage.volumes[{index}], {'/'.join(spec.access_modes)} on class "
                f"{spec.storage_class!r}) attaches to one node at a time")
        ways = (f"give mlplane:storage.volumes[{index}] a class that mounts on many nodes (an nfs class, access_modes: "
                "[ReadWriteMany]), serve models from the artifact store (model.uri), or one workload per claim")
        many = next((c for c in consumers if c.pods > 1), None)
        # Two endpoints of mlplane:serving alone are infra/config/serving.py's to report.
        pair = next(((a, b) for i, a in enumerate(consumers) for b in consumers[i + 1:]
                     if not _ordered(a, b, by_index) and not (a.path[0] == b.path[0] == "mlplane:serving")), None)
        if many is not None:
            findings.append(Finding(many.path, f"{many.what}: {what}, and its {many.pods} pods (parallel trials or "
                                    "workers) may run at once on different nodes: all but one wait on Multi-Attach",
                                    allowed=f"one pod at a time (parallel_trials: 1, workers: 1), or {ways}"))
        elif pair is not None:
            first, second = pair
            findings.append(Finding(second.path, f"{second.what} and {first.what} may run at once, and {what}: on "
                                    "different nodes the later one waits on Multi-Attach", allowed=ways))
    return findings
