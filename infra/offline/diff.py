"""Comparing two plans: what a change to the stack would create, update, replace, delete.

Resources are matched by URN, or through an alias when a resource was renamed or moved.
A matched pair is ``same``, an ``update``, or a ``replace`` when an immutable field
changes (see :mod:`infra.offline.replace_rules`). A change is ``danger`` when it would
delete or replace something that holds data or is protected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from infra.offline.kinds import held_data, is_stateful_type, kind_of
from infra.offline.paths import changed_paths, parse_pattern, show, touches
from infra.offline.plan import Plan, PlanResource
from infra.offline.replace_rules import replace_reasons

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
class Change:
    """One resource that the new plan treats differently from the old one."""

    urn: str
    type: str
    op: Op
    paths: tuple[str, ...]
    danger: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The change as in the diff's JSON format."""
        return {"urn": self.urn, "type": self.type, "op": self.op, "paths": list(self.paths),
                "danger": self.danger, "reason": self.reason}

    @property
    def name(self) -> str:
        """The resource's logical name (the URN's last part)."""
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class PlanDiff:
    """All changes between two plans, plus how many resources stay the same."""

    changes: tuple[Change, ...]
    same: int

    def summary(self) -> dict[str, int]:
        """Counts per operation, plus ``same``."""
        counts = {op: 0 for op in OPS}
        for change in self.changes:
            counts[change.op] += 1
        return {**counts, "same": self.same}

    @property
    def has_danger(self) -> bool:
        """Whether any change would destroy data or a protected resource."""
        return any(change.danger for change in self.changes)

    def of(self, op: Op) -> list[Change]:
        """The changes of one operation."""
        return [c for c in self.changes if c.op == op]

    def find(self, name: str) -> Change | None:
        """The change of the resource with this logical name, if any."""
        return next((c for c in self.changes if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The diff in its JSON contract form."""
        return {"summary": self.summary(), "changes": [c.to_json() for c in self.changes]}


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
        Change(r.urn, r.type, "create", (), False, "new resource") for r in creates
    ]
    same = 0
    for previous, resource in pairs:
        change = _compare(previous, resource, old)
        if change is None:
            same += 1
        else:
            changes.append(change)
    for resource in old:
        if resource.urn not in matched_old and resource.urn not in new_by_urn:
            changes.append(_deletion(resource, old))
    changes.sort(key=lambda c: c.urn)
    return PlanDiff(changes=tuple(changes), same=same)


def _compare(old: PlanResource, new: PlanResource, old_plan: Plan) -> Change | None:
    ignored = [parse_pattern(p) for p in new.ignore_changes]
    paths = [p for p in changed_paths(old.inputs, new.inputs) if not any(touches(p, i) and len(p) >= len(i)
                                                                           for i in ignored)]
    option_paths = [f"options.{key}" for attr, key in _OPTIONS if getattr(old, attr) != getattr(new, attr)]
    provider_changed = old.provider != new.provider
    renamed = old.urn != new.urn

    if not paths and not option_paths and not provider_changed and not renamed:
        return None

    shown = tuple(show(p) for p in paths) + tuple(option_paths)
    reasons = replace_reasons(old, new, paths)
    if provider_changed:
        return _replacement(old, new, shown + ("provider",), "the provider changed", old_plan)
    if reasons:
        detail = "; ".join(f"{show(r.path)} ({r.rule})" for r in reasons[:5])
        return _replacement(old, new, shown, f"replaces: {detail}", old_plan)
    reason = "changed: " + ", ".join(shown) if shown else "renamed or moved (alias)"
    if renamed and shown:
        reason += f" (was {old.urn})"
    elif renamed:
        reason = f"renamed or moved, kept through an alias (was {old.urn})"
    return Change(new.urn, new.type, "update", shown, False, reason)


def _holds_data(resource: PlanResource) -> str | None:
    data = held_data(resource.type, resource.inputs)
    held = f"holds {data}" if data else None
    if resource.protect:
        return f"protected; {held}" if held else "protected"
    if resource.retain_on_delete:
        return f"retained on delete; {held}" if held else "retained on delete"
    if is_stateful_type(resource.type):
        return held or "holds data"
    return None


def _replacement(
    old: PlanResource, new: PlanResource, paths: tuple[str, ...], why: str, old_plan: Plan
) -> Change:
    stateful = _holds_data(old) or _holds_data(new)
    victims = _stateful_in_namespace(old, old_plan)
    if victims and not stateful:
        stateful = "holds " + ", ".join(victims[:3]) + (" and more" if len(victims) > 3 else "")
    reason = why
    if stateful:
        reason = f"DANGER: replacing {kind_of(new.type)} {new.name!r} ({stateful}) destroys it first; {why}"
    return Change(new.urn, new.type, "replace", paths, stateful is not None, reason)


def _deletion(resource: PlanResource, old_plan: Plan) -> Change:
    stateful = _holds_data(resource)
    if stateful:
        reason = f"DANGER: deletes {kind_of(resource.type)} {resource.name!r} ({stateful})"
        return Change(resource.urn, resource.type, "delete", (), True, reason)
    victims = _stateful_in_namespace(resource, old_plan)
    if victims:
        reason = (f"DANGER: deleting namespace {resource.inputs['metadata']['name']!r} also deletes "
                  f"{', '.join(victims[:3])}{' and more' if len(victims) > 3 else ''}")
        return Change(resource.urn, resource.type, "delete", (), True, reason)
    return Change(resource.urn, resource.type, "delete", (), False, "no longer in the plan")


def _stateful_in_namespace(resource: PlanResource, plan: Plan) -> list[str]:
    # Kubernetes deletes everything in a namespace with it, volumes included.
    if resource.type != "kubernetes:core/v1:Namespace":
        return []
    namespace = (resource.inputs.get("metadata") or {}).get("name")
    return [
        f"{kind_of(r.type)} {r.name!r}"
        for r in plan
        if is_stateful_type(r.type) and (r.inputs.get("metadata") or {}).get("namespace") == namespace
    ]
