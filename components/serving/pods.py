"""What model servers' and web apps' pods add to :mod:`components.pod_security`:
readiness probes and the sizes of helper containers."""

from __future__ import annotations

from typing import Any

from mlplane.components.pod_security import ComputeResources

#: Requests and limits of helper containers (the model download).
INIT_RESOURCES = ComputeResources(cpu_request="100m", cpu_limit="1", memory_request="256Mi", memory_limit="1Gi")


def http_probe(path: str | None, port: int) -> dict[str, Any]:
    """A readiness probe: an HTTP GET when a path is known, else a TCP connect."""
    check: dict[str, Any] = {"httpGet": {"path": path, "port": port}} if path else {"tcpSocket": {"port": port}}
    return {**check, "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 3}
