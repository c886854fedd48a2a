"""Turning expanded objects into the child resources pulumi-kubernetes would register.

What is followed (pulumi-kubernetes ``provider/pkg/provider/yaml/v2/yaml.go``, used by
``helm.v4.Chart`` and ``kustomize.v2.Directory`` alike):

- ``Normalize``: a namespaced object without a namespace gets the chart's or directory's
  ``namespace`` input, else the provider's default namespace (``default``); whether a
  kind is namespaced comes from a CRD among the objects, else the API (here: the
  built-in kinds of :mod:`infra.offline.kinds`).
- ``register``: the resource name is ``<prefix>:<namespace>/<name>`` (``<prefix>:<name>``
  for cluster-scoped objects); the prefix is ``resourcePrefix`` or else the chart's or
  directory's own name. ``v1/Secret`` ``data``/``stringData`` are secret.
- ``Register``: objects are ordered by ``sigs.k8s.io/cli-utils``' dependency graph, and
  each depends on what the graph says it needs: the CRD of a custom resource, the
  Namespace of a namespaced object, anything named by a ``config.kubernetes.io/depends-on``
  annotation, when those are among the same objects.
- Children are registered with ``parent`` = the chart or directory, so they take its
  provider, ``protect`` and ``retainOnDelete`` (Pulumi's parent inheritance, asserted by
  pulumi/pulumi ``cmd/pulumi-test-language/tests/l2_resource_parent_inheritance.go``). A
  chart object's ``helm.sh/resource-policy: keep`` adds ``retainOnDelete``
  (``helm/v4/chart.go``, ``preregister``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlplane.components.base import SECRET_MASK
from mlplane.infra.offline.kinds import api_group as _group
from mlplane.infra.offline.kinds import is_namespaced
from mlplane.infra.offline.plan import PlanResource
from mlplane.infra.offline.recorder import compose_urn

DEPENDS_ON = "config.kubernetes.io/depends-on"
RESOURCE_POLICY = "helm.sh/resource-policy"
DEFAULT_NAMESPACE = "default"


def type_token(api_version: str, kind: str) -> str:
    """The pulumi-kubernetes type of an object: ``kubernetes:core/v1:Service``,
    ``kubernetes:apps/v1:Deployment``, ``kubernetes:cert-manager.io/v1:Certificate``."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def child_resources(parent: PlanResource, objects: list[dict[str, Any]], *, stack: str, project: str,
                    scopes: Mapping[tuple[str, str], bool], default_namespace: str = DEFAULT_NAMESPACE
                    ) -> list[PlanResource]:
    """The child resources of one chart or directory.

    Args:
        parent: The recorded ``helm.v4.Chart`` or ``kustomize.v2.Directory``.
        objects: Its expanded objects (not changed; normalized copies are recorded).
        stack: The stack name (URNs).
        project: The project name (URNs).
        scopes: ``(group, kind) -> namespaced`` of every CRD the plan's expansions hold.
        default_namespace: The provider's default namespace.
    """
    namespace = parent.inputs.get("namespace") or default_namespace
    prefix = parent.inputs.get("resourcePrefix")
    prefix = parent.name if prefix is None else str(prefix)
    skip_await = parent.inputs.get("skipAwait") is True
    normalized = [_normalized(obj, namespace, scopes, skip_await) for obj in objects]

    urns: dict[tuple[str, str, str, str], str] = {}
    named: list[tuple[dict[str, Any], str, str]] = []
    for obj in normalized:
        metadata = obj.get("metadata") or {}
        name, ns = str(metadata.get("name", "")), str(metadata.get("namespace") or "")
        resource_name = f"{ns}/{name}" if ns else name
        if prefix:
            resource_name = f"{prefix}:{resource_name}"
        type_ = type_token(str(obj["apiVersion"]), str(obj["kind"]))
        urn = compose_urn(stack, project, parent.urn, type_, resource_name)
        urns[(_group(str(obj["apiVersion"])), str(obj["kind"]), ns, name)] = urn
        named.append((obj, resource_name, urn))

    crds = {(spec.get("group"), (spec.get("names") or {}).get("kind")): urns[(_group(str(o["apiVersion"])),
                                                                             "CustomResourceDefinition", "",
                                                                             o["metadata"]["name"])]
            for o in normalized if o.get("kind") == "CustomResourceDefinition"
            for spec in [o.get("spec") or {}]}
    namespaces = {o["metadata"]["name"]: urns[("", "Namespace", "", o["metadata"]["name"])]
                  for o in normalized if o.get("kind") == "Namespace" and o.get("apiVersion") == "v1"}

    children = []
    for obj, resource_name, urn in named:
        dependencies = set()
        crd = crds.get((_group(str(obj["apiVersion"])), obj["kind"]))
        if crd and crd != urn:
            dependencies.add(crd)
        ns = (obj.get("metadata") or {}).get("namespace")
        if ns in namespaces:
            dependencies.add(namespaces[ns])
        dependencies.update(_annotated_dependencies(obj, urns))
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        children.append(PlanResource(
            urn=urn,
            type=type_token(str(obj["apiVersion"]), str(obj["kind"])),
            name=resource_name,
            custom=True,
            parent=parent.urn,
            provider=parent.provider,
            dependencies=tuple(sorted(dependencies)),
            inputs=masked_secret(obj),
            protect=parent.protect,
            retain_on_delete=parent.retain_on_delete or annotations.get(RESOURCE_POLICY) == "keep",
        ))
    return children


def _normalized(obj: Mapping[str, Any], namespace: str, scopes: Mapping[tuple[str, str], bool],
                skip_await: bool) -> dict[str, Any]:
    copy = dict(obj)
    metadata = dict(copy.get("metadata") or {})
    if is_namespaced(copy, scopes) and not metadata.get("namespace"):
        metadata["namespace"] = namespace
    if skip_await:
        metadata["annotations"] = {**(metadata.get("annotations") or {}), "pulumi.com/skipAwait": "true"}
    if copy.get("apiVersion") == "core/v1":  # Normalize: the "core" group is spelled ""
        copy["apiVersion"] = "v1"
    copy["metadata"] = metadata
    return copy


def _annotated_dependencies(obj: Mapping[str, Any], urns: Mapping[tuple[str, str, str, str], str]) -> set[str]:
    """Objects named by ``config.kubernetes.io/depends-on`` (``group/namespaces/ns/kind/name``
    or ``group/kind/name``, comma-separated; cli-utils' ``ObjMetadata`` reference format)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    found: set[str] = set()
    for reference in str(annotations.get(DEPENDS_ON, "")).split(","):
        parts = reference.strip().split("/")
        if len(parts) == 5 and parts[1] == "namespaces":
            key = (parts[0], parts[3], parts[2], parts[4])
        elif len(parts) == 3:
            key = (parts[0], parts[1], "", parts[2])
        else:
            continue
        if key in urns:
            found.add(urns[key])
    return found


def masked_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """A ``v1/Secret``'s ``data``/``stringData`` keep their keys; every value is ``[secret]``."""
    if obj.get("apiVersion") != "v1" or obj.get("kind") != "Secret":
        return obj
    masked = dict(obj)
    for key in ("data", "stringData"):
        if isinstance(masked.get(key), Mapping):
            masked[key] = {name: SECRET_MASK for name in masked[key]}
        elif key in masked:
            masked[key] = SECRET_MASK
    return masked
