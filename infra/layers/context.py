"""What every layer receives: the validated config and the cluster connection."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mlplane.infra.config import StackConfig


@dataclass(frozen=True)
class StackContext:
    """The config and the one Kubernetes provider of a stack.

    Attributes:
        config: The validated stack config.
        provider: The stack's Kubernetes provider; every Kubernetes resource uses it.
    """

    config: StackConfig
    provider: k8s.Provider

    def opts(self, **extra: object) -> pulumi.ResourceOptions:
        """Options for a top-level component on this stack's cluster."""
        return pulumi.ResourceOptions(provider=self.provider, **extra)  # type: ignore[arg-type]
