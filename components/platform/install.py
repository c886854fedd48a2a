"""Installing a resolved component's sources, and the custom resources mlplane adds.

Charts go through :func:`components.charts.install_chart` (``helm.v4.Chart``: every
rendered object is its own resource, awaited); kubeflow/manifests directories through
``kustomize.v2.Directory`` at the pinned tag, each wrapped in a local kustomization that
orders its webhook-gated objects (:mod:`components.ordered_directory`). Offline, each is one recorded resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from pydantic import ConfigDict, Field

from mlplane.components import charts
from mlplane.components.base import ArgsModel
from mlplane.components.ordered_directory import ordered_directory
from mlplane.components.platform.releases import ChartSource, ManifestsSource, Source
from mlplane.components.platform.resolve import ResolvedComponent

#: Annotation that makes pulumi-kubernetes wait for a custom resource's readiness.
WAIT_FOR = "pulumi.com/waitFor"
READY = "condition=Ready"


class PartArgs(ArgsModel):
    """Base of the platform parts' args: they may hold resolved components and resources."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    after: tuple[pulumi.Resource, ...] = Field(
        (), description="Resources the part's children wait for (their namespaces, the add-ons they need).")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged over ``base``: mappings recursively, anything else replaced.

    Neither input is changed; leaves are shared, not copied (they may be Outputs).
    """
    merged = {key: _rebuilt(value) for key, value in base.items()}
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = _rebuilt(value)
    return merged


def _rebuilt(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _rebuilt(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rebuilt(item) for item in value]
    return value


def install_source(
    name: str,
    component: ResolvedComponent,
    source: Source,
    values: Mapping[str, Any] | None,
    opts: pulumi.ResourceOptions,
) -> pulumi.Resource:
    """Install one source of ``component``.

    Args:
        name: Pulumi name (``f"{parent}-{role}"``; stable across releases).
        component: The resolved component (namespace, user values).
        source: The chart or directory.
        values: mlplane's values for a chart (the release's and the user's are merged over them).
        opts: Parent, depends_on.
    """
    if isinstance(source, ChartSource):
        merged = deep_merge(deep_merge(values or {}, source.values), component.values.get(source.role, {}))
        return charts.install_chart(name, source.ref, component.namespace, merged, opts, source.override)
    assert isinstance(source, ManifestsSource)
    # The component's namespace is the default for namespaced objects that name none, as
    # upstream applies them (`kubectl apply -n kubeflow`: the Model Registry's directories
    # hold such objects); without it they would land in the provider's namespace.
    # Installed through a local kustomization whose transformer orders the directory's
    # webhook-gated objects after the webhook's server (components/ordered_directory.py).
    return k8s.kustomize.v2.Directory(name, directory=ordered_directory(source.location, component.namespace),
                                      namespace=component.namespace, skip_await=False, opts=opts)


def custom_resource(
    name: str,
    api_version: str,
    kind: str,
    metadata: Mapping[str, Any],
    spec: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    wait_for: str | None = None,
) -> k8s.apiextensions.CustomResource:
    """A custom resource with its name set, optionally awaited (``pulumi.com/waitFor``)."""
    meta = dict(metadata)
    if wait_for:
        meta["annotations"] = {**meta.get("annotations", {}), WAIT_FOR: wait_for}
    return k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, metadata=meta,
                                            spec=spec, opts=opts)


def after(parent: pulumi.Resource, *dependencies: pulumi.Resource | Sequence[pulumi.Resource | None] | None
          ) -> pulumi.ResourceOptions:
    """Child options: ``parent`` and the given dependencies (None and empty lists skipped)."""
    flat: list[pulumi.Resource] = []
    for dependency in dependencies:
        if dependency is None:
            continue
        if isinstance(dependency, pulumi.Resource):
            flat.append(dependency)
        else:
            flat.extend(d for d in dependency if d is not None)
    return pulumi.ResourceOptions(parent=parent, depends_on=flat or None)
