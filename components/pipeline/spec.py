"""The pipeline spec: what a pipeline is, as plain data, before anything is built.

Native pipelines and KFP v1 pipelines (through the compatibility layer) both become a
:class:`PipelineSpec`. It is validated as a whole (unique step names, known references,
no cycles) at config-load time, so a pipeline that cannot be built fails with exit 2
before any resource is registered. The ``Pipeline`` component then turns each step into
Kubernetes objects.

A step refers to another step's output inside its arguments with a placeholder,
:func:`output_placeholder`; the step that receives it gets the value at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, Field, field_validator, model_validator

from mlplane.components.accelerators.spec import POOL_LABEL
from mlplane.components.base import ArgsModel
from mlplane.components.pipeline.experiment_spec import ExperimentStepSpec
from mlplane.core.naming import is_dns_subdomain, k8s_name
from mlplane.components.pod_security import ResourceOverrides
from mlplane.components.quantity import Quantity
from mlplane.components.scheduling import AcceleratorRequest
from mlplane.components.serving.config import EndpointConfig, WebAppConfig

__all__ = [
    "AnyStep", "ContainerStepSpec", "ExperimentStepSpec", "PipelineError", "PipelineSpec", "ResourceOverrides",
    "ResourceStepSpec", "ServeStepSpec", "WorkflowStepSpec",
    "StepSpec", "VolumeStepSpec", "WebAppStepSpec", "output_placeholder", "output_references", "rename_output_steps",
    "resolve_versions", "split_placeholders", "version_placeholder", "version_references",
]

_PLACEHOLDER = re.compile(r"\{\{mlplane\.output:([^:}]+):([^}]+)\}\}")
_VERSION = re.compile(r"\{\{mlplane\.version:([^}]+)\}\}")


def output_placeholder(step: str, output: str) -> str:
    """The text that stands for ``step``'s output ``output`` inside an argument."""
    return f"{{{{mlplane.output:{step}:{output}}}}}"


def version_placeholder(step: str) -> str:
    """The text that stands for ``step``'s version (e.g. in a model's export path).

    Replaced with the version when the pipeline is declared; the step that uses it runs
    after ``step`` and changes whenever ``step`` does.
    """
    return f"{{{{mlplane.version:{step}}}}}"


def version_references(text: str) -> list[str]:
    """The steps whose versions a text refers to."""
    return _VERSION.findall(text)


def substitute_versions(text: str, versions: dict[str, str]) -> str:
    """``text`` with every version placeholder replaced by the step's version."""
    return _VERSION.sub(lambda m: versions[m.group(1)], text)


def output_references(text: str) -> list[tuple[str, str]]:
    """The ``(step, output)`` pairs an argument refers to."""
    return [(m.group(1), m.group(2)) for m in _PLACEHOLDER.finditer(text)]


def rename_output_steps(text: str, rename: Callable[[str], str]) -> str:
    """``text`` with the step of every output placeholder replaced by ``rename(step)``."""
    return _PLACEHOLDER.sub(lambda m: output_placeholder(rename(m.group(1)), m.group(2)), text)


def split_placeholders(text: str) -> list[str | tuple[str, str]]:
    """Split an argument into literal text and ``(step, output)`` references, in order."""
    parts: list[str | tuple[str, str]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > position:
            parts.append(text[position:match.start()])
        parts.append((match.group(1), match.group(2)))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return parts


def _check_step_name(value: str) -> str:
    if not value or not value.strip():
        raise ValueError("a step name must not be empty")
    try:
        k8s_name(value)
    except ValueError:
        raise ValueError("a step name needs at least one letter or digit") from None
    return value


def _check_container_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError("must be an absolute path in the container")
    if any(part == ".." for part in value.split("/")):
        raise ValueError("must not contain '..'")
    return value


def _check_claim_name(value: str) -> str:
    # The claim's metadata.name as given: a name the pipeline chose is checked, not rewritten.
    if not is_dns_subdomain(value):
        raise ValueError(f"the claim name {value!r} must be a DNS-1123 subdomain: lower-case letters, digits, "
                         "'-' and '.', at most 253 characters")
    return value


StepName = Annotated[str, AfterValidator(_check_step_name)]
ContainerPath = Annotated[str, AfterValidator(_check_container_path)]


class SidecarSpec(ArgsModel):
    """A container that runs beside a step's main container while it runs."""

    name: StepName = Field(description="The container's name, unique in the pod.")
    image: str = Field(description="Container image, pinned to a tag or digest.", min_length=1)
    command: tuple[str, ...] = Field((), description="Entrypoint; empty keeps the image's.")
    args: tuple[str, ...] = Field((), description="Arguments.")
    env: tuple[dict[str, Any], ...] = Field((), description="Kubernetes EnvVar objects.")
    mirror_volume_mounts: bool = Field(False, description="Mount what the main container mounts.")


class ContainerStepSpec(ArgsModel):
    """A step that runs a container to completion (a Job; a training job with workers)."""

    kind: Literal["container"] = Field("container", description="A container step.")
    name: StepName = Field(description="The step's name, unique in its pipeline.")
    image: str = Field(description="Container image, pinned to a tag or digest.", min_length=1)
    command: tuple[str, ...] = Field((), description="Entrypoint; empty keeps the image's.")
    args: tuple[str, ...] = Field((), description="Arguments; may contain output placeholders.")
    env: tuple[dict[str, Any], ...] = Field((), description="Kubernetes EnvVar objects.")
    volumes: tuple[dict[str, Any], ...] = Field((), description="Kubernetes Volume objects the pod needs.")
    volume_mounts: tuple[dict[str, Any], ...] = Field((), description="Kubernetes VolumeMount objects.")
    file_outputs: dict[str, ContainerPath] = Field(
        default_factory=dict, description="Outputs: name -> file the container writes its value to."
    )
    input_files: dict[ContainerPath, str] = Field(
        default_factory=dict, description="Files the step receives: path -> a constant text, or exactly one output "
                                          "placeholder (the producing step's output file, mounted read-only)."
    )
    pod_annotations: dict[str, str] = Field(default_factory=dict, description="Extra annotations on the step's pod.")
    pod_labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on the step's pod.")
    working_dir: ContainerPath | None = Field(None, description="The container's working directory.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        None, description="When the kubelet pulls the image; default: Kubernetes' own.")
    image_pull_secrets: tuple[str, ...] = Field((), description="Secrets (in the step's namespace) to pull with.")
    sidecars: tuple[SidecarSpec, ...] = Field(
        (), description="Containers beside the main one, stopped when it ends (native Kubernetes sidecars).")
    resources: ResourceOverrides = Field(default_factory=ResourceOverrides, description="CPU and memory.")
    accelerator: AcceleratorRequest | None = Field(
        None, description="Accelerators the step needs, placed on the stack's pools."
    )
    node_selector: dict[str, str] = Field(default_factory=dict, description="Extra node selector labels.")
    tolerations: tuple[dict[str, Any], ...] = Field((), description="Extra Kubernetes tolerations.")
    retries: int = Field(0, ge=0, le=100, description="Retries after a failed attempt.")
    timeout_seconds: int | None = Field(None, ge=1, description="Fail the step after this long.")
    after: tuple[str, ...] = Field((), description="Steps that must finish first.")
    workers: int = Field(1, ge=1, le=1024, description="More than one runs a distributed training job.")
    artifact_access: bool = Field(
        False, description="Run with the artifact store's identity and settings (workload identity, IRSA, keys)."
    )

    @model_validator(mode="before")
    @classmethod
    def _pool_from_selector(cls, data: Any) -> Any:
        """A step whose node selector names a pool by mlplane's pool label asks for that pool.

        Placed on another pool it would carry two pools' selectors, which no node matches
        (a KFP v1 ``add_node_selector_constraint`` is how such a step says it).
        """
        if not isinstance(data, dict) or data.get("accelerator") is None:
            return data
        pool = (data.get("node_selector") or {}).get(POOL_LABEL)
        if pool is None:
            return data
        accelerator = data["accelerator"]
        request = accelerator.model_dump() if isinstance(accelerator, AcceleratorRequest) else dict(accelerator)
        if request.get("pool") not in (None, pool):
            raise ValueError(f"node_selector {POOL_LABEL}={pool} and accelerator pool {request['pool']} name two "
                             "pools; name one")
        return {**data, "accelerator": {**request, "pool": pool}}

    @field_validator("volume_mounts")
    @classmethod
    def _mount_paths(cls, mounts: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        for mount in mounts:
            _check_container_path(str(mount.get("mountPath", "")))
            for key in ("subPath", "subPathExpr"):
                # Kubernetes' rule: inside the volume, so relative and without '..'.
                sub = mount.get(key)
                if sub is not None and (str(sub).startswith("/") or ".." in str(sub).split("/")):
                    raise ValueError(f"{key} {sub!r} of volume {mount.get('name')!r} must be a path inside the "
                                     "volume: relative, without '..'")
        return mounts

    @field_validator("volumes")
    @classmethod
    def _no_host_paths(cls, volumes: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        for volume in volumes:
            if "hostPath" in volume:
                raise ValueError(f"volume {volume.get('name')!r} is a hostPath volume, which pipeline steps may not use")
        return volumes

    @field_validator("input_files")
    @classmethod
    def _whole_references(cls, files: dict[str, str]) -> dict[str, str]:
        for path, text in files.items():
            if output_references(text) and split_placeholders(text) != [output_references(text)[0]]:
                raise ValueError(f"input file {path}: an output must be the whole value, not part of {text!r}")
        return files

    def references(self) -> list[tuple[str, str]]:
        """Every ``(step, output)`` this step's command and arguments refer to."""
        return [ref for text in (*self.command, *self.args) for ref in output_references(text)]

    def file_references(self) -> dict[str, tuple[str, str]]:
        """The input files that are other steps' outputs: path -> ``(step, output)``."""
        return {path: output_references(text)[0] for path, text in self.input_files.items()
                if output_references(text)}

    def all_references(self) -> list[tuple[str, str]]:
        """Every ``(step, output)`` the step uses, in its arguments or as files."""
        return [*self.references(), *self.file_references().values()]


class VolumeStepSpec(ArgsModel):
    """A step that creates a volume (a PVC) other steps mount (KFP's VolumeOp)."""

    kind: Literal["volume"] = Field("volume", description="A volume step.")
    name: StepName = Field(description="The step's name, unique in its pipeline.")
    resource_name: Annotated[str, AfterValidator(_check_claim_name)] = Field(
        description="Name of the PVC (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.').")
    size: Quantity = Field(description="Requested storage, e.g. 10Gi.")
    modes: tuple[Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"], ...] = Field(
        ("ReadWriteOnce",), description="Access modes."
    )
    storage_class: str | None = Field(None, description="Storage class; default: the stack's default.")
    after: tuple[str, ...] = Field((), description="Steps that must finish first.")


#: Argo's run placeholders a name may hold, with the longest value each takes: a run's uid
#: is a UUID (36 characters, Kubernetes' metadata.uid); the names are checked where they
#: are known (a plan substitutes all three before declaring a step, pipelines/kfp_v1/
#: placeholders.py; on the workflow engine Argo does, per run).
_RUN_VALUES = {"{{workflow.uid}}": "0" * 8 + "-0000" * 3 + "-" + "0" * 12, "{{workflow.name}}": "w", "{{pod.name}}": "p"}


def _with_run_values(name: str) -> str:
    for placeholder, value in _RUN_VALUES.items():
        name = name.replace(placeholder, value)
    return name


class ResourceStepSpec(ArgsModel):
    """A step that declares one Kubernetes object and waits for it (KFP's ResourceOp).

    The object becomes a resource of the plan in the pipeline's namespace; ``wait_for``
    is its readiness wait (``pulumi.com/waitFor``), so later steps start once it holds.
    """

    kind: Literal["resource"] = Field("resource", description="A resource step.")
    name: StepName = Field(description="The step's name, unique in its pipeline.")
    manifest: dict[str, Any] = Field(description="The object: apiVersion, kind, metadata.name, and its body.")
    wait_for: str | None = Field(None, description="pulumi.com/waitFor expression (jsonpath=... or condition=...).")
    success_condition: str | None = Field(None, description="The KFP success condition, as written.")
    failure_condition: str | None = Field(
        None, description="The KFP failure condition, recorded on the object (Pulumi fails at the timeout).")
    after: tuple[str, ...] = Field((), description="Steps that must finish first.")

    @field_validator("manifest")
    @classmethod
    def _an_object(cls, manifest: dict[str, Any]) -> dict[str, Any]:
        for key in ("apiVersion", "kind"):
            if not isinstance(manifest.get(key), str) or not manifest[key]:
                raise ValueError(f"the object needs {key}")
        name = (manifest.get("metadata") or {}).get("name")
        if not isinstance(name, str) or not is_dns_subdomain(_with_run_values(name)):
            raise ValueError(f"the object's metadata.name {name!r} must be a DNS-1123 subdomain")
        return manifest


class WorkflowStepSpec(ArgsModel):
    """A whole pipeline whose flow is decided at run time, as one Argo Workflow.

    Kubeflow Pipelines' workflow engine (Argo Workflows, which it installs) runs it; the
    plan declares the Workflow, awaits it until it succeeds, and replaces it when it
    changes.
    """

    kind: Literal["workflow"] = Field("workflow", description="A workflow step.")
    name: StepName = Field(description="The step's name (the pipeline's).")
    workflow: dict[str, Any] = Field(description="The Argo Workflow (apiVersion, kind, metadata, spec).")
    reasons: tuple[str, ...] = Field((), description="The constructs that need the workflow engine.")
    accelerators: dict[str, AcceleratorRequest] = Field(
        default_factory=dict, description="Accelerators of its container templates, by template name (a step's "
                                          "name), placed on the stack's pools as a container step's are."
    )
    after: tuple[str, ...] = Field((), description="Steps that must finish first.")


class ServeStepSpec(ArgsModel):
    """A step that serves a model (a serving endpoint), typically the one a training step made."""

    kind: Literal["serve"] = Field("serve", description="A serving step.")
    name: StepName = Field(description="The step's name, unique in its pipeline.")
    endpoint: EndpointConfig = Field(description="The endpoint, as under mlplane:serving.endpoints.")
    model_step: str | None = Field(
        None, description="The step that produced the model; its version becomes the model's version."
    )
    after: tuple[str, ...] = Field((), description="Steps that must finish first.")


class WebAppStepSpec(ArgsModel):
    """A step that deploys a web app in front of an endpoint of the same pipeline."""

    kind: Literal["webapp"] = Field("webapp", description="A web-app step.")
    name: StepName = Field(description="The step's name, unique in its pipeline.")
    app: WebAppConfig = Field(description="The app, as under mlplane:serving.web_apps; its backend names a "
                                          "serve step's endpoint.")
    after: tuple[str, ...] = Field((), description="Steps that must finish first.")


StepSpec = Annotated[Union[ContainerStepSpec, VolumeStepSpec, ResourceStepSpec, WorkflowStepSpec, ServeStepSpec,
                           WebAppStepSpec, ExperimentStepSpec],
                     Field(discriminator="kind")]
AnyStep = Union[ContainerStepSpec, VolumeStepSpec, ResourceStepSpec, WorkflowStepSpec, ServeStepSpec, WebAppStepSpec,
                ExperimentStepSpec]


def outputs_of(step: AnyStep) -> tuple[str, ...]:
    """The outputs a step makes: a container step's file outputs, a search's best parameters."""
    if isinstance(step, ContainerStepSpec):
        return tuple(step.file_outputs)
    if isinstance(step, ExperimentStepSpec):
        return step.outputs
    return ()


class PipelineError(ValueError):
    """A pipeline cannot be built; the message names the pipeline and the step."""


class PipelineSpec(ArgsModel):
    """A whole pipeline: named, ordered by dependencies, checked."""

    name: str = Field(description="The pipeline's name in the stack.", min_length=1)
    description: str = Field("", description="What the pipeline does.")
    steps: tuple[StepSpec, ...] = Field(description="The steps, in the order they were declared.")

    @model_validator(mode="after")
    def _consistent(self) -> "PipelineSpec":
        names: dict[str, str] = {}
        for step in self.steps:
            key = k8s_name(step.name)
            if key in names:
                raise PipelineError(
                    f"pipeline {self.name!r}: two steps are named {step.name!r}"
                    + (f" (as {names[key]!r})" if names[key] != step.name else "")
                )
            names[key] = step.name
        by_name = {step.name: step for step in self.steps}
        for step in self.steps:
            for other in step.after:
                if other not in by_name:
                    raise PipelineError(f"pipeline {self.name!r}, step {step.name!r}: runs after unknown step {other!r}")
            if isinstance(step, ContainerStepSpec):
                for source, output in step.all_references():
                    producer = by_name.get(source)
                    if producer is None:
                        raise PipelineError(
                            f"pipeline {self.name!r}, step {step.name!r}: uses an output of unknown step {source!r}"
                        )
                    if output not in outputs_of(producer):
                        raise PipelineError(
                            f"pipeline {self.name!r}, step {step.name!r}: step {source!r} has no output {output!r}"
                        )
        endpoints = {step.endpoint.name: step.name for step in self.steps if isinstance(step, ServeStepSpec)}
        for step in self.steps:
            if isinstance(step, ServeStepSpec) and step.model_step is not None:
                if not isinstance(by_name.get(step.model_step), ContainerStepSpec):
                    raise PipelineError(f"pipeline {self.name!r}, step {step.name!r}: model_step "
                                        f"{step.model_step!r} is not a container step of the pipeline")
            if isinstance(step, WebAppStepSpec) and step.app.backend is not None \
                    and step.app.backend.endpoint not in endpoints:
                raise PipelineError(f"pipeline {self.name!r}, step {step.name!r}: backend "
                                    f"{step.app.backend.endpoint!r} is not the endpoint of a serve step "
                                    f"(known: {', '.join(sorted(endpoints)) or 'none'})")
            for other in _texts_versions(step):
                if other not in by_name:
                    raise PipelineError(f"pipeline {self.name!r}, step {step.name!r}: uses the version of "
                                        f"unknown step {other!r}")
        self.order()  # raises on cycles
        return self

    def upstream(self, step: AnyStep) -> list[str]:
        """The steps ``step`` waits for: ``after``, the producers of its inputs, the
        model it serves, the endpoint it fronts, and the steps whose versions it uses."""
        names = list(step.after)
        if isinstance(step, ContainerStepSpec):
            names += [source for source, _ in step.all_references()]
        if isinstance(step, ServeStepSpec) and step.model_step:
            names.append(step.model_step)
        if isinstance(step, WebAppStepSpec) and step.app.backend is not None:
            names += [s.name for s in self.steps
                      if isinstance(s, ServeStepSpec) and s.endpoint.name == step.app.backend.endpoint]
        names += [other for other in _texts_versions(step) if other != step.name]
        return list(dict.fromkeys(names))

    def order(self) -> list[str]:
        """Step names in an order where every step comes after its upstream steps.

        Raises:
            PipelineError: The steps' dependencies form a cycle (named in the message).
        """
        by_name = {step.name: step for step in self.steps}
        done: list[str] = []
        state: dict[str, str] = {}

        def visit(name: str, trail: list[str]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "active":
                cycle = trail[trail.index(name):] + [name]
                raise PipelineError(f"pipeline {self.name!r}: steps depend on each other in a cycle: "
                                    + " -> ".join(cycle))
            state[name] = "active"
            for other in self.upstream(by_name[name]):
                if other in by_name:
                    visit(other, [*trail, name])
            state[name] = "done"
            done.append(name)

        for step in self.steps:
            visit(step.name, [])
        return done

    def step(self, name: str) -> AnyStep:
        """The step with this name (KeyError if none)."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


def _texts_versions(step: AnyStep) -> list[str]:
    return version_references(step.model_dump_json())


def resolve_versions(spec: PipelineSpec, versions: dict[str, str]) -> PipelineSpec:
    """``spec`` with every version placeholder replaced (see :func:`version_placeholder`)."""
    steps = [type(step).model_validate_json(substitute_versions(step.model_dump_json(), versions))
             for step in spec.steps]
    return spec.model_copy(update={"steps": tuple(steps)})
