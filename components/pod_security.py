"""Secure defaults for every pod mlplane runs: Pod Security "restricted", sized, pinned.

Every component that makes a pod template builds it from these helpers, so the
guarantees (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault
seccomp, requests and limits, pinned images) hold in one place and are tested once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.components.quantity import Quantity, parse_quantity

if TYPE_CHECKING:
    from mlplane.components.scheduling import Placement

#: The user and group our pods run as when the image does not say (non-root).
DEFAULT_UID = 1000

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def restricted_pod_security_context(uid: int = DEFAULT_UID) -> dict[str, Any]:
    """The pod-level security context that Pod Security "restricted" requires."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_container_security_context(read_only_root: bool = False) -> dict[str, Any]:
    """The container-level security context that Pod Security "restricted" requires."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": read_only_root,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned, or None when it is.

    Pinned means a tag other than ``latest``, or a ``@sha256:`` digest.
    """
    if _DIGEST.search(image):
        return None
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return "has no tag; pin a version tag or a @sha256 digest"
    if name.rsplit(":", 1)[1] == "latest":
        return "uses the mutable tag 'latest'; pin a version tag or a @sha256 digest"
    return None


def check_image(image: str) -> str:
    """Pydantic-style validator: the image must be pinned (see :func:`image_problem`)."""
    problem = image_problem(image)
    if problem:
        raise ValueError(problem)
    return image


class ComputeResources(ArgsModel):
    """CPU and memory requests and limits of a container (always both)."""

    cpu_request: Quantity = Field("100m", description="CPU the container is guaranteed (e.g. 250m, 2).")
    memory_request: Quantity = Field("128Mi", description="Memory the container is guaranteed (e.g. 512Mi).")
    cpu_limit: Quantity = Field("1", description="Most CPU the container may use.")
    memory_limit: Quantity = Field("512Mi", description="Most memory the container may use; more is OOM-killed.")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> "ComputeResources":
        if parse_quantity(self.cpu_request) > parse_quantity(self.cpu_limit):
            raise ValueError(f"cpu_request {self.cpu_request} exceeds cpu_limit {self.cpu_limit}")
        if parse_quantity(self.memory_request) > parse_quantity(self.memory_limit):
            raise ValueError(f"memory_request {self.memory_request} exceeds memory_limit {self.memory_limit}")
        return self

    def to_k8s(self, extra_limits: dict[str, str | int] | None = None) -> dict[str, Any]:
        """The container's ``resources`` field; ``extra_limits`` adds e.g. GPUs."""
        limits: dict[str, Any] = {"cpu": self.cpu_limit, "memory": self.memory_limit}
        requests: dict[str, Any] = {"cpu": self.cpu_request, "memory": self.memory_request}
        for name, amount in (extra_limits or {}).items():
            # Extended resources (GPUs) must have requests equal to limits.
            limits[name] = str(amount)
            requests[name] = str(amount)
        return {"requests": requests, "limits": limits}


class ResourceOverrides(ArgsModel):
    """CPU and memory a workload asks for; unset values take mlplane's defaults."""

    cpu_request: Quantity | None = Field(None, description="CPU request (e.g. 500m).")
    cpu_limit: Quantity | None = Field(None, description="CPU limit.")
    memory_request: Quantity | None = Field(None, description="Memory request (e.g. 1Gi).")
    memory_limit: Quantity | None = Field(None, description="Memory limit.")

    @model_validator(mode="after")
    def _sane(self) -> "ResourceOverrides":
        # Checked here, where the stack file is read: resolve() would otherwise fail
        # halfway through a render, and Kubernetes refuses negative amounts.
        for kind in ("cpu", "memory"):
            request, limit = getattr(self, f"{kind}_request"), getattr(self, f"{kind}_limit")
            for key, value in ((f"{kind}_request", request), (f"{kind}_limit", limit)):
                if value is not None and parse_quantity(value) < 0:
                    raise ValueError(f"{key} {value} is negative; amounts are 0 or more")
            if limit is not None and parse_quantity(limit) == 0:
                raise ValueError(f"{kind}_limit {limit} is zero; a container needs a positive limit")
            if request is not None and limit is not None and parse_quantity(request) > parse_quantity(limit):
                raise ValueError(f"{kind}_request {request} exceeds {kind}_limit {limit}")
        return self

    def resolve(self, defaults: ComputeResources | None = None) -> ComputeResources:
        """Fill the unset values from ``defaults`` so that requests never exceed limits.

        A given request raises the default limit to meet it. A given limit without a
        request becomes the request too: that is Kubernetes' own rule for a container
        with a limit and no request (kubernetes/kubernetes ``pkg/apis/core/v1/defaults.go``,
        ``SetDefaults_Pod``: "If limits are specified, but requests are not, default
        requests to limits"), so the scheduler reserves what the workload said it may use
        instead of a smaller request mlplane would invent (an 8Gi job on a node with
        128Mi free).
        """
        base = defaults or ComputeResources()

        def pair(request: str | None, limit: str | None, default_request: str, default_limit: str) -> tuple[str, str]:
            if request is None and limit is not None:
                return limit, limit
            if limit is None:
                limit = default_limit if request is None or parse_quantity(request) <= parse_quantity(default_limit) \
                    else request
            if request is None:
                request = default_request
            return request, limit

        cpu_request, cpu_limit = pair(self.cpu_request, self.cpu_limit, base.cpu_request, base.cpu_limit)
        memory_request, memory_limit = pair(self.memory_request, self.memory_limit,
                                            base.memory_request, base.memory_limit)
        return ComputeResources(cpu_request=cpu_request, cpu_limit=cpu_limit,
                                memory_request=memory_request, memory_limit=memory_limit)


def hardened(body: dict[str, Any], resources: ComputeResources) -> dict[str, Any]:
    """``body`` (a container) with the restricted security context and ``resources`` (a copy).

    For containers mlplane does not assemble itself (an Argo Workflow's templates), so they
    get what :func:`container` gives the rest.
    """
    return {**body, "securityContext": restricted_container_security_context(), "resources": resources.to_k8s()}


def container(
    name: str,
    image: str,
    resources: ComputeResources,
    *,
    command: list[str] | tuple[str, ...] = (),
    args: list[str] | tuple[str, ...] = (),
    env: list[dict[str, Any]] | None = None,
    ports: list[dict[str, Any]] | None = None,
    volume_mounts: list[dict[str, Any]] | None = None,
    readiness_probe: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A container with the restricted security context and requests and limits.

    The image must already be pinned (the args models check it with ``check_image``).
    """
    body: dict[str, Any] = hardened({"name": name, "image": image}, resources)
    if command:
        body["command"] = list(command)
    if args:
        body["args"] = list(args)
    if env:
        body["env"] = env
    if ports:
        body["ports"] = ports
    if volume_mounts:
        body["volumeMounts"] = volume_mounts
    if readiness_probe:
        body["readinessProbe"] = readiness_probe
    return body


def pod_spec(
    containers: list[dict[str, Any]],
    *,
    init_containers: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    service_account: str | None = None,
    placement: "Placement | None" = None,
    restart_policy: str | None = None,
    api_token: bool = False,
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A restricted pod spec, placed on its pool.

    Args:
        containers: The containers; the first one gets the accelerators.
        init_containers: Containers that run before (e.g. the model download).
        volumes: Pod volumes.
        service_account: The pod's ServiceAccount (a workload identity, the artifact
            store's credentials, a pipeline runner).
        placement: Accelerators from the scheduling contract, or None (CPU only).
        restart_policy: The pod's restart policy (Jobs need one); default: unset.
        api_token: Mount the ServiceAccount's API token (only pods that call the
            Kubernetes API need it).
        node_selector: The workload's own node selector (the placement's is merged in).
        tolerations: The workload's own tolerations (the placement's are added).

    Returns:
        The PodSpec as a dict (camelCase keys).
    """
    spec: dict[str, Any] = {
        "securityContext": restricted_pod_security_context(),
        "automountServiceAccountToken": api_token,
        "containers": containers,
    }
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = list(tolerations)
    if init_containers:
        spec["initContainers"] = init_containers
    if volumes:
        spec["volumes"] = volumes
    if service_account:
        spec["serviceAccountName"] = service_account
    if placement is not None:
        spec = placement.apply_to_pod_spec(spec, containers[0]["name"])
    return spec
