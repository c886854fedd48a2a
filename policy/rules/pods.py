"""Where pods hide: the pod templates and containers inside any object mlplane creates.

Built-in workloads keep a pod template at a fixed path; Kubeflow's and KServe's custom
resources keep one (or a pod-spec-like component) in their own places; an Argo Workflow
has one per template that runs a pod. Every rule about
pods goes through :func:`pod_templates`, so a new workload kind is taught once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlplane.policy.rules.base import get, group_of, is_list, kind_of

#: Built-in kinds with their pod spec at ``spec.template.spec``.
_TEMPLATED = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "ReplicationController"})
#: KServe's pod-spec-like components of an InferenceService.
_KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
#: KServe model-framework keys: each holds one container (image from the serving runtime).
KSERVE_FRAMEWORKS = ("model", "tensorflow", "pytorch", "sklearn", "xgboost", "onnx", "triton", "pmml",
                     "lightgbm", "paddle", "huggingface", "alibi", "art")
#: Kinds (Kubeflow Trainer, JobSet) with ``replicatedJobs[].template.spec.template.spec``.
_REPLICATED_JOBS = frozenset({"TrainingRuntime", "ClusterTrainingRuntime", "JobSet"})
#: Argo Workflows kinds and where their ``WorkflowSpec`` is (argoproj.io/v1alpha1).
_ARGO_SPECS = {"Workflow": (), "WorkflowTemplate": (), "ClusterWorkflowTemplate": (), "CronWorkflow": ("workflowSpec",)}
#: Pod-level fields of an Argo template, which fall back to the WorkflowSpec's.
_ARGO_POD_FIELDS = ("securityContext", "hostNetwork", "nodeSelector", "tolerations")


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
    #: What to call a container without a name of its own (an Argo template's: the template's).
    label: str | None = None

    @property
    def name(self) -> str:
        name = self.body.get("name")
        return name if isinstance(name, str) else self.label or self.path


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


def _patched(template: Mapping[str, Any]) -> Mapping[str, Any]:
    """A template's ``podSpecPatch`` (a JSON or YAML string), parsed; empty where it has none
    or it does not parse (then nothing of it counts)."""
    import yaml

    text = template.get("podSpecPatch")
    try:
        patch = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        return {}
    return patch if isinstance(patch, Mapping) else {}


def _patch_containers(template: Mapping[str, Any], where: str) -> list[Container]:
    """The containers a template's ``podSpecPatch`` sets (init containers flagged)."""
    patch = _patched(template)
    found: list[Container] = []
    for key, init in (("initContainers", True), ("containers", False)):
        items = patch.get(key)
        found += [Container(f"{where}.podSpecPatch.{key}[{j}]", c, init)
                  for j, c in enumerate(items if is_list(items) else []) if isinstance(c, Mapping)]
    return found


def _resource_pod(template: Mapping[str, Any], where: str, label: str | None) -> list[Container]:
    """The containers of a resource template's pod, which are all Argo's executor (``main``
    runs ``argoexec resource``; argoproj/argo-workflows v3.3.10 and v3.7.3 workflow/controller/
    operator.go ``executeResource``), as far as the template decides them: through its
    ``podSpecPatch``. Its ``main`` counts without one: as bare as Argo makes it."""
    found = _patch_containers(template, where)
    if not any(not c.init and c.body.get("name") == "main" for c in found):
        found.append(Container(f"{where}.resource", {}, label=f"{label or where}/main"))
    return found


def _executor_patches(template: Mapping[str, Any], where: str) -> list[Container]:
    """The executor containers (``init``, ``wait``) a container template's ``podSpecPatch``
    settles: Argo adds them to the pod beside the template's own ``main`` and merges the
    patch over them by name (argoproj/argo-workflows workflow/controller/workflowpod.go
    ``createWorkflowPod``), so their resources and security context are the patch's. The
    patch's ``main``, merged over the template's container, is not judged twice."""
    return [c for c in _patch_containers(template, where) if c.body.get("name") != "main"]


def _argo_templates(spec: Any, path: str) -> Iterator[PodTemplate]:
    """Each Argo template that runs a pod: its containers (``container``, ``script``,
    ``containerSet.containers``, ``initContainers``, ``sidecars``; a ``resource``
    template's: :func:`_resource_pod`), with the pod fields
    Argo gives that pod (the template's, else ``templateDefaults``', else the
    WorkflowSpec's; volumes of both)."""
    if not isinstance(spec, Mapping) or not is_list(spec.get("templates")):
        return
    defaults = spec.get("templateDefaults") if isinstance(spec.get("templateDefaults"), Mapping) else {}
    for i, template in enumerate(spec["templates"]):
        if not isinstance(template, Mapping):
            continue
        where = f"{path}.templates[{i}]"
        label = template.get("name") if isinstance(template.get("name"), str) else None
        found: list[Container] = []
        for key in ("container", "script"):
            if isinstance(template.get(key), Mapping):
                found.append(Container(f"{where}.{key}", template[key], label=label))
        for key, init in (("initContainers", True), ("sidecars", False)):
            items = template.get(key)
            found += [Container(f"{where}.{key}[{j}]", c, init)
                      for j, c in enumerate(items if is_list(items) else []) if isinstance(c, Mapping)]
        members = get(template, "containerSet", "containers")
        found += [Container(f"{where}.containerSet.containers[{j}]", c)
                  for j, c in enumerate(members if is_list(members) else []) if isinstance(c, Mapping)]
        if isinstance(template.get("resource"), Mapping):
            found += _resource_pod(template, where, label)
        elif found:
            found += _executor_patches(template, where)
        if not found:
            continue  # a DAG, steps or suspend template: no pod
        pod: dict[str, Any] = {key: source[key] for key in _ARGO_POD_FIELDS
                               for source in (spec, defaults, template) if key in source}
        volumes = [v for source in (spec, template) if is_list(source.get("volumes")) for v in source["volumes"]]
        if volumes:
            pod["volumes"] = volumes
        yield PodTemplate(where, pod, tuple(found))


def pod_templates(type_: str, props: Mapping[str, Any]) -> list[PodTemplate]:
    """Every pod template of a Kubernetes object (none for kinds without pods)."""
    kind, group = kind_of(type_), group_of(type_)
    spec = props.get("spec") if isinstance(props, Mapping) else None
    if not isinstance(spec, Mapping):
        return [*_template(get(props, "template", "spec"), "template.spec")] if kind == "PodTemplate" else []
    if group == "argoproj.io" and kind in _ARGO_SPECS:
        base = _ARGO_SPECS[kind]
        return [*_argo_templates(get(spec, *base), ".".join(("spec", *base)))]
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
