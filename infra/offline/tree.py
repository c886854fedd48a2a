"""The resource tree of a plan, grouped by component, for ``mlplane preview --tree``.

A Helm chart or kustomize directory that was expanded into its objects shows as one
line with its object count by kind (and how many of them change); ``expand`` lists
every object.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from mlplane.infra.offline.diff import SOURCE_TYPES, PlanDiff
from mlplane.infra.offline.kinds import kind_of
from mlplane.infra.offline.plan import Plan, PlanResource, descendants

_MARK = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def kinds_summary(resources: list[PlanResource]) -> str:
    """``12 objects: 3 Deployment, 2 Service, ...`` (most frequent kinds first)."""
    counts = Counter(kind_of(r.type) for r in resources)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return f"{len(resources)} object{'s' if len(resources) != 1 else ''}" + (f": {kinds}" if kinds else "")


def _run_flag(resource: PlanResource) -> str:
    """How a pipeline's run is started, where ``pulumi up`` does not await it: its schedule
    in words (a CronWorkflow) or ``run not awaited`` (``run: async``)."""
    annotations = ((resource.inputs.get("metadata") or {}).get("annotations") or {}) if resource.custom else {}
    if annotations.get("mlplane.dev/schedule"):
        return f"  [runs {annotations['mlplane.dev/schedule']}; not awaited]"
    if annotations.get("mlplane.dev/run") == "async":
        return "  [run not awaited]"
    return ""


def format_tree(plan: Plan, diff: PlanDiff | None = None, expand: bool = False) -> str:
    """Render ``plan`` as an indented tree: components with their children.

    Args:
        plan: The plan to show.
        diff: When given, each resource is prefixed with its operation.
        expand: List every object of an expanded chart or directory instead of one line.

    Returns:
        The tree as text, children sorted by type then name.
    """
    ops = {c.urn: c.op for c in diff.changes} if diff else {}
    dangers = {c.urn for c in diff.changes if c.danger} if diff else set()
    by_source: dict[str, list] = defaultdict(list)  # changes (deletions too) under each source
    for change in diff.changes if diff else ():
        if change.source:
            by_source[change.source].append(change)
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
        kids = children.get(resource.urn, [])
        collapsed = resource.type in SOURCE_TYPES and kids and not expand
        inside = descendants(resource.urn, children) if collapsed else []
        danger = resource.urn in dangers or (collapsed and any(c.danger for c in by_source[resource.urn]))
        mark = ("!" if danger else " ") + (_MARK[op] if op else " ").ljust(2)
        flags = " [protected]" if resource.protect else ""
        flags += _run_flag(resource)
        if collapsed:
            changed = len(by_source[resource.urn])
            flags += f"  ({kinds_summary(inside)}{f'; {changed} changing' if changed else ''})"
            if not op and changed:
                mark = mark[0] + "~ "
        lines.append(f"{mark} {prefix}{branch}{resource.type}  {resource.name}{flags}")
        if collapsed:
            return
        for index, kid in enumerate(kids):
            walk(kid, prefix + ("   " if last else "│  "), index == len(kids) - 1)

    roots = children.get(None, [])
    for index, root in enumerate(roots):
        walk(root, "", index == len(roots) - 1)
    return "\n".join(lines) + "\n"
