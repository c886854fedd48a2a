"""Installing upstream Helm charts and kustomize directories, pinned and recorded.

Charts go through pulumi-kubernetes' ``helm.v4.Chart``, which registers each rendered
object as its own resource (so ``pulumi preview`` diffs them one by one and awaits their
readiness); the offline plan records the chart, version, repository and values.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, field_validator

from mlplane.components import depends_on
from mlplane.components.base import ArgsModel
from mlplane.components.sources import ChartRef, chart_location

_VERSION = re.compile(r"^v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?$")


def check_version(value: str) -> str:
    """Validate a pinned version such as ``1.19.4``, ``v1.19.4`` or ``2.16.0-rc.1``.

    Raises:
        ValueError: Not a version (ranges, ``latest`` and branch names are refused).
    """
    if not isinstance(value, str) or not _VERSION.match(value):
        raise ValueError("must be a pinned version like 1.19.4 or v1.19.4 (no ranges, no 'latest')")
    return value


def minor_version(version: str) -> int:
    """The minor number of a version such as ``v0.16.0`` or ``1.29.0`` (0 when there is none)."""
    parts = version.lstrip("v").split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


class ChartSource(ArgsModel):
    """Where a Helm chart comes from, pinned to one version."""

    chart: str = Field(description="Chart name in the repository (or an oci:// reference).", min_length=1)
    version: str = Field(description="Exact chart version.")
    repository: str | None = Field(None, description="Helm repository URL (None for oci:// charts).")

    @field_validator("version")
    @classmethod
    def _pinned(cls, value: str) -> str:
        return check_version(value)

    @property
    def ref(self) -> ChartRef:
        """The pinned chart, for :func:`install_chart`."""
        if self.chart.startswith("oci://"):
            registry, _, name = self.chart.rpartition("/")
            return ChartRef(name=name, version=self.version, repository=registry)
        return ChartRef(name=self.chart, version=self.version, repository=self.repository)


def install_chart(
    name: str,
    source: ChartSource | ChartRef,
    namespace: str | pulumi.Output[str],
    values: dict[str, Any] | None,
    opts: pulumi.ResourceOptions,
    override: str | None = None,
) -> k8s.helm.v4.Chart:
    """Declare a pinned Helm chart release.

    Args:
        name: The Pulumi name (``f"{component}-<role>"``).
        source: Chart, version and repository.
        namespace: Namespace to install into.
        values: Chart values (the one escape hatch of a wrapped chart).
        opts: Options (parent, provider, depends_on).
        override: The stack's mirror or local copy of this chart (``mlplane:kubeflow.sources.charts``).

    Returns:
        The chart component; depend on it to wait for everything it installs.
    """
    location = chart_location(source.ref if isinstance(source, ChartSource) else source, override)
    repository_opts = k8s.helm.v4.RepositoryOptsArgs(repo=location.repository) if location.repository else None
    return k8s.helm.v4.Chart(
        name,
        chart=location.chart,
        version=location.version,
        repository_opts=repository_opts,
        namespace=namespace,
        values=values or {},
        skip_await=False,
        # Objects the chart's own webhooks gate wait for the webhook's server (components/depends_on.py).
        post_renderer=k8s.helm.v4.PostRendererArgs(command=depends_on.COMMAND, args=["--namespace", namespace]),
        opts=opts,
    )
