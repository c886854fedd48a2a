"""Expanding a recorded plan: locate each source, expand it (or read the cache), add the children."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlplane.components import depends_on
from mlplane.components.sources import DIRECTORY_TYPE, wrapped_location
from mlplane.infra.offline.expand import cache, helm, kustomize
from mlplane.infra.offline.expand.children import DEFAULT_NAMESPACE, OrderingError, child_resources, masked_secret
from mlplane.infra.offline.kinds import crd_scopes
from mlplane.infra.offline.expand.errors import EngineMissing, ExpansionError, SourceFailure
from mlplane.infra.offline.expand.locate import CHART_TYPE, EXPANDABLE_TYPES, Located, Missing, locate, other_versions
from mlplane.infra.offline.plan import Plan, PlanResource


@dataclass(frozen=True)
class ExpandOptions:
    """Where expansion finds sources and keeps its cache.

    Attributes:
        roots: Sources folders in the upstream layout, searched in order.
        cache: The expansions cache folder; None for no caching.
        explicit: The roots the user named (``--sources``): a version or ref missing
            there while others are present is bad input. The sources cache may simply
            not have fetched it yet, so there it only leaves the source opaque.
    """

    roots: tuple[Path, ...]
    cache: Path | None = None
    explicit: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Expansion:
    """A plan with its charts and directories expanded, and what could not be.

    Attributes:
        plan: The plan with every expanded object as a child resource.
        expanded: URNs of the charts and directories that were expanded.
        missing: ``(resource name, Missing)`` of those that stayed opaque.
    """

    plan: Plan
    expanded: tuple[str, ...] = ()
    missing: tuple[tuple[str, Missing], ...] = field(default_factory=tuple)


def expand_plan(plan: Plan, options: ExpandOptions) -> Expansion:
    """Expand every chart and directory of ``plan`` whose sources are at hand.

    Raises:
        ExpansionError: A version or ref the sources do not have (other versions are
            there), a path that is not a kustomization, values a chart's schema rejects.
        SourceFailure: A present source fails to build, or its objects' ordering
            annotations are ones pulumi-kubernetes refuses (an external or duplicate
            ``config.kubernetes.io/depends-on`` reference, a cycle).
    """
    by_urn = plan.by_urn()
    expanded: dict[str, list[dict[str, Any]]] = {}
    missing: list[tuple[str, Missing]] = []
    work: list[tuple[PlanResource, Located]] = []
    for resource in plan:
        if resource.type not in EXPANDABLE_TYPES:
            continue
        found = locate(resource.type, resource.inputs, options.roots)
        if isinstance(found, Missing):
            others = other_versions(found.key, options.explicit)
            if others:
                _refuse_version(resource, replace(found, others=others))
            missing.append((resource.name, found))
        else:
            work.append((resource, found))
    # Helm's SDK (ctypes) and kustomize (a subprocess) run outside the GIL: build in parallel.
    with ThreadPoolExecutor(max_workers=max(1, min(len(work), os.cpu_count() or 1))) as pool:
        results = list(pool.map(lambda item: _expand_one(item[0], item[1], options,
                                                         _default_namespace(item[0], by_urn)), work))
    for (resource, _), objects in zip(work, results, strict=True):
        if isinstance(objects, Missing):
            missing.append((resource.name, objects))
        else:
            expanded[resource.urn] = objects
    if not expanded:
        return Expansion(plan=plan, missing=tuple(missing))

    scopes = crd_scopes(o for objects in expanded.values() for o in objects)
    children: list[PlanResource] = []
    for urn, objects in expanded.items():
        parent = by_urn[urn]
        try:
            children.extend(child_resources(parent, objects, stack=plan.stack, project=plan.project, scopes=scopes,
                                            default_namespace=_default_namespace(parent, by_urn),
                                            transforms=_inherited_transforms(parent, by_urn, plan.transforms)))
        except OrderingError as exc:  # the provider would fail the component on `pulumi up`
            raise SourceFailure(str(exc)) from None
    clashes = {c.urn for c in children} & set(by_urn)
    if clashes:
        raise SourceFailure(f"expanded objects would have the URN of a resource the plan has: {sorted(clashes)[0]}")
    return Expansion(plan=Plan(project=plan.project, stack=plan.stack, resources=plan.resources + tuple(children)),
                     expanded=tuple(sorted(expanded)), missing=tuple(missing))


def _inherited_transforms(resource: PlanResource, by_urn: dict[str, PlanResource],
                          transforms: Mapping[str, tuple[Any, ...]]) -> tuple[Any, ...]:
    """The transforms the engine runs on ``resource``'s children: its own, then each ancestor's."""
    chain: list[Any] = []
    current: PlanResource | None = resource
    while current is not None:
        chain.extend(transforms.get(current.urn, ()))
        current = by_urn.get(current.parent or "")
    return tuple(chain)


def _default_namespace(resource: PlanResource, by_urn: dict[str, PlanResource]) -> str:
    provider = by_urn.get(resource.provider or "")
    namespace = provider.inputs.get("namespace") if provider is not None else None
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE


def _refuse_version(resource: PlanResource, found: Missing) -> None:
    if resource.type == CHART_TYPE:
        raise ExpansionError(resource.name, "version", resource.inputs.get("version"),
                             f"chart version not in the sources ({found.key} does not exist)",
                             "a version the sources hold: " + ", ".join(found.others))
    raise ExpansionError(resource.name, "directory", resource.inputs.get("directory"),
                         f"git ref not in the sources ({found.key} does not exist)",
                         "a ref the sources hold for this path: " + ", ".join(found.others))


def _expand_one(resource: PlanResource, found: Located, options: ExpandOptions,
                default_namespace: str) -> list[dict[str, Any]] | Missing:
    inputs = resource.inputs
    namespace = str(inputs.get("namespace") or default_namespace)
    release = str(inputs.get("name") or resource.name)
    values = inputs.get("values") or {}
    if found.kind == "chart":
        if not (found.folder / "Chart.yaml").is_file():
            raise ExpansionError(resource.name, "chart", inputs.get("chart"), f"{found.folder} is not a Helm chart",
                                 "a folder with a Chart.yaml")
        trees = [found.folder]
    else:
        if kustomize.kustomization_file(found.folder) is None:
            raise ExpansionError(resource.name, "directory", inputs.get("directory"),
                                 f"{found.key} is not a kustomization",
                                 "a folder with a kustomization.yaml")
        # A kustomization reads files beside and above it: the whole tree of that ref.
        top = found.root / Path(found.key).parts[0] / Path(found.key).parts[1] if found.root else found.folder
        trees = [top] + ([found.root / "remote"] if found.root and (found.root / "remote").is_dir() else [])
    include_crds = inputs.get("skipCrds") is not True
    key = cache.expansion_key(found.kind, trees, {"values": values, "crds": include_crds}, namespace, release,
                              found.key)
    cached = cache.read(options.cache, key)
    if cached is not None:
        return _post_rendered(resource, cached, namespace)
    try:
        if found.kind == "chart":
            objects = helm.render_chart(found.folder, resource=resource.name, release=release, namespace=namespace,
                                        values=values, include_crds=include_crds)
        else:
            objects = kustomize.build_directory(found.folder, options.roots)
    except EngineMissing as exc:
        return Missing(found.key, str(exc))
    except kustomize.RemoteMissing as exc:
        return Missing(str(exc), f"{found.key} reads this remote resource, which no sources folder holds under "
                                 "remote/<host>/<path>")
    except (helm.ChartRenderError, kustomize.DirectoryBuildError, ValueError) as exc:
        raise SourceFailure(f"{resource.name}: {exc}") from None
    # Before anything is kept, the cache included; a directory's literals are upstream's own.
    objects = [masked_secret(o, published=found.kind != "chart") for o in objects]
    cache.write(options.cache, key, objects)
    return _post_rendered(resource, objects, namespace)


def _post_rendered(resource: PlanResource, objects: list[dict[str, Any]], namespace: str
                   ) -> list[dict[str, Any]] | Missing:
    """What a chart's post-renderer or a wrapped directory's transformer plugin makes of the
    objects: mlplane's own (:mod:`components.depends_on`, the one function both run) is
    applied in process; another post-renderer command cannot run offline, so the chart stays
    opaque."""
    if resource.type == DIRECTORY_TYPE:
        wrapped = wrapped_location(str(resource.inputs.get("directory") or ""))
        return depends_on.annotate(objects, wrapped[1]) if wrapped else objects
    post = resource.inputs.get("postRenderer")
    if not post:
        return objects
    command = post.get("command") if isinstance(post, dict) else None
    if command != depends_on.COMMAND:
        return Missing(str(resource.inputs.get("chart")), f"its post-renderer {command!r} does not run offline")
    args = [str(a) for a in post.get("args") or ()]
    if args[:1] == ["--namespace"] and len(args) == 2:
        namespace = args[1]
    return depends_on.annotate(objects, namespace)


def missing_message(missing: Sequence[tuple[str, Missing]], stack_argument: str) -> str:
    """What stayed opaque and how to get its sources, for stderr.

    ``stack_argument`` names the stack as the user did (``--stack NAME`` or
    ``--config-file PATH``), so the suggested command reads the same stack file.
    """
    lines = [f"{len(missing)} charts/directories not expanded (their sources are not at hand); "
             "the plan records them as one resource each:"]
    for name, item in missing:
        lines.append(f"  {name}: {item.key} ({item.reason})")
    lines.append(f"Get them with `mlplane sources fetch {stack_argument}` (fills {cache.sources_cache()}), "
                 "or pass `--sources DIR`, a folder laid out like kubeflow-manifests/<ref>/..., charts/<chart>-<version>/, "
                 "remote/<host>/<path>.")
    return "\n".join(lines) + "\n"
