"""Which charts and kustomize directories a diff could not look into, said at the top of every report.

A Helm chart or kustomize directory whose sources were not at hand stays one resource in
the plan: none of the objects it installs are there, so none of their changes, and none
of their dangers (a claim deleted, a CRD dropped), can be shown. A diff of such plans
says so first, in every format, with how many sources that concerns, how many of them
change, and the command that brings their sources. The statement has one JSON key
(``unexpanded``) and a one-line text form (:meth:`Unexpanded.line`), which callers such
as CI workflows pass on unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlplane.infra.offline.kinds import EXPANDED_PARENTS
from mlplane.infra.offline.plan import Plan

SOURCE_TYPES = frozenset(EXPANDED_PARENTS)


@dataclass(frozen=True)
class Unexpanded:
    """The sources of a diff that were not expanded, in either plan.

    Attributes:
        total: How many charts and directories the two plans have (by URN).
        sources: The URNs of those not expanded in the old or the new plan, sorted.
        changed: Those of ``sources`` that the diff changes (created, updated, replaced,
            deleted): what they install changes, unseen.
        stack_argument: How the fixing command names the stack (``--stack onprem``).
    """

    total: int
    sources: tuple[str, ...]
    changed: tuple[str, ...]
    stack_argument: str

    @property
    def count(self) -> int:
        """How many sources were not expanded."""
        return len(self.sources)

    @property
    def fix(self) -> str:
        """The command that brings the missing sources (then render or diff again)."""
        return f"mlplane sources fetch {self.stack_argument}"

    def line(self) -> str:
        """The statement in one line ("" when the plans have no chart or directory).

        ``31 of 31 charts/directories not expanded (12 of them change): what they install
        is unchecked, its dangers included. Fix: `mlplane sources fetch --stack onprem` (or
        --sources DIR), then diff again.``
        """
        if not self.total:
            return ""
        if not self.sources:
            they = "it installs" if self.total == 1 else "they install"
            return f"{_sources(self.total, 'All ')} expanded: the objects {they} are checked."
        changing = f" ({len(self.changed)} of them change)" if self.changed else " (none of them changes)"
        return (f"{self.count} of {_sources(self.total)} not expanded{changing}: what they install is "
                f"unchecked, its dangers included. Fix: `{self.fix}` (or --sources DIR), then diff again.")

    def to_json(self) -> dict[str, Any]:
        """``{"count", "total", "changed", "sources", "statement", "fix"}`` for the JSON diff."""
        return {"count": self.count, "total": self.total, "changed": list(self.changed),
                "sources": list(self.sources), "statement": self.line(), "fix": self.fix}


def _sources(count: int, all_: str = "") -> str:
    """``30 charts/directories``, ``1 chart/directory`` (``All 30 ...``, ``The 1 ...``)."""
    if count == 1:
        return f"{'The ' if all_ else ''}1 chart/directory"
    return f"{all_}{count} charts/directories"


def _unexpanded_in(plan: Plan | None) -> tuple[set[str], set[str]]:
    """``(all sources, those without expanded objects)`` of one plan, by URN."""
    if plan is None:
        return set(), set()
    children = plan.children()
    sources = {r.urn for r in plan if r.type in SOURCE_TYPES}
    return sources, {urn for urn in sources if not children.get(urn)}


def unexpanded(old: Plan | None, new: Plan | None, changed_urns: Iterable[str],
               stack_argument: str = "") -> Unexpanded:
    """The sources of the two plans that were not expanded, and which of them change.

    Args:
        old: The plan as it is.
        new: The plan as it would become.
        changed_urns: The URNs (and old URNs of renamed resources) the diff changes.
        stack_argument: How the fixing command names the stack; default ``--stack``
            and the plans' stack name.
    """
    old_all, old_missing = _unexpanded_in(old)
    new_all, new_missing = _unexpanded_in(new)
    missing = old_missing | new_missing
    changing = set(changed_urns)
    stack = (new.stack if new is not None else "") or (old.stack if old is not None else "")
    return Unexpanded(total=len(old_all | new_all), sources=tuple(sorted(missing)),
                      changed=tuple(sorted(missing & changing)),
                      stack_argument=stack_argument or (f"--stack {stack}" if stack else "--stack NAME"))
