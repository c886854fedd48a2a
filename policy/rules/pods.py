"""Where pods hide: the pod templates and containers inside any object mlplane creates.

Built-in workloads keep a pod template at a fixed path; Kubeflow's and KServe's custom
resources keep one (or a pod-spec-like component) in their own places. Every rule about
pods goes through :func:`pod_templates`, so a new workload kind is taught once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policy.rules.base import get, group_of, is_list, kind_of

#: Built-in kinds with their pod spec at ``spec.template.spec``.
_TEMPLATED = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "ReplicationController"})
#: KServe's pod-spec-like components of an InferenceService.
_KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
#: KServe model-framework keys: each holds one container (image from the serving runtime).
KSERVE_FRAMEWORKS = ("model", "tensorflow", "pytorch", "sklearn", "xgboost", "onnx", "triton", "pmml",
                     "lightgbm", "paddle", "huggingface", "alibi", "art")
#: Kinds (Kubeflow Trainer, JobSet) with ``replicatedJobs[].template.spec.template.spec``.
_REPLICATED_JOBS = frozenset({"TrainingRuntime", "ClusterTrainingRuntime", "JobSet"})


@dataclass(frozen=True)
class Container:
    """One container of a pod template.

    Attributes:
        path: Where it is, e.g. ``spec.template.spec.initContainers[0]``.
        body: The container.
        init: Whether it is an init container.
    """

    path: str
    body: Mapping[str, Any]
    init: bool = False

    @property
    def name(self) -> str:
        name = self.body.get("name")
        return name if isinstance(name, str) else self.path


@dataclass(frozen=True)
class PodTemplate:
    """One pod spec (or KServe component) of an object, with its containers."""

    path: str
    spec: Mapping[str, Any]
    containers: tuple[Container, ...]


def _containers(spec: Mapping[str, Any], path: str, frameworks: bool) -> tuple[Container, ...]:
    found: list[Container] = []
    for key, init in (("initContainers", True), ("containers", False)):
        items = spec.get(key)
        if is_list(items):
            found += [Container(f"{path}.{key}[{i}]", c, init) for i, c in enumerate(items) if isinstance(c, Mapping)]
    if frameworks:
        found += [Container(f"{path}.{key}", spec[key]) for key in KSERVE_FRAMEWORKS
                  if isinstance(spec.get(key), Mapping)]
    return tuple(found)


def _template(spec: Any, path: str, frameworks: bool = False) -> Iterator[PodTemplate]:
    if isinstance(spec, Mapping):
        yield PodTemplate(path, spec, _containers(spec, path, frameworks))


def pod_templates(type_: str, props: Mapping[str, Any]) -> list[PodTemplate]:
    """Every pod template of a Kubernetes object (none for kinds without pods)."""
    kind, group = kind_of(type_), group_of(type_)
    spec = props.get("spec") if isinstance(props, Mapping) else None
    if not isinstance(spec, Mapping):
        return [*_template(get(props, "template", "spec"), "template.spec")] if kind == "PodTemplate" else []
    if kind == "Pod" and group == "core":
        return [*_template(spec, "spec")]
    if kind in _TEMPLATED:
        return [*_template(get(spec, "template", "spec"), "spec.template.spec")]
    if kind == "CronJob":
        return [*_template(get(spec, "jobTemplate", "spec", "template", "spec"),
                           "spec.jobTemplate.spec.template.spec")]
    if kind == "InferenceService":
        return [t for c in _KSERVE_COMPONENTS for t in _template(spec.get(c), f"spec.{c}", frameworks=True)]
    found: list[PodTemplate] = []
    # Kubeflow training operator jobs: PyTorchJob, TFJob, MPIJob, XGBoostJob, PaddleJob, JAXJob.
    for key, replicas in spec.items():
        if isinstance(key, str) and key.endswith("ReplicaSpecs") and isinstance(replicas, Mapping):
            for role, replica in replicas.items():
                found += _template(get(replica, "template", "spec"), f"spec.{key}.{role}.template.spec")
    if kind in _REPLICATED_JOBS:
        base = ("template", "spec") if kind != "JobSet" else ()
        jobs = get(spec, *base, "replicatedJobs")
        prefix = "spec." + "".join(f"{p}." for p in base)
        for i, job in enumerate(jobs if is_list(jobs) else []):
            found += _template(get(job, "template", "spec", "template", "spec"),
                               f"{prefix}replicatedJobs[{i}].template.spec.template.spec")
    return found


def containers(type_: str, props: Mapping[str, Any]) -> list[Container]:
    """Every container (init containers included) of every pod template of an object."""
    return [c for t in pod_templates(type_, props) for c in t.containers]
