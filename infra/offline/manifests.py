"""Kubernetes manifests of a plan: one YAML document per object the plan creates.

Layout: ``manifests/<namespace or _cluster>/<Kind>-<metadata.name>.yaml``. Charts and
kustomize directories appear through their expanded objects where their sources were at
hand (:mod:`infra.offline.expand`); plan.json records them either way. A name
too long for a file name (Kubernetes allows 253 characters, file systems 255 bytes for
the whole ``<Kind>-<name>.yaml``) is cut and ends with a hash of the full name.
"""

from __future__ import annotations

from typing import Any

import yaml

from mlplane.core.naming import fit
from mlplane.infra.offline.kinds import Scopes, crd_scopes, is_namespaced, is_upstream_object, kind_of
from mlplane.infra.offline.yaml_texts import YamlTexts
from mlplane.infra.offline.plan import Plan, PlanResource

CLUSTER_FOLDER = "_cluster"
#: The longest file name most file systems accept, in bytes.
MAX_FILE_NAME = 255

try:  # the C dumper is much faster; fall back where PyYAML was built without it
    _Dumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Dumper = yaml.SafeDumper


class ManifestError(RuntimeError):
    """A Kubernetes object in the plan lacks what every manifest must have.

    Always a fault of mlplane (it names and places every object itself, and expansion
    places upstream objects as pulumi-kubernetes does), never of the stack's input: the
    CLI reports it as unexpected (exit 3), not as bad input.
    """


def plan_scopes(plan: Plan) -> dict[tuple[str, str], bool]:
    """``(group, kind) -> namespaced`` of every CustomResourceDefinition the plan creates
    (its own and those expanded from charts and kustomize directories)."""
    return crd_scopes(r.inputs for r in plan if r.type.endswith(":CustomResourceDefinition"))


def manifest_path(resource: PlanResource, scopes: Scopes | None = None) -> str:
    """The manifest's path below ``manifests/`` for a Kubernetes object.

    Args:
        resource: A Kubernetes object of the plan.
        scopes: The plan's CRD scopes (:func:`plan_scopes`); a custom resource whose CRD
            is among them is placed by the CRD's ``spec.scope``, others by the built-ins.

    Raises:
        ManifestError: The object has no ``metadata.name``, or a namespaced kind has no
            namespace (mlplane always names objects itself; see the design's contract).
    """
    body = resource.inputs
    metadata = body.get("metadata") or {}
    name = metadata.get("name")
    kind = body.get("kind") or kind_of(resource.type)
    if not isinstance(name, str) or not name:
        raise ManifestError(f"{resource.urn}: metadata.name is not set (mlplane never relies on auto-naming)")
    namespace = metadata.get("namespace")
    if not is_namespaced({"apiVersion": body.get("apiVersion", ""), "kind": kind}, scopes or {}):
        folder = CLUSTER_FOLDER
    elif isinstance(namespace, str) and namespace:
        folder = namespace
    else:
        raise ManifestError(f"{resource.urn}: namespaced {kind} {name!r} has no metadata.namespace")
    return f"{folder}/{_file_name(kind, name)}"


def _file_name(kind: str, name: str) -> str:
    # Kinds and object names are ASCII (Kubernetes' rules), so characters are bytes here.
    return f"{kind}-{fit(name, MAX_FILE_NAME - len(f'{kind}-.yaml'))}.yaml"


def to_yaml(document: dict[str, Any]) -> str:
    """One YAML document, keys sorted, block style."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True)


def object_conflicts(plan: Plan) -> dict[str, tuple[str, ...]]:
    """Objects that more than one resource of the plan creates, by manifest path.

    ``pulumi up`` fails on the second (the object exists already). mlplane's own objects
    never clash (:func:`manifest_files` refuses that); an upstream chart or directory can
    ship an object that mlplane also creates, which only expansion shows.
    """
    owners: dict[str, list[str]] = {}
    scopes = plan_scopes(plan)
    for resource in plan:
        if resource.is_kubernetes_object:
            owners.setdefault(manifest_path(resource, scopes), []).append(resource.urn)
    return {path: tuple(urns) for path, urns in sorted(owners.items()) if len(urns) > 1}


def manifest_files(plan: Plan, texts: YamlTexts | None = None) -> dict[str, str]:
    """Every Kubernetes object of the plan as ``{relative path: YAML text}``.

    ``texts`` reuses the YAML earlier renders made of identical objects.

    Where an upstream object clashes with another (see :func:`object_conflicts`, which
    the render reports), the file is the first resource's by URN.

    Raises:
        ManifestError: A manifest would be incomplete, or two of mlplane's own objects
            share a path.
    """
    files: dict[str, str] = {}
    owners: dict[str, str] = {}
    scopes = plan_scopes(plan)
    for resource in plan:
        if not resource.is_kubernetes_object:
            continue
        path = manifest_path(resource, scopes)
        if path in files:
            if is_upstream_object(resource.urn) or is_upstream_object(owners[path]):
                continue
            raise ManifestError(f"{resource.urn} and {owners[path]} both write manifests/{path}")
        files[path] = texts.text(resource.inputs, to_yaml) if texts is not None else to_yaml(resource.inputs)
        owners[path] = resource.urn
    return files
