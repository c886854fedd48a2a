"""Secure defaults for every pod mlplane runs: Pod Security "restricted", sized, pinned.

Every component that makes a pod template builds it from these helpers, so the
guarantees (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault
seccomp, requests and limits, pinned images) hold in one place and are tested once.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator

from components.base import ArgsModel
from components.quantity import Quantity, parse_quantity

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

    def resolve(self, defaults: ComputeResources | None = None) -> ComputeResources:
        """Fill the unset values from ``defaults`` so that requests never exceed limits.

        A given request raises the default limit to meet it; a given limit lowers the
        default request to fit under it.
        """
        base = defaults or ComputeResources()

        def pair(request: str | None, limit: str | None, default_request: str, default_limit: str) -> tuple[str, str]:
            if limit is None:
                limit = default_limit if request is None or parse_quantity(request) <= parse_quantity(default_limit) \
                    else request
            if request is None:
                request = default_request if parse_quantity(default_request) <= parse_quantity(limit) else limit
            return request, limit

        cpu_request, cpu_limit = pair(self.cpu_request, self.cpu_limit, base.cpu_request, base.cpu_limit)
        memory_request, memory_limit = pair(self.memory_request, self.memory_limit,
                                            base.memory_request, base.memory_limit)
        return ComputeResources(cpu_request=cpu_request, cpu_limit=cpu_limit,
                                memory_request=memory_request, memory_limit=memory_limit)
