"""Pod specs for model servers and web apps: restricted, sized, pinned, placed.

Built on :mod:`components.pod_security`; accelerators are injected through the
scheduling contract (:class:`components.scheduling.Placement`), so limits, node
selector and tolerations come from the pool and nowhere else.
"""

from __future__ import annotations

from typing import Any

from components.pod_security import (
    ComputeResources,
    restricted_container_security_context,
    restricted_pod_security_context,
)
from components.scheduling import Placement

#: Requests and limits of helper containers (the model download).
INIT_RESOURCES = ComputeResources(cpu_request="100m", cpu_limit="1", memory_request="256Mi", memory_limit="1Gi")


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
    body: dict[str, Any] = {
        "name": name,
        "image": image,
        "securityContext": restricted_container_security_context(),
        "resources": resources.to_k8s(),
    }
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


def http_probe(path: str | None, port: int) -> dict[str, Any]:
    """A readiness probe: an HTTP GET when a path is known, else a TCP connect."""
    check: dict[str, Any] = {"httpGet": {"path": path, "port": port}} if path else {"tcpSocket": {"port": port}}
    return {**check, "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 3}


def pod_spec(
    containers: list[dict[str, Any]],
    *,
    init_containers: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    service_account: str | None = None,
    placement: Placement | None = None,
) -> dict[str, Any]:
    """A pod spec for a long-running server: restricted, no API token, placed on its pool.

    Args:
        containers: The containers; the first one gets the accelerators.
        init_containers: Containers that run before (e.g. the model download).
        volumes: Pod volumes.
        service_account: The pod's ServiceAccount (a workload identity or the
            artifact store's credentials); the API token is never mounted, as model
            servers and web apps do not call the Kubernetes API.
        placement: Accelerators from the scheduling contract, or None (CPU only).

    Returns:
        The PodSpec as a dict (camelCase keys).
    """
    spec: dict[str, Any] = {
        "securityContext": restricted_pod_security_context(),
        "automountServiceAccountToken": False,
        "containers": containers,
    }
    if init_containers:
        spec["initContainers"] = init_containers
    if volumes:
        spec["volumes"] = volumes
    if service_account:
        spec["serviceAccountName"] = service_account
    if placement is not None:
        spec = placement.apply_to_pod_spec(spec)
    return spec
