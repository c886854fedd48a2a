"""Comparing two plans: what a change to the stack would create, update, replace, delete.

Resources are matched by URN, or through an alias when a resource was renamed or moved.
A matched pair is ``same``, an ``update``, or a ``replace`` when an immutable field
changes (see :mod:`infra.offline.replace_rules`). A change is ``danger`` when it would
delete or replace something that holds data or is protected. Each changed path keeps
its old and new value (secrets masked, :mod:`infra.offline.shown`), a renamed resource
its old URN, and an object expanded from a Helm chart or kustomize directory the URN
of that source.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from mlplane.infra.offline.danger import (crd_kind, crd_loss, data_at_stake, guarded, listing, loses_data,
                                          object_name, stateful_in_namespace)
from mlplane.infra.offline.downgrades import downgrade_warning
from mlplane.infra.offline.kinds import kind_of
from mlplane.infra.offline.paths import ABSENT, changed_paths, parse_pattern, show, touches, value_at
from mlplane.infra.offline.plan import STACK_TYPE, Plan, PlanResource
from mlplane.infra.offline.rename_hints import rename_hints
from mlplane.infra.offline.replace_rules import expandable_classes, replace_reasons
from mlplane.infra.offline.shown import masked
from mlplane.infra.offline.unexpanded import SOURCE_TYPES, Unexpanded, unexpanded
from mlplane.infra.offline.upgrades import ComponentChange, component_changes

Op = Literal["create", "update", "replace", "delete"]
OPS: tuple[Op, ...] = ("create", "update", "replace", "delete")

#: Resource options that, when changed alone, make an update of the resource's state.
_OPTIONS = (
    ("protect", "protect"),
    ("retain_on_delete", "retainOnDelete"),
    ("delete_before_replace", "deleteBeforeReplace"),
    ("replace_on_changes", "replaceOnChanges"),
    ("ignore_changes", "ignoreChanges"),
)




@dataclass(frozen=True)
class ValueChange:
    """One changed path with its value before and after (``ABSENT`` where it had none).

    Values are masked (:func:`infra.offline.shown.masked`): a secret is ``[secret]``.
    """

    path: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        """``{"path", "before", "after"}``, leaving out the side where the path is absent."""
        data: dict[str, Any] = {"path": self.path}
        if self.before is not ABSENT:
            data["before"] = self.before
        if self.after is not ABSENT:
            data["after"] = self.after
        return data


@dataclass(frozen=True)
class Change:
    """One resource that the new plan treats differently from the old one.

    Attributes:
        values: Each changed path with its old and new value.
        renamed_from: The old URN when the resource was renamed or moved (an alias).
        source: The URN of the Helm chart or kustomize directory the object comes from.
        component: The URN of the nearest mlplane component that owns the resource.
        hint: One line of advice beside the reason (a delete that looks like a rename).
        danger_kind: What a danger is about: ``data`` (a volume, bucket, database),
            ``crd`` (a CRD and every object of its kind), ``namespace`` (one with
            volumes in it); "" when no danger.
        protected: The resource is protected: `pulumi up` refuses to delete or replace it.
    """

    urn: str
    type: str
    op: Op
    paths: tuple[str, ...]
    danger: bool
    reason: str
    values: tuple[ValueChange, ...] = ()
    renamed_from: str | None = None
    source: str | None = None
    component: str | None = None
    hint: str = ""
    danger_kind: str = ""
    protected: bool = False

    def to_json(self) -> dict[str, Any]:
        """The change as in the diff's JSON format."""
        data = {"urn": self.urn, "type": self.type, "op": self.op, "paths": list(self.paths),
                "values": [v.to_json() for v in self.values], "danger": self.danger, "reason": self.reason}
        if self.renamed_from:
            data["renamedFrom"] = self.renamed_from
        if self.hint:
            data["hint"] = self.hint
        if self.source:
            data["source"] = self.source
        if self.danger_kind:
            data["dangerKind"] = self.danger_kind
        if self.protected:
            data["protected"] = True
        return data

    @property
    def name(self) -> str:
        """The resource's logical name (the URN's last part)."""
        return self.urn.rsplit("::", 1)[-1]

    @property
    def old_name(self) -> str | None:
        """The logical name before a rename, if it was renamed."""
        return self.renamed_from.rsplit("::", 1)[-1] if self.renamed_from else None


@dataclass(frozen=True)
class PlanDiff:
    """All changes between two plans, plus how many resources stay the same.

    ``warnings`` are risks of the change as a whole (a release or chart downgrade);
    ``unexpanded`` the charts and directories whose objects the diff cannot see;
    ``components`` the platform components whose version changes, with upstream's
    supported upgrade step (a danger where the change skips it).
    """

    changes: tuple[Change, ...]
    same: int
    stack: str = ""
    warnings: tuple[str, ...] = ()
    unexpanded: Unexpanded = field(default_factory=lambda: Unexpanded(0, (), (), "--stack NAME"))
    components: tuple[ComponentChange, ...] = ()
    old_plan: Plan | None = field(default=None, repr=False, compare=False)
    new_plan: Plan | None = field(default=None, repr=False, compare=False)

    def summary(self) -> dict[str, int]:
        """Counts per operation, plus ``same``."""
        counts = {op: 0 for op in OPS}
        for change in self.changes:
            counts[change.op] += 1
        return {**counts, "same": self.same}

    @property
    def has_danger(self) -> bool:
        """Whether any change would destroy data, or a component's upgrade skips a supported step."""
        return any(change.danger for change in self.changes) or any(c.danger for c in self.components)

    def fails(self, allow_unexpanded: bool = False) -> bool:
        """What ``--fail-on-danger`` fails on: a danger, or a changed source nobody could look into.

        Args:
            allow_unexpanded: Accept changed sources that were not expanded (their
                dangers unchecked), as ``--allow-unexpanded`` says.
        """
        return self.has_danger or (bool(self.unexpanded.changed) and not allow_unexpanded)

    def of(self, op: Op) -> list[Change]:
        """The changes of one operation."""
        return [c for c in self.changes if c.op == op]

    def find(self, name: str) -> Change | None:
        """The change of the resource with this logical name, if any."""
        return next((c for c in self.changes if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The diff in its JSON contract form."""
        data: dict[str, Any] = {"summary": self.summary(), "changes": [c.to_json() for c in self.changes],
                                "unexpanded": self.unexpanded.to_json()}
        if self.warnings:
            data["warnings"] = list(self.warnings)
        if self.components:
            data["release"] = {"components": [c.to_json() for c in self.components]}
        return data


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    """Compare ``old`` with ``new``.

    Args:
        old: The plan as it is (a baseline, or the main branch's render).
        new: The plan as it would become.

    Returns:
        The changes, sorted by URN (deletes under their old URN).
    """
    old_by_urn, new_by_urn = old.by_urn(), new.by_urn()
    pairs: list[tuple[PlanResource, PlanResource]] = []
    matched_old: set[str] = set()
    creates: list[PlanResource] = []
    for resource in new:
        previous = old_by_urn.get(resource.urn)
        if previous is None:
            previous = next(
                (old_by_urn[a] for a in resource.aliases
                 if a in old_by_urn and a not in new_by_urn and a not in matched_old),
                None,
            )
        if previous is None:
            creates.append(resource)
        else:
            matched_old.add(previous.urn)
            pairs.append((previous, resource))

    changes: list[Change] = [
        _placed(Change(r.urn, r.type, "create", (), False, "new resource"), r, new_by_urn) for r in creates
    ]
    same = 0
    classes = expandable_classes(old, new)
    for previous, resource in pairs:
        change = _compare(previous, resource, old, classes)
        if change is None:
            same += 1
        else:
            changes.append(_placed(change, resource, new_by_urn))
    for resource in old:
        if resource.urn not in matched_old and resource.urn not in new_by_urn:
            changes.append(_placed(_deletion(resource, old), resource, old_by_urn))
    hints = rename_hints(old, new, (c.urn for c in changes if c.op == "delete"),
                         (c.urn for c in changes if c.op == "create"))
    changes = [replace(c, hint=hints[c.urn]) if c.op == "delete" and c.urn in hints else c for c in changes]
    changes.sort(key=lambda c: c.urn)
    warnings = [w for w in (_other_stack_warning(old, new), downgrade_warning(pairs)) if w]
    touched = [c.urn for c in changes] + [c.renamed_from for c in changes if c.renamed_from]
    return PlanDiff(changes=tuple(changes), same=same, stack=new.stack or old.stack,
                    warnings=tuple(warnings), unexpanded=unexpanded(old, new, touched),
                    components=component_changes(old, new), old_plan=old, new_plan=new)


def _other_stack_warning(old: Plan, new: Plan) -> str | None:
    """Why a diff of two stacks' plans deletes and creates everything, or None.

    Every URN names its stack (``urn:pulumi:<stack>::...``), so no resource of one stack's
    plan matches the other's; the deletes (and their dangers) say nothing about either stack.
    """
    if not old.stack or not new.stack or old.stack == new.stack:
        return None
    return (f"the plans are of different stacks ({old.stack!r}, then {new.stack!r}): every resource's URN names "
            "its stack, so all of them read as deleted and created. Compare two plans of the same stack (a "
            "stack file given by --config-file is named after its file name).")


def owners(resource: PlanResource, by_urn: dict[str, PlanResource]) -> tuple[str | None, str | None]:
    """The URNs of the chart or directory ``resource`` was expanded from and of its component.

    The component is the nearest ancestor that is an mlplane component (not the stack,
    not a chart or directory); either is None where there is none.
    """
    source = component = None
    parent = by_urn.get(resource.parent) if resource.parent else None
    seen: set[str] = set()
    while parent is not None and parent.urn not in seen and (source is None or component is None):
        seen.add(parent.urn)
        if parent.type in SOURCE_TYPES:
            source = source or parent.urn
        elif not parent.custom and parent.type != STACK_TYPE and component is None:
            component = parent.urn
        parent = by_urn.get(parent.parent) if parent.parent else None
    return source, component


def _placed(change: Change, resource: PlanResource, by_urn: dict[str, PlanResource]) -> Change:
    """``change`` with the chart or directory it was expanded from and its component."""
    source, component = owners(resource, by_urn)
    if source is None and component is None:
        return change
    return replace(change, source=source, component=component)


def _compare(old: PlanResource, new: PlanResource, old_plan: Plan, classes: dict[str, bool]) -> Change | None:
    ignored = [parse_pattern(p) for p in new.ignore_changes]
    paths = [p for p in changed_paths(old.inputs, new.inputs) if not any(touches(p, i) and len(p) >= len(i)
                                                                           for i in ignored)]
    option_paths = [f"options.{key}" for attr, key in _OPTIONS if getattr(old, attr) != getattr(new, attr)]
    provider_changed = old.provider != new.provider
    renamed = old.urn != new.urn

    if not paths and not option_paths and not provider_changed and not renamed:
        return None

    shown = tuple(show(p) for p in paths) + tuple(option_paths)
    values = tuple(
        ValueChange(show(p), masked(new.type, p, value_at(old.inputs, p, ABSENT)),
                    masked(new.type, p, value_at(new.inputs, p, ABSENT)))
        for p in paths
    ) + tuple(ValueChange(f"options.{key}", getattr(old, attr), getattr(new, attr))
              for attr, key in _OPTIONS if getattr(old, attr) != getattr(new, attr))
    renamed_from = old.urn if renamed else None
    reasons = replace_reasons(old, new, paths, classes)
    if provider_changed:
        values += (ValueChange("provider", old.provider, new.provider),)
        return _replacement(old, new, shown + ("provider",), values, "the provider changed", old_plan, renamed_from)
    if reasons:
        detail = "; ".join(f"{show(r.path)} ({r.rule})" for r in reasons[:5])
        return _replacement(old, new, shown, values, f"replaces: {detail}", old_plan, renamed_from)
    reason = "changed: " + ", ".join(shown) if shown else ""
    if renamed:
        rename = f"renamed or moved, kept through an alias: {old.name} → {new.name}"
        if old.name == new.name:
            rename = f"renamed or moved (new parent), kept through an alias: was {old.urn}"
        reason = f"{rename}; {reason}" if reason else rename
    return Change(new.urn, new.type, "update", shown, False, reason, values, renamed_from)


def _replacement(
    old: PlanResource, new: PlanResource, paths: tuple[str, ...], values: tuple[ValueChange, ...], why: str,
    old_plan: Plan, renamed_from: str | None,
) -> Change:
    data = loses_data(old) or loses_data(new)
    kind = ""
    if data:
        kind, reason = "data", (f"DANGER: replacing {kind_of(new.type)} {new.name!r} ({data}) first destroys "
                                f"{data_at_stake(old)}; {why}")
    elif crd_kind(old) is not None and _deletes_first(old, new):
        kind, reason = "crd", f"DANGER: replacing CRD {new.name!r} deletes it first: {crd_loss(old, old_plan)}; {why}"
    elif victims := stateful_in_namespace(old, old_plan):
        kind, reason = "namespace", (f"DANGER: replacing namespace {object_name(old)!r} deletes everything in it "
                                     f"first: {listing(victims)}; {why}")
    elif _deletes_first(old, new):
        reason = f"{_deleted_first(old, new)}; {why}"
    else:
        reason = why
    note = guarded(old) or guarded(new)
    if note and not kind:
        reason = f"{reason}; {note}"
    return Change(new.urn, new.type, "replace", paths, bool(kind), reason, values, renamed_from,
                  danger_kind=kind, protected=old.protect or new.protect)


#: Node pools: replacing one removes its nodes, and everything running on them.
_NODE_POOL_TYPES = ("gcp:container/nodePool:NodePool", "azure-native:containerservice:AgentPool")


def _named_alike(old: PlanResource, new: PlanResource) -> bool:
    """Whether a Kubernetes object keeps its ``metadata.name`` and namespace across a replacement."""
    if not new.is_kubernetes_object:
        return False
    before, after = old.inputs.get("metadata") or {}, new.inputs.get("metadata") or {}
    return bool(after.get("name")) and before.get("name") == after.get("name") and \
        before.get("namespace") == after.get("namespace")


def _deletes_first(old: PlanResource, new: PlanResource) -> bool:
    """Whether the replacement deletes the old resource before the new one is created.

    Either mlplane asks for it (``deleteBeforeReplace``), or the provider does it itself:
    pulumi-kubernetes replaces a named object that keeps its name and namespace delete-first
    (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go, ``Diff``: ``deleteBeforeReplace``
    when the object must be replaced, is not auto-named, and keeps its name and namespace).
    """
    return old.delete_before_replace or new.delete_before_replace or _named_alike(old, new)


def _deleted_first(old: PlanResource, new: PlanResource) -> str:
    """What a reviewer must know of a delete-before-replace: the thing is gone for a while, whoever asked."""
    who = "deleteBeforeReplace" if old.delete_before_replace or new.delete_before_replace else \
        "pulumi-kubernetes replaces a named object so"
    said = f"deleted first ({who}): {kind_of(new.type)} {new.name!r} is gone until its replacement is up"
    if new.type in _NODE_POOL_TYPES:
        said += "; its nodes are drained, and the work placed on the pool is evicted and waits Pending meanwhile"
    return said


def _deletion(resource: PlanResource, old_plan: Plan) -> Change:
    data = loses_data(resource)
    protected = resource.protect
    if data:
        reason = f"DANGER: deletes {kind_of(resource.type)} {resource.name!r} ({data}): {data_at_stake(resource)}"
        return Change(resource.urn, resource.type, "delete", (), True, reason, danger_kind="data", protected=protected)
    if crd_kind(resource) is not None:
        reason = f"DANGER: deletes CRD {resource.name!r}: {crd_loss(resource, old_plan)}"
        return Change(resource.urn, resource.type, "delete", (), True, reason, danger_kind="crd", protected=protected)
    victims = stateful_in_namespace(resource, old_plan)
    if victims:
        reason = (f"DANGER: deleting namespace {object_name(resource)!r} also deletes {listing(victims)} "
                  f"and the data on them")
        return Change(resource.urn, resource.type, "delete", (), True, reason, danger_kind="namespace",
                      protected=protected)
    note = guarded(resource)
    return Change(resource.urn, resource.type, "delete", (), False,
                  f"no longer in the plan; {note}" if note else "no longer in the plan", protected=protected)
