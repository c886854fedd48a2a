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
- ``Register``: objects are ordered by ``sigs.k8s.io/cli-utils`` v0.37.2's dependency graph
  (``pkg/object/graph/depends.go``, ``DependencyGraph``), and each depends on exactly what
  the graph says it needs: the CRD of a custom resource (``addCRDEdges``: a
  ``apiextensions.k8s.io`` CustomResourceDefinition's ``spec.group``/``spec.names.kind``),
  the Namespace of an object whose ``metadata.namespace`` names one among the objects
  (``addNamespaceEdges``), the objects named by ``config.kubernetes.io/depends-on``
  (``addDependsOnEdges``) and by the ``sourceRef`` of each
  ``config.kubernetes.io/apply-time-mutation`` entry (``addApplyTimeMutationEdges``).
  An annotation that names an object outside the same chart or directory, names one
  twice, or does not parse, and a cycle, make the provider fail the whole component
  (``Register`` returns the graph's error); :class:`OrderingError` says so here.
  Nothing else orders children: not the component's own ``depends_on`` (the children wait
  for it only because their parent does: :mod:`infra.offline.ancestry`), not kind order.
- Children are registered with ``parent`` = the chart or directory, so they take its
  provider, ``protect`` and ``retainOnDelete`` (Pulumi's parent inheritance, asserted by
  pulumi/pulumi ``cmd/pulumi-test-language/tests/l2_resource_parent_inheritance.go``). A
  chart object's ``helm.sh/resource-policy: keep`` adds ``retainOnDelete``
  (``helm/v4/chart.go``, ``preregister``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from mlplane.components.base import PUBLISHED_MASK, SECRET_MASK
from mlplane.infra.offline.kinds import api_group as _group
from mlplane.infra.offline.kinds import is_namespaced
from mlplane.infra.offline.plan import PlanResource
from mlplane.infra.offline.recorder import compose_urn
from mlplane.infra.offline.transforms import run_transforms

DEPENDS_ON = "config.kubernetes.io/depends-on"
APPLY_TIME_MUTATION = "config.kubernetes.io/apply-time-mutation"
_CRD_GROUP = "apiextensions.k8s.io"


class OrderingError(ValueError):
    """The provider's dependency graph refuses the objects (pulumi-kubernetes fails the component)."""
RESOURCE_POLICY = "helm.sh/resource-policy"
DEFAULT_NAMESPACE = "default"


def type_token(api_version: str, kind: str) -> str:
    """The pulumi-kubernetes type of an object: ``kubernetes:core/v1:Service``,
    ``kubernetes:apps/v1:Deployment``, ``kubernetes:cert-manager.io/v1:Certificate``."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def child_resources(parent: PlanResource, objects: list[dict[str, Any]], *, stack: str, project: str,
                    scopes: Mapping[tuple[str, str], bool], default_namespace: str = DEFAULT_NAMESPACE,
                    transforms: Sequence[Callable[..., Any]] = ()) -> list[PlanResource]:
    """The child resources of one chart or directory.

    Args:
        parent: The recorded ``helm.v4.Chart`` or ``kustomize.v2.Directory``.
        objects: Its expanded objects (not changed; normalized copies are recorded).
        stack: The stack name (URNs).
        project: The project name (URNs).
        scopes: ``(group, kind) -> namespaced`` of every CRD the plan's expansions hold.
        default_namespace: The provider's default namespace.
        transforms: The resource transforms registered on the chart or directory and its
            ancestors, nearest first: each child's properties go through them, as the
            engine runs them (:func:`transformed`).
    """
    namespace = parent.inputs.get("namespace") or default_namespace
    prefix = parent.inputs.get("resourcePrefix")
    prefix = parent.name if prefix is None else str(prefix)
    skip_await = parent.inputs.get("skipAwait") is True
    normalized = [transformed(_normalized(obj, namespace, scopes, skip_await), transforms, prefix)
                  for obj in objects]

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

    crds = {(spec.get("group"), (spec.get("names") or {}).get("kind")): urns[(_CRD_GROUP,
                                                                             "CustomResourceDefinition", "",
                                                                             o["metadata"]["name"])]
            for o in normalized if o.get("kind") == "CustomResourceDefinition"
            and _group(str(o.get("apiVersion", ""))) == _CRD_GROUP
            for spec in [o.get("spec") or {}]}
    namespaces = {o["metadata"]["name"]: urns[("", "Namespace", "", o["metadata"]["name"])]
                  for o in normalized if o.get("kind") == "Namespace" and o.get("apiVersion") == "v1"}

    edges: dict[str, set[str]] = {}
    for obj, _, urn in named:
        dependencies = set()
        crd = crds.get((_group(str(obj["apiVersion"])), obj["kind"]))
        if crd:
            dependencies.add(crd)
        ns = (obj.get("metadata") or {}).get("namespace")
        if ns in namespaces:
            dependencies.add(namespaces[ns])
        dependencies.update(_annotated_dependencies(obj, urns, parent.name))
        dependencies.discard(urn)  # a CRD of kind CustomResourceDefinition, a Namespace's own name
        edges[urn] = dependencies
    _refuse_cycles(edges, parent.name)

    children = []
    for obj, resource_name, urn in named:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        children.append(PlanResource(
            urn=urn,
            type=type_token(str(obj["apiVersion"]), str(obj["kind"])),
            name=resource_name,
            custom=True,
            parent=parent.urn,
            provider=parent.provider,
            dependencies=tuple(sorted(edges[urn])),
            inputs=masked_secret(obj),
            protect=parent.protect,
            retain_on_delete=parent.retain_on_delete or annotations.get(RESOURCE_POLICY) == "keep",
        ))
    return children


def transformed(obj: dict[str, Any], transforms: Sequence[Callable[..., Any]], prefix: str) -> dict[str, Any]:
    """One child's properties after the registered resource transforms, as the engine runs them
    (:func:`infra.offline.transforms.run_transforms`), named ``<prefix>:<namespace>/<name>``.

    The options a transform returns are not read: the engine rereads ``DependsOn`` from them
    only for a resource whose own registration carries transforms (pulumi/pulumi v3.243.0
    ``pkg/resource/deploy/source_eval.go``, ``RegisterResource``: "Reparse the dependency
    information from any transformation results" under ``len(req.Transforms) > 0``), which a
    child the provider registers does not, so a transform cannot order a child (docs/ordering.md).
    """
    if not transforms:
        return obj
    metadata = obj.get("metadata") or {}
    name = f"{metadata.get('namespace')}/{metadata.get('name')}" if metadata.get("namespace") else metadata.get("name")
    return dict(run_transforms(type_token(str(obj["apiVersion"]), str(obj["kind"])), f"{prefix}:{name}", obj,
                               transforms))


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


def _annotated_dependencies(obj: Mapping[str, Any], urns: Mapping[tuple[str, str, str, str], str],
                            source: str) -> set[str]:
    """Objects named by ``config.kubernetes.io/depends-on`` (cli-utils v0.37.2
    ``pkg/object/dependson/strings.go``: ``group/namespaces/ns/kind/name`` or
    ``group/kind/name``, comma-separated) and by ``config.kubernetes.io/apply-time-mutation``
    entries' ``sourceRef`` (``pkg/object/mutation``).

    Raises:
        OrderingError: A reference that does not parse, a duplicate, or an object that is not
            among this chart's or directory's objects ("external dependency").
    """
    metadata = obj.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    this = f"{obj.get('kind')} {metadata.get('namespace') or ''}/{metadata.get('name')}".replace(" /", " ")
    found: set[str] = set()
    if DEPENDS_ON in annotations:
        seen: set[tuple[str, str, str, str]] = set()
        for reference in str(annotations[DEPENDS_ON]).split(","):
            parts = reference.strip().split("/")
            if len(parts) == 5 and parts[1] == "namespaces":
                key = (parts[0], parts[3], parts[2], parts[4])
            elif len(parts) == 3:
                key = (parts[0], parts[1], "", parts[2])
            else:
                raise OrderingError(f"{source}: {this}: {DEPENDS_ON} reference {reference.strip()!r} does not "
                                    "parse (group/kind/name or group/namespaces/namespace/kind/name)")
            if key in seen:
                raise OrderingError(f"{source}: {this}: {DEPENDS_ON} names {reference.strip()!r} twice")
            seen.add(key)
            found.add(_internal(key, urns, source, this, DEPENDS_ON))
    if APPLY_TIME_MUTATION in annotations:
        try:
            entries = yaml.safe_load(str(annotations[APPLY_TIME_MUTATION])) or []
            refs = [entry["sourceRef"] for entry in entries]
            keys = {(_group(str(ref.get("apiVersion", ""))) or str(ref.get("group", "")), str(ref["kind"]),
                     str(ref.get("namespace", "")), str(ref["name"])) for ref in refs}
        except (yaml.YAMLError, TypeError, KeyError, AttributeError):
            raise OrderingError(f"{source}: {this}: {APPLY_TIME_MUTATION} does not parse") from None
        found.update(_internal(key, urns, source, this, APPLY_TIME_MUTATION) for key in keys)
    return found


def _internal(key: tuple[str, str, str, str], urns: Mapping[tuple[str, str, str, str], str], source: str,
              this: str, annotation: str) -> str:
    if key not in urns:
        group, kind, namespace, name = key
        raise OrderingError(f"{source}: {this}: {annotation} names {group}/{kind} {namespace}/{name}".replace(" /", " ")
                            + ", which is not among this chart's or directory's objects; pulumi-kubernetes fails "
                            "the component (cli-utils: external dependency)")
    return urns[key]


def _refuse_cycles(edges: Mapping[str, set[str]], source: str) -> None:
    """The graph's ``Sort`` fails on a cycle (cli-utils v0.37.2 ``pkg/object/graph/graph.go``)."""
    state: dict[str, int] = {}
    for start in edges:
        stack = [(start, iter(sorted(edges[start])))]
        if state.get(start):
            continue
        state[start] = 1
        while stack:
            urn, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                state[urn] = 2
                stack.pop()
            elif state.get(step) == 1:
                raise OrderingError(f"{source}: a dependency cycle through {step.rsplit('::', 1)[-1]}")
            elif not state.get(step):
                state[step] = 1
                stack.append((step, iter(sorted(edges.get(step, ())))))


def masked_secret(obj: dict[str, Any], published: bool = False) -> dict[str, Any]:
    """A ``v1/Secret``'s ``data``/``stringData`` keep their keys; every value is masked.

    Args:
        obj: An expanded object.
        published: Whether its literals are an upstream source's own (a kustomize
            directory's: it takes no values). They are public, so they are shown as
            ``[published default]``, which the policy pack reports where it is a
            credential; anything else (a chart's Secret made from mlplane's values) is
            ``[secret]``. A value already masked keeps its mask.
    """
    if obj.get("apiVersion") != "v1" or obj.get("kind") != "Secret":
        return obj
    mask = PUBLISHED_MASK if published else SECRET_MASK
    masked = dict(obj)
    for key in ("data", "stringData"):
        if isinstance(masked.get(key), Mapping):
            masked[key] = {name: value if value in (SECRET_MASK, PUBLISHED_MASK) else mask
                           for name, value in masked[key].items()}
        elif key in masked:
            masked[key] = SECRET_MASK
    return masked
