"""The resource tree of a plan, grouped by component, for ``mlplane preview``."""

from __future__ import annotations

from collections import defaultdict

from infra.offline.diff import PlanDiff
from infra.offline.plan import Plan, PlanResource

_MARK = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def format_tree(plan: Plan, diff: PlanDiff | None = None) -> str:
    """Render ``plan`` as an indented tree: components with their children.

    Args:
        plan: The plan to show.
        diff: When given, each resource is prefixed with its operation.

    Returns:
        The tree as text, children sorted by type then name.
    """
    ops = {c.urn: c.op for c in diff.changes} if diff else {}
    dangers = {c.urn for c in diff.changes if c.danger} if diff else set()
    children: dict[str | None, list[PlanResource]] = defaultdict(list)
    by_urn = plan.by_urn()
    for resource in plan:
        parent = resource.parent if resource.parent in by_urn else None
        children[parent].append(resource)
    for group in children.values():
        group.sort(key=lambda r: (r.custom, r.type, r.name))

    lines = [f"Stack {plan.stack} of {plan.project}: {len(plan)} resources"]

    def walk(resource: PlanResource, prefix: str, last: bool) -> None:
        branch = "└─ " if last else "├─ "
        op = ops.get(resource.urn)
        mark = ("!" if resource.urn in dangers else " ") + (_MARK[op] if op else " ").ljust(2)
        flags = " [protected]" if resource.protect else ""
        lines.append(f"{mark} {prefix}{branch}{resource.type}  {resource.name}{flags}")
        kids = children.get(resource.urn, [])
        for index, kid in enumerate(kids):
            walk(kid, prefix + ("   " if last else "│  "), index == len(kids) - 1)

    roots = children.get(None, [])
    for index, root in enumerate(roots):
        walk(root, "", index == len(roots) - 1)
    return "\n".join(lines) + "\n"
