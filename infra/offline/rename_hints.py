"""Deletes that look like renames: say that ``formerly`` would have kept the identity.

Renaming a stack entry (a volume, a pool, a pipeline or one of its steps, a notebook or
TensorBoard) without its earlier name makes Pulumi delete the old component with
everything under it and create a new one; for what holds data, the data goes. mlplane's
``formerly`` (``renamed_steps`` for a pipeline's steps; components/renames.py) aliases
the new name to the old one instead. When a diff deletes one such component and creates
one of the same kind under the same parent, it says so, in one line on the delete.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from mlplane.infra.offline.danger import holds_data
from mlplane.infra.offline.plan import Plan, PlanResource, descendants

#: A plan's parent URN -> children map (:meth:`Plan.children`).
Children = Mapping[str | None, list[PlanResource]]

_PIPELINE = "mlplane:pipeline:Pipeline"
_STEP_TYPES = frozenset({
    "mlplane:pipeline:ContainerStep", "mlplane:pipeline:ResourceStep", "mlplane:pipeline:WorkflowStep",
    "mlplane:pipeline:TrainingStep", "mlplane:pipeline:ExperimentStep", "mlplane:pipeline:VolumeStep",
    "mlplane:serving:ServingEndpoint", "mlplane:serving:WebApp",
})
#: Entry kinds that take ``formerly``: type -> (Pulumi name prefix, what the entry is, its stack key).
#: The prefixes are those of volume_resource_name, pool_resource_name, pipeline_name,
#: notebook_resource_name and board_resource_name (the last two add the profile).
_ENTRIES = {
    "mlplane:storage:Volume": ("volume-", "volume", "mlplane:storage.volumes"),
    "mlplane:accelerators:AcceleratorPool": ("pool-", "pool", "mlplane:accelerators.pools"),
    _PIPELINE: ("pipeline-", "pipeline", "mlplane:pipelines"),
    "mlplane:workbench:Workbench": ("notebook-", "notebook", "mlplane:workbenches.notebooks"),
    "mlplane:workbench:Board": ("tensorboard-", "TensorBoard", "mlplane:workbenches.tensorboards"),
}


def _profile(resource: PlanResource, children: Children) -> str:
    """The namespace (profile) of a notebook's or TensorBoard's objects, part of its Pulumi name."""
    for child in descendants(resource.urn, children):
        metadata = child.inputs.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("namespace"), str):
            return metadata["namespace"]
    return ""


def entry_name(resource: PlanResource, plan: Plan, children: Children) -> str:
    """The name the stack file gives the entry behind component ``resource`` (``children``:
    ``plan.children()``)."""
    name = resource.name
    parent = plan.by_urn().get(resource.parent or "")
    if resource.type in _STEP_TYPES and parent is not None:
        return name.removeprefix(f"{parent.name}-")
    prefix = _ENTRIES[resource.type][0]
    if resource.type in ("mlplane:workbench:Workbench", "mlplane:workbench:Board"):
        profile = _profile(resource, children)
        prefix += f"{profile}-" if profile else ""
    return name.removeprefix(prefix)


def _kind(resource: PlanResource, by_urn: dict[str, PlanResource]) -> str | None:
    """The rename family of a component: its type, or None when it takes no earlier names."""
    if resource.type in _ENTRIES:
        return resource.type
    parent = by_urn.get(resource.parent or "")
    if resource.type in _STEP_TYPES and parent is not None and parent.type == _PIPELINE:
        return resource.type  # a step; a ServingEndpoint of mlplane:serving has no earlier names
    return None


def _by_kind(plan: Plan, urns: Iterable[str]) -> dict[tuple[str, str | None], list[PlanResource]]:
    """The components among ``urns`` that take earlier names, by (kind, parent URN)."""
    by_urn = plan.by_urn()
    found: dict[tuple[str, str | None], list[PlanResource]] = defaultdict(list)
    for urn in urns:
        resource = by_urn[urn]
        kind = _kind(resource, by_urn)
        if kind:
            found[(kind, resource.parent)].append(resource)
    return found


def rename_hints(old: Plan, new: Plan, deleted: Iterable[str], created: Iterable[str]) -> dict[str, str]:
    """One-line hints for deleted components that look renamed, by the deleted URN.

    A deleted and a created component of the same kind under the same parent, one of each,
    look like one entry renamed.

    Args:
        old: The plan before.
        new: The plan after.
        deleted: URNs the diff deletes.
        created: URNs the diff creates.
    """
    gone, came = _by_kind(old, deleted), _by_kind(new, created)
    old_children, new_children = old.children(), new.children()
    hints = {}
    for key, olds in gone.items():
        news = came.get(key, [])
        if len(olds) != 1 or len(news) != 1:
            continue  # several of a kind: which became which is a guess
        before, after = olds[0], news[0]
        was, now = entry_name(before, old, old_children), entry_name(after, new, new_children)
        if before.type in _STEP_TYPES:
            how = f"`renamed_steps: {{{now}: [{was}]}}` on the pipeline (mlplane:pipelines)"
        else:
            _, what, section = _ENTRIES[before.type]
            how = f"`formerly: [{was}]` on {what} {now} ({section})"
        data = any(holds_data(r) for r in (before, *descendants(before.urn, old_children)))
        hints[before.urn] = (f"looks like a rename of {was} to {now}: {how} keeps its identity"
                             + ("; without it its data is destroyed" if data else ""))
    return hints
