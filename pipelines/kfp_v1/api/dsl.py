"""mlplane's ``kfp.dsl``: ContainerOp, VolumeOp, PipelineParam and the pipeline decorator."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mlplane.pipelines.kfp_v1.api._params import PipelineParam
from mlplane.core.naming import k8s_name
from mlplane.pipelines.kfp_v1.context import UnsupportedAttribute, current, refusing, unsupported_attributes
from mlplane.pipelines.kfp_v1.k8s_objects import to_plain

__all__ = [
    "Condition", "ContainerOp", "ExitHandler", "ParallelFor", "PipelineParam", "PipelineVolume", "ResourceOp",
    "Sidecar", "VolumeOp", "VolumeSnapshotOp",
    "pipeline",
    "VOLUME_MODE_RWO", "VOLUME_MODE_RWM", "VOLUME_MODE_ROM",
]

VOLUME_MODE_RWO = ["ReadWriteOnce"]
VOLUME_MODE_RWM = ["ReadWriteMany"]
VOLUME_MODE_ROM = ["ReadOnlyMany"]

_GPU_VENDORS = ("nvidia", "amd")
PIPELINE_MARK = "_mlplane_kfp_v1_pipeline"


def pipeline(name: str | None = None, description: str | None = None, pipeline_root: str | None = None,
             **_: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as a pipeline (``@dsl.pipeline(name=..., description=...)``)."""

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        setattr(function, PIPELINE_MARK, {"name": name or function.__name__, "description": description or ""})
        return function

    return mark


class Container:
    """The main container of an op: image, command, arguments, env, mounts, resources."""

    def __init__(self, image: str, command: list[Any], args: list[Any]) -> None:
        self.image = image
        self.command = command
        self.args = args
        self.env: list[dict[str, Any]] = []
        self.volume_mounts: list[dict[str, Any]] = []
        self.limits: dict[str, str] = {}
        self.requests: dict[str, str] = {}
        self.accelerator: dict[str, Any] | None = None
        self.image_pull_policy: str | None = None
        self.working_dir: str | None = None
        self.security_context: dict[str, Any] | None = None

    def add_resource_limit(self, resource_name: str, value: Any) -> "Container":
        if resource_name.endswith(".com/gpu") and resource_name.split(".")[0] in _GPU_VENDORS:
            return self.set_gpu_limit(value, resource_name.split(".")[0])
        if resource_name not in ("cpu", "memory"):
            raise current().refuse("add_resource_limit", f"resource {resource_name!r} is not supported "
                                                         "(cpu, memory and nvidia/amd GPUs are)")
        self.limits[resource_name] = str(value)
        return self

    def add_resource_request(self, resource_name: str, value: Any) -> "Container":
        if resource_name not in ("cpu", "memory"):
            raise current().refuse("add_resource_request", f"resource {resource_name!r} is not supported "
                                                           "(cpu and memory are; GPUs go through set_gpu_limit)")
        self.requests[resource_name] = str(value)
        return self

    def set_memory_request(self, memory: Any) -> "Container":
        return self.add_resource_request("memory", memory)

    def set_memory_limit(self, memory: Any) -> "Container":
        return self.add_resource_limit("memory", memory)

    def set_cpu_request(self, cpu: Any) -> "Container":
        return self.add_resource_request("cpu", cpu)

    def set_cpu_limit(self, cpu: Any) -> "Container":
        return self.add_resource_limit("cpu", cpu)

    def set_gpu_limit(self, gpu: Any, vendor: str = "nvidia") -> "Container":
        if vendor not in _GPU_VENDORS:
            raise current().refuse("set_gpu_limit", f"vendor can only be nvidia or amd, got {vendor!r}")
        try:
            count = int(str(gpu))
        except ValueError:
            raise current().refuse("set_gpu_limit", f"gpu must be a positive number, got {gpu!r}") from None
        if count < 1:
            raise current().refuse("set_gpu_limit", f"gpu must be a positive number, got {gpu!r}")
        self.accelerator = {"vendor": vendor, "count": count}
        return self

    def add_volume_mount(self, volume_mount: Any) -> "Container":
        self.volume_mounts.append(to_plain(volume_mount))
        return self

    def add_env_variable(self, env_variable: Any) -> "Container":
        self.env.append(to_plain(env_variable))
        return self

    def set_image_pull_policy(self, image_pull_policy: str) -> "Container":
        if image_pull_policy not in ("Always", "Never", "IfNotPresent"):
            raise current().refuse("set_image_pull_policy", f"{image_pull_policy!r} is not a pull policy "
                                                            "(Always, Never, IfNotPresent)")
        self.image_pull_policy = image_pull_policy
        return self

    def set_security_context(self, security_context: Any) -> "Container":
        """Tighten the container's security context; root and privileged are refused.

        Steps run under Pod Security "restricted": only settings that keep it are taken.
        """
        plain = to_plain(security_context) or {}
        if plain.get("privileged"):
            raise current().refuse("set_security_context", "privileged containers are refused: steps run under "
                                                           "Pod Security 'restricted' (docs/security.md)")
        if plain.get("runAsUser") == 0 or plain.get("runAsNonRoot") is False or plain.get("runAsGroup") == 0:
            raise current().refuse("set_security_context", "running as root is refused: steps run under Pod "
                                                           "Security 'restricted' (docs/security.md)")
        if plain.get("allowPrivilegeEscalation") or (plain.get("capabilities") or {}).get("add"):
            raise current().refuse("set_security_context", "privilege escalation and added capabilities are "
                                                           "refused: steps run under Pod Security 'restricted'")
        self.security_context = plain
        return self


def _proxy(method: str) -> Callable[..., "ContainerOp"]:
    def call(self: "ContainerOp", *args: Any, **kwargs: Any) -> "ContainerOp":
        getattr(self.container, method)(*args, **kwargs)
        return self

    call.__name__ = method
    call.__doc__ = f"``op.{method}(...)`` is ``op.container.{method}(...)``, returning the op."
    return call


class BaseOp:
    """What every op has: a name, dependencies and ``.after()``/``.apply()``."""

    def __init__(self, name: str) -> None:
        self._declaration = current()
        self.human_name = name
        # KFP's unique op name (sanitized; a repeated name gets -2, -3...), as its steps are named.
        self.name = self._declaration.unique_name(str(name))
        self.display_name: str | None = None
        self.dependent_names: list[str] = []
        self.pod_annotations: dict[str, str] = {}
        self.pod_labels: dict[str, str] = {}
        self.enable_caching = True
        self.is_exit_handler = False
        #: The run-time groups (conditions, loops, exit handlers) the op is inside, outermost first.
        self.groups = list(self._declaration.groups)
        self._declaration.ops.append(self)

    def add_pod_annotation(self, name: str, value: str) -> "BaseOp":
        """Annotate the step's pod (mlplane's and Pulumi's own keys are refused)."""
        _check_own_key("add_pod_annotation", name)
        self.pod_annotations[str(name)] = str(value)
        return self

    def add_pod_label(self, name: str, value: str) -> "BaseOp":
        """Label the step's pod (mlplane's own keys are refused)."""
        _check_own_key("add_pod_label", name)
        self.pod_labels[str(name)] = str(value)
        return self

    def set_display_name(self, name: str) -> "BaseOp":
        """The step's name in KFP's UI; recorded as the annotation KFP sets."""
        self.display_name = str(name)
        return self

    def set_caching_options(self, enable_caching: bool) -> "BaseOp":
        """Accepted: a step re-runs only when its version changes, so it is always 'cached'."""
        self.enable_caching = bool(enable_caching)
        return self

    def after(self, *ops: "BaseOp") -> "BaseOp":
        """Run after ``ops``."""
        for op in ops:
            if not isinstance(op, BaseOp):
                raise current().refuse("after", f"expects ops, got {type(op).__name__}")
            self.dependent_names.append(op.name)
        return self

    def apply(self, mod_func: Callable[["BaseOp"], Any]) -> "BaseOp":
        """Apply a modifier (``gcp.use_gcp_secret(...)``, ``onprem.mount_pvc(...)``)."""
        return mod_func(self) or self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        declaration = current()
        construct = f"{type(self).__name__}.{name}"
        raise UnsupportedAttribute(construct, "is not supported by mlplane's KFP v1 layer",
                                   str(declaration.file), declaration.caller_line())


#: Outputs KFP 1.8.22 always saves as artifacts, for its UI (kfp/dsl/_container_op.py).
_UI_OUTPUTS = ("mlpipeline-ui-metadata", "mlpipeline-metrics")


class CachingStrategy:
    """KFP's ``op.execution_options.caching_strategy``: ``max_cache_staleness`` (an ISO 8601
    duration, ``P0D``: never reuse) becomes the annotation KFP 1.8.22 sets
    (``pipelines.kubeflow.org/max_cache_staleness``, kfp/compiler/_op_to_template.py)."""

    def __init__(self) -> None:
        self.max_cache_staleness: str | None = None


class ExecutionOptions:
    """KFP's ``op.execution_options`` (its caching controls)."""

    def __init__(self) -> None:
        self.caching_strategy = CachingStrategy()


class ContainerOp(BaseOp):
    """A step that runs a container to completion."""

    def __init__(self, name: str, image: str, command: Any = None, arguments: Any = None,
                 init_containers: Any = None, sidecars: Any = None, container_kwargs: Any = None,
                 artifact_argument_paths: Any = None, file_outputs: dict[str, str] | None = None,
                 output_artifact_paths: Any = None, is_exit_handler: bool = False,
                 pvolumes: dict[str, Any] | None = None, _from_component: bool = False) -> None:
        for label, given in (("init_containers", init_containers),
                             ("artifact_argument_paths", artifact_argument_paths),
                             ("container_kwargs", container_kwargs)):
            if given:
                raise current().refuse(f"ContainerOp({label}=...)", "is not supported by mlplane's KFP v1 layer")
        super().__init__(name)
        self.container = Container(image, _as_list(command), _as_list(arguments))
        self.file_outputs = dict(file_outputs or {})
        #: The KFP UI's files (``mlpipeline-ui-metadata``, ``mlpipeline-metrics``): KFP 1.8.22
        #: moves them out of ``file_outputs`` into artifacts (kfp/dsl/_container_op.py
        #: ``_is_legacy_output_name``), so no step can receive them.
        self.output_artifact_paths: dict[str, str] = dict(output_artifact_paths or {})
        for output, path in list(self.file_outputs.items()):
            legacy = re.sub("[^a-zA-Z0-9]", "-", str(output).lower())
            if legacy in _UI_OUTPUTS:
                self.output_artifact_paths[legacy] = path
                del self.file_outputs[output]
        self.execution_options = ExecutionOptions()
        #: Files the step receives: container path -> a constant, or an output's placeholder.
        self.input_files: dict[str, str] = {}
        self.image_pull_secrets: list[str] = []
        self.outputs = _Outputs(self.name, {key: PipelineParam(key, op_name=self.name) for key in self.file_outputs})
        self.output = next(iter(self.outputs.values())) if len(self.outputs) == 1 else None
        self.volumes: list[dict[str, Any]] = []
        self.node_selector: dict[str, str] = {}
        self.tolerations: list[dict[str, Any]] = []
        self.num_retries = 0
        self.timeout = 0
        #: Where ``gcp.use_preemptible_nodepool`` asked for spot capacity (its line), if it did.
        self.spot_line: int | None = None
        self.pvolumes: dict[str, Any] = {}
        self.pvolume: Any = None
        self.sidecars: list[Sidecar] = []
        for sidecar in sidecars or []:
            self.add_sidecar(sidecar)
        self.add_pvolumes(pvolumes or {})

    def add_sidecar(self, sidecar: Sidecar) -> "ContainerOp":
        """Run ``sidecar`` beside the main container."""
        if not isinstance(sidecar, Sidecar):
            raise current().refuse("add_sidecar", f"expects a dsl.Sidecar, got {type(sidecar).__name__}")
        self.sidecars.append(sidecar)
        return self

    def add_pvolumes(self, pvolumes: dict[str, Any]) -> "ContainerOp":
        """Mount volumes by path (``pvolumes={"/mnt": vop.volume}``); waits for their ops."""
        for path, volume in pvolumes.items():
            plain = to_plain(volume)
            self.add_volume(volume)
            self.container.add_volume_mount({"name": plain["name"], "mountPath": path})
            for dependency in getattr(volume, "dependent_names", []):
                if dependency not in self.dependent_names:
                    self.dependent_names.append(dependency)
            # As in KFP: the op's pvolumes are the volumes *after* this op, so a later
            # op mounting op.pvolume runs after it.
            if isinstance(volume, PipelineVolume):
                volume = volume.after(self)
            self.pvolumes[path] = volume
        self.pvolume = next(iter(self.pvolumes.values())) if len(self.pvolumes) == 1 else None
        return self

    def add_volume(self, volume: Any) -> "ContainerOp":
        """Add a pod volume (a V1Volume or its dict)."""
        plain = to_plain(volume)
        if not any(v.get("name") == plain.get("name") for v in self.volumes):
            self.volumes.append(plain)
        return self

    def add_toleration(self, tolerations: Any) -> "ContainerOp":
        """Tolerate a taint (a V1Toleration or its dict)."""
        self.tolerations.append(to_plain(tolerations))
        return self

    def add_node_selector_constraint(self, label_name: str, value: str) -> "ContainerOp":
        """Run only on nodes with this label value."""
        self.node_selector[str(label_name)] = str(value)
        return self

    def set_retry(self, num_retries: int, policy: str | None = None, backoff_duration: Any = None,
                  backoff_factor: Any = None, backoff_max_duration: Any = None) -> "ContainerOp":
        """Retry a failed step up to ``num_retries`` times."""
        self.num_retries = int(num_retries)
        return self

    def set_timeout(self, seconds: int) -> "ContainerOp":
        """Fail the step after ``seconds``."""
        self.timeout = int(seconds)
        return self

    set_gpu_limit = _proxy("set_gpu_limit")
    set_memory_limit = _proxy("set_memory_limit")
    set_memory_request = _proxy("set_memory_request")
    set_cpu_limit = _proxy("set_cpu_limit")
    set_cpu_request = _proxy("set_cpu_request")
    add_resource_limit = _proxy("add_resource_limit")
    add_resource_request = _proxy("add_resource_request")
    add_env_variable = _proxy("add_env_variable")
    add_volume_mount = _proxy("add_volume_mount")
    set_image_pull_policy = _proxy("set_image_pull_policy")


class Sidecar:
    """A container beside the step's main one (KFP 1.8.22 ``dsl.Sidecar``).

    It becomes a native Kubernetes sidecar (an init container with ``restartPolicy:
    Always``), which the kubelet stops once the main container ends, as Argo stops KFP's
    sidecars; a plain second container would keep the step's Job from completing.
    """

    def __init__(self, name: str, image: str, command: Any = None, args: Any = None,
                 mirror_volume_mounts: bool | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise current().refuse("dsl.Sidecar", f"does not take {', '.join(sorted(kwargs))} here")
        self.name = str(name)
        self.image = str(image)
        self.command = [str(c) for c in _as_list(command)]
        self.args = [str(a) for a in _as_list(args)]
        self.mirror_volume_mounts = bool(mirror_volume_mounts)
        self.env: list[dict[str, Any]] = []

    def add_env_variable(self, env_variable: Any) -> "Sidecar":
        self.env.append(to_plain(env_variable))
        return self

    def as_dict(self) -> dict[str, Any]:
        """The sidecar as the step spec holds it."""
        return {"name": self.name, "image": self.image, "command": self.command, "args": self.args,
                "env": self.env, "mirror_volume_mounts": self.mirror_volume_mounts}


class PipelineVolume(dict):
    """A volume (as its Kubernetes dict) that remembers which ops must run first."""

    def __init__(self, name: str, pvc: str, dependent_names: list[str] | None = None) -> None:
        super().__init__(name=name, persistentVolumeClaim={"claimName": pvc})
        self.dependent_names = list(dependent_names or [])

    def after(self, *ops: BaseOp) -> "PipelineVolume":
        """The same volume, used only after ``ops`` finish."""
        return PipelineVolume(self["name"], self["persistentVolumeClaim"]["claimName"],
                              self.dependent_names + [op.name for op in ops])


class VolumeOp(BaseOp):
    """A step that creates a PersistentVolumeClaim for later steps."""

    def __init__(self, name: str, resource_name: str | None = None, size: Any = None,
                 storage_class: str | None = None, modes: list[str] | None = None,
                 annotations: dict[str, str] | None = None, data_source: Any = None,
                 volume_name: str | None = None, generate_unique_name: bool = True, **kwargs: Any) -> None:
        if kwargs.get("k8s_resource") is not None or data_source is not None:
            raise current().refuse("VolumeOp(k8s_resource/data_source)", "is not supported; give resource_name and size")
        if not size:
            raise current().refuse("VolumeOp", "please provide size")
        super().__init__(name)
        self.resource_name = resource_name or name
        # KFP sanitizes it into the claim's name (kfp/dsl/_volume_op.py).
        self.kfp_resource_name = re.sub("-+", "-", re.sub("[^-0-9a-z]+", "-", str(self.resource_name).lower())
                                        ).strip("-")
        self.size = str(size)
        self.storage_class = storage_class
        self.modes = list(modes or VOLUME_MODE_RWM)
        # KFP names the claim after the workflow run; a plan has one claim per pipeline.
        self.claim_name = k8s_name(self._declaration.pipeline_name, self.resource_name)
        self.volume = PipelineVolume(k8s_name(self.name), self.claim_name, [self.name])
        # Known when the plan is made, so passed on as values (Kale passes the name to its
        # steps and records ``outputs["name"].full_name``, KFP's ``<op>-name``).
        self.outputs: dict[str, Any] = {key: PipelineParam(key, value=value, owner=self.name)
                                        for key, value in (("name", self.claim_name), ("size", self.size))}


class _Outputs(dict):
    """An op's outputs by name; using one the op does not declare is an error naming both."""

    def __init__(self, op_name: str, outputs: dict[str, PipelineParam]) -> None:
        super().__init__(outputs)
        self.op_name = op_name

    def __missing__(self, key: str) -> PipelineParam:
        raise current().refuse(f"step {self.op_name!r}", f"has no output {key!r} (outputs: "
                                                        f"{', '.join(sorted(self)) or 'none'})")


#: Keys mlplane sets on every step; a pipeline may not overwrite them.
_OWN_KEY_PREFIXES = ("mlplane.dev/", "pulumi.com/", "app.kubernetes.io/managed-by")


def _check_own_key(construct: str, key: str) -> None:
    if any(str(key).startswith(prefix) for prefix in _OWN_KEY_PREFIXES):
        raise current().refuse(construct, f"{key!r} is one of mlplane's own keys ({', '.join(_OWN_KEY_PREFIXES)}), "
                                          "which steps may not set")


class _ResourceOutputs(dict):
    """A ResourceOp's outputs: its name is known when the plan is made; other attributes
    (``{.status...}``) exist only once the object does, so no step can receive them."""

    def __init__(self, op_name: str, name: str, attributes: list[str]) -> None:
        super().__init__({"name": PipelineParam("name", value=name)})
        self.op_name = op_name
        self.attributes = attributes

    def __missing__(self, key: str) -> Any:
        if key in self.attributes:
            raise current().refuse(f"step {self.op_name!r}", f"output {key!r} is read from the object once it exists; "
                                                            "a plan passes only its name (outputs['name'])")
        raise current().refuse(f"step {self.op_name!r}", f"has no output {key!r} (outputs: "
                                                        f"{', '.join(['name', *self.attributes])})")


class ResourceOp(BaseOp):
    """A step that declares one Kubernetes object (KFP 1.8.22 kfp/dsl/_resource_op.py).

    ``action`` create or apply; the success condition becomes the object's readiness
    wait. Deleting and patching objects is refused: the plan owns its objects.
    """

    def __init__(self, name: str, k8s_resource: Any = None, action: str = "create", merge_strategy: str | None = None,
                 success_condition: str | None = None, failure_condition: str | None = None,
                 set_owner_reference: bool | None = None, attribute_outputs: dict[str, str] | None = None,
                 flags: list[str] | None = None, **kwargs: Any) -> None:
        if k8s_resource is None:
            raise current().refuse("dsl.ResourceOp", "needs a k8s_resource")
        if action not in ("create", "apply"):
            raise current().refuse(f"dsl.ResourceOp(action={action!r})",
                                   "is refused: the plan owns the objects it declares; remove the object from the "
                                   "pipeline to delete it")
        if kwargs:
            raise current().refuse("dsl.ResourceOp", f"does not take {', '.join(sorted(kwargs))}")
        super().__init__(name)
        manifest = to_plain(k8s_resource)
        if not isinstance(manifest, dict):
            raise current().refuse("dsl.ResourceOp", "k8s_resource must be a Kubernetes object")
        metadata = dict(manifest.get("metadata") or {})
        if not metadata.get("name"):
            base = str(metadata.pop("generateName", "") or self.name).rstrip("-")
            metadata["name"] = k8s_name(self._declaration.pipeline_name, base)
        metadata.pop("namespace", None)  # it runs in the pipeline's namespace, like every step
        manifest["metadata"] = metadata
        self.k8s_resource = manifest
        self.success_condition = success_condition
        self.failure_condition = failure_condition
        self.wait_for = _wait_for(success_condition) if success_condition else None
        attributes = [key for key in (attribute_outputs or {}) if key != "name"]
        self.attribute_outputs = dict(attribute_outputs or {})
        self.outputs = _ResourceOutputs(self.name, str(metadata["name"]).replace("{{workflow.name}}",
                                                                              self._declaration.pipeline_name),
                                        ["manifest", *attributes])
        self.output = self.outputs["name"]

    def delete(self, flags: Any = None) -> Any:
        raise current().refuse("ResourceOp.delete", "is refused: the plan owns the objects it declares; remove the "
                                                    "object from the pipeline to delete it")


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\[\]-]+)\s*==?\s*([^,=!<>\s][^,=!<>]*?)\s*$")


def _wait_for(condition: str) -> str:
    """An Argo success condition (``status.phase == Succeeded``) as pulumi-kubernetes'
    ``pulumi.com/waitFor`` (``jsonpath={.status.phase}=Succeeded``; syntax of
    pulumi/pulumi-kubernetes provider/pkg/jsonpath/jsonpath.go ``Parse``)."""
    match = _REQUIREMENT.match(condition)
    if match is None:
        raise current().refuse("dsl.ResourceOp(success_condition=...)",
                               f"{condition!r} cannot be a readiness wait: only one `path == value` requirement "
                               "maps to pulumi.com/waitFor (jsonpath={.path}=value)")
    return f"jsonpath={{.{match.group(1)}}}={match.group(2)}"


class VolumeSnapshotOp(ResourceOp):
    """A snapshot of a claim (KFP 1.8.22 kfp/dsl/_volume_snapshot_op.py), awaited until ready to use."""

    def __init__(self, name: str, resource_name: str | None = None, pvc: str | None = None,
                 snapshot_class: str | None = None, annotations: dict[str, str] | None = None, volume: Any = None,
                 api_version: str = "snapshot.storage.k8s.io/v1alpha1", **kwargs: Any) -> None:
        if "k8s_resource" in kwargs:
            super().__init__(name, success_condition=kwargs.pop("success_condition", "status.readyToUse == true"),
                             **kwargs)
            return
        if bool(pvc) == bool(volume):
            raise current().refuse("dsl.VolumeSnapshotOp", "needs exactly one of pvc and volume")
        dependencies: list[str] = []
        if volume is not None:
            plain = to_plain(volume)
            claim = (plain.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                raise current().refuse("dsl.VolumeSnapshotOp", "the volume must reference a claim")
            pvc = claim
            dependencies = list(getattr(volume, "dependent_names", []))
        body: dict[str, Any] = {"source": {"kind": "PersistentVolumeClaim", "name": str(pvc)}}
        if snapshot_class:
            body["snapshotClassName"] = snapshot_class
        metadata: dict[str, Any] = {"name": k8s_name(current().pipeline_name, str(resource_name or name))}
        if annotations:
            metadata["annotations"] = dict(annotations)
        super().__init__(name, k8s_resource={"apiVersion": api_version, "kind": "VolumeSnapshot",
                                             "metadata": metadata, "spec": body},
                         success_condition=kwargs.pop("success_condition", "status.readyToUse == true"),
                         attribute_outputs={"size": "{.status.restoreSize}"}, **kwargs)
        self.dependent_names += [d for d in dependencies if d not in self.dependent_names]
        self.snapshot = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                         "name": self.outputs["name"]}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


_STATIC = "cannot be static infrastructure: the plan declares every step before anything runs"


class ConditionOperator:
    """``output == value`` inside ``dsl.Condition``: decided when the pipeline runs."""

    def __init__(self, operator: str, operand1: Any, operand2: Any) -> None:
        self.operator = operator
        self.operand1 = operand1
        self.operand2 = operand2


class _Group:
    """A group of ops whose flow is decided at run time (a workflow DAG template)."""

    kind = "group"

    def __init__(self) -> None:
        self._declaration = current()
        self.index = self._declaration.next_group_index()
        self.name = f"{self.kind}-{self.index}"

    def __enter__(self) -> Any:
        self._declaration.groups.append(self)
        return self

    def __exit__(self, *_: Any) -> None:
        self._declaration.groups.pop()


class Condition(_Group):
    """``with dsl.Condition(op.output == 'x'):``: the ops run only when it holds.

    A condition on pipeline parameters alone is known when the plan is made, and
    decides which ops are declared; one on a step's output needs the workflow engine.
    """

    kind = "condition"

    def __init__(self, condition: Any, name: str | None = None) -> None:
        super().__init__()
        if isinstance(condition, bool):
            self.static: bool | None = condition
        elif isinstance(condition, ConditionOperator):
            self.static = None
            self._declaration.needs_engine("dsl.Condition on a step's output")
        else:
            raise current().refuse("dsl.Condition", "expects a comparison, e.g. op.output == 'yes'")
        self.condition = condition


class ParallelFor(_Group):
    """``with dsl.ParallelFor(items) as item:``: the ops run once per item (on the workflow engine)."""

    kind = "for-loop"

    def __init__(self, loop_args: Any, parallelism: int | None = None) -> None:
        declaration = current()
        # As KFP 1.8.22 names them (kfp/dsl/_for_loop.py, _ops_group.py): a literal list's
        # item takes a group number before the loop's own; a step output's item is
        # ``<step>-<output>-loop-item``.
        if isinstance(loop_args, PipelineParam) and loop_args.op_name:
            self.items: Any = loop_args
            self.item_param = re.sub(r"[^-_0-9A-Za-z]+", "-", f"{loop_args.op_name}-{loop_args.name}") + "-loop-item"
        elif isinstance(loop_args, (list, tuple)) and loop_args:
            self.items = [to_plain(item) for item in loop_args]
            self.item_param = f"loop-item-param-{declaration.next_group_index()}"
            # As KFP 1.8.22 checks them (kfp/dsl/_for_loop.py ``LoopArguments``).
            if isinstance(self.items[0], dict) and any(
                    not isinstance(item, dict) or set(item) != set(self.items[0]) for item in self.items):
                raise declaration.refuse("dsl.ParallelFor", "a list of dicts needs the same keys in every dict")
            # KFP 1.8.22 sets each key as an attribute of its ``LoopArguments``
            # (kfp/dsl/_for_loop.py ``setattr(self, subvar_name, ...)``), so these keys replace
            # the parameter's own ``name``/``op_name`` (its compiler then fails:
            # ``TypeError: 'in <string>' requires string as left operand``) or hit the read-only
            # ``full_name`` (``AttributeError``); here they would read as the parameter's
            # attributes, a wrong value in the command.
            clashing = sorted(set(self.items[0]) & _ITEM_KEYS_KFP_CANNOT_COMPILE) \
                if isinstance(self.items[0], dict) else []
            if clashing:
                raise declaration.refuse("dsl.ParallelFor", f"a dict item's key {clashing[0]!r} is an attribute KFP "
                                         "1.8.22's loop argument already has, and its compiler fails on it; "
                                         "rename the key")
        else:
            raise declaration.refuse("dsl.ParallelFor", "expects a non-empty list or a step's output")
        super().__init__()
        self.parallelism = parallelism or 0
        if not self.literal:
            self._declaration.needs_engine("dsl.ParallelFor")
        # A literal list is unrolled into steps when the rest of the pipeline is static
        # (pipelines/kfp_v1/unroll.py); otherwise it is a ``withItems`` loop of the Workflow.

    @property
    def literal(self) -> bool:
        """Whether the items are a list known when the plan is made."""
        return isinstance(self.items, list)

    def __enter__(self) -> Any:
        super().__enter__()
        first = self.items[0] if self.literal else None
        return LoopItem(self.item_param, first if isinstance(first, dict) else ())


#: Dict-item keys that replace what KFP 1.8.22's ``LoopArguments`` needs (see ParallelFor).
_ITEM_KEYS_KFP_CANNOT_COMPILE = frozenset({"name", "op_name", "full_name"})


class LoopItem(PipelineParam):
    """The item of a ``ParallelFor``; ``item.a`` is field ``a`` of a dict item (KFP's
    ``LoopArgumentVariable``, named ``<item>-subvar-a``)."""

    def __new__(cls, name: str, fields: Any = ()) -> "LoopItem":
        item = super().__new__(cls, name, pattern=loop_item_placeholder(name))
        # A dict item's keys are set as attributes, as KFP sets them, so that a key named
        # like a str method (``item.count``) is the field, not the method.
        # ``value`` and ``param_type`` too, which KFP 1.8.22 compiles as fields
        # (``{{item.value}}``); ParallelFor refuses the keys it cannot compile.
        for field in fields:
            setattr(item, field, item.__getattr__(field))
        return item

    def __getattr__(self, field: str) -> PipelineParam:
        if field.startswith("_"):
            raise AttributeError(field)
        name = f"{self.name}{SUBVAR}{field}"
        return PipelineParam(name, pattern=loop_item_placeholder(name))


#: How KFP 1.8.22 names a field of a loop item (kfp/dsl/_for_loop.py ``SUBVAR_NAME_DELIMITER``).
SUBVAR = "-subvar-"


def loop_item_placeholder(name: str) -> str:
    """The text standing for a loop item (or one of its fields) until it is known."""
    return "{{mlplane.loop-item:" + name + "}}"


class _Graph(_Group):
    """The ops of one expansion of a ``@dsl.graph_component`` function."""

    kind = "graph"

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        super().__init__()
        self.name = f"graph-{re.sub('-+', '-', re.sub('[^-0-9a-z]+', '-', function.__name__.lower())).strip('-')}" \
                    f"-{self.index}"
        self.inputs: list[str] = []


class RecursiveCall:
    """A graph component calling itself: a task that runs the graph's template again."""

    def __init__(self, graph: _Graph, arguments: list[Any]) -> None:
        declaration = current()
        self.graph = graph
        self.arguments = arguments
        self.groups = list(declaration.groups)
        declaration.recursive_calls.append(self)


def graph_component(function: Callable[..., Any]) -> Callable[..., Any]:
    """``@dsl.graph_component``: a function of ops that may call itself (on the workflow engine).

    The first call expands it into a group; a call from inside that expansion runs the
    group again (KFP 1.8.22 kfp/dsl/_component.py ``graph_component``).
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        declaration = current()
        arguments = [*args, *kwargs.values()]
        for argument in arguments:
            if not (isinstance(argument, PipelineParam) and argument.op_name):
                raise declaration.refuse("dsl.graph_component", "its arguments must be step outputs "
                                                                "(op.output or op.outputs[name])")
        for group in reversed(declaration.groups):
            if isinstance(group, _Graph) and group.function is function:
                return RecursiveCall(group, arguments)
        declaration.needs_engine("dsl.graph_component")
        graph = _Graph(function)
        graph.inputs = [re.sub(r"[^-_0-9A-Za-z]+", "-", f"{a.op_name}-{a.name}") for a in arguments]
        with graph:
            function(*args, **kwargs)
        return graph

    call.__name__ = function.__name__
    return call


class ExitHandler(_Group):
    """``with dsl.ExitHandler(exit_op):``: ``exit_op`` runs when the ops inside end, however they end."""

    kind = "exit-handler"

    def __init__(self, exit_op: Any, name: str | None = None) -> None:
        super().__init__()
        if not isinstance(exit_op, ContainerOp):
            raise current().refuse("dsl.ExitHandler", "expects the ContainerOp to run on exit")
        exit_op.is_exit_handler = True
        self.exit_op = exit_op
        self._declaration.needs_engine("dsl.ExitHandler")
component = refusing("dsl.component", "is not supported; use components.create_component_from_func")
importer = refusing("dsl.importer", "is not supported")


class PipelineConf:
    """Pipeline-wide settings (``dsl.get_pipeline_conf()``), as far as they map to a plan.

    Image pull secrets, the default node selector, the default pull policy and op
    transformers (how KFP v1 pipelines add labels and annotations to every pod) apply to
    every step, as KFP 1.8.22's compiler applies them (kfp/compiler/compiler.py
    ``_create_workflow``). Settings of a workflow run with no counterpart in a plan are
    refused with the reason.
    """

    def __init__(self) -> None:
        self.image_pull_secrets: list[str] = []
        self.op_transformers: list[Callable[[Any], Any]] = []
        self.default_pod_node_selector: dict[str, str] = {}
        self.image_pull_policy: str | None = None
        self.parallelism: int | None = None
        self.parallelism_line: int | None = None

    def set_image_pull_secrets(self, image_pull_secrets: list[Any]) -> "PipelineConf":
        """Pull every step's image with these secrets (``V1LocalObjectReference``\\ s or dicts)."""
        self.image_pull_secrets = [str(to_plain(secret)["name"]) for secret in image_pull_secrets]
        return self

    def add_op_transformer(self, transformer: Callable[[Any], Any]) -> "PipelineConf":
        """Apply ``transformer`` to every op once the pipeline is declared."""
        self.op_transformers.append(transformer)
        return self

    def set_default_pod_node_selector(self, label_name: str, value: str) -> "PipelineConf":
        """A node selector for steps that set none of their own."""
        self.default_pod_node_selector[str(label_name)] = str(value)
        return self

    def set_image_pull_policy(self, policy: str) -> "PipelineConf":
        """The pull policy of steps that set none."""
        if policy not in ("Always", "Never", "IfNotPresent"):
            raise current().refuse("PipelineConf.set_image_pull_policy", f"{policy!r} is not a pull policy "
                                                                         "(Always, Never, IfNotPresent)")
        self.image_pull_policy = policy
        return self

    def set_ttl_seconds_after_finished(self, seconds: int) -> "PipelineConf":
        """Refused. KFP 1.8.22 sets the Workflow's ``ttlStrategy.secondsAfterCompletion``
        (kfp/compiler/compiler.py ``_create_workflow``): Argo deletes the finished run. Here
        the run is a resource of the plan (a Job per step, or the Workflow), and an object
        the cluster deleted is dropped from Pulumi's state by the next ``pulumi refresh``
        (or ``pulumi up --refresh``), so the following ``pulumi up`` creates it, and runs
        it, again (pulumi/pulumi-kubernetes#3089: refresh records the deletion, "allowing
        the deployment to be recreated"; Terraform's provider had to special-case Jobs
        with a TTL of 0 for the same reason, hashicorp/terraform-provider-kubernetes#2596).
        Argo's ``podGC`` would keep the run but delete only its pods: another thing, not a
        TTL."""
        raise current().refuse("PipelineConf.set_ttl_seconds_after_finished",
                               "cannot apply to a plan: the run would be deleted by the cluster, forgotten by the next "
                               "`pulumi refresh` (or `pulumi up --refresh`), and created and run again by the "
                               "`pulumi up` after it (pulumi/pulumi-kubernetes#3089); the plan keeps finished steps, "
                               "and a changed pipeline replaces them")

    def set_parallelism(self, max_num_pods: int) -> "PipelineConf":
        """At most this many pods at once: the Workflow's ``parallelism`` (kfp/compiler/compiler.py
        ``_create_workflow``). A plan of steps has no such limit, so the pipeline runs on the
        workflow engine, which keeps it."""
        if int(max_num_pods) < 1:
            raise current().refuse("PipelineConf.set_parallelism", "needs at least 1")
        self.parallelism = int(max_num_pods)
        self.parallelism_line = current().caller_line()
        return self

    def set_timeout(self, seconds: int) -> "PipelineConf":
        raise current().refuse("PipelineConf.set_timeout", "has no counterpart in a plan; give each step "
                                                           "set_timeout() instead")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise current().refuse(f"PipelineConf.{name}", "is not supported by mlplane's KFP v1 layer")


def get_pipeline_conf() -> PipelineConf:
    """The settings of the pipeline being declared."""
    return current().conf


def apply_pipeline_conf(ops: list[Any], conf: PipelineConf) -> None:
    """Apply ``conf`` to every op (transformers first, then the defaults), as KFP's compiler does."""
    for transformer in conf.op_transformers:
        for op in list(ops):
            transformer(op)
    for op in ops:
        if not isinstance(op, ContainerOp):
            continue
        op.image_pull_secrets = list(conf.image_pull_secrets)
        if not op.node_selector:
            op.node_selector = dict(conf.default_pod_node_selector)
        if conf.image_pull_policy and not op.container.image_pull_policy:
            op.container.image_pull_policy = conf.image_pull_policy
# The texts KFP 1.8.22 uses (kfp/dsl/__init__.py); pipelines/kfp_v1/placeholders.py
# substitutes them when the plan is made, so none is left in a step.
RUN_ID_PLACEHOLDER = "{{workflow.uid}}"
EXECUTION_ID_PLACEHOLDER = "{{workflow.uid}}-{{pod.name}}"


__getattr__ = unsupported_attributes("dsl")
