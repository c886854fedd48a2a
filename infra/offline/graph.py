"""A picture of a change: a Mermaid flowchart of the changed resources and what depends on them.

GitHub draws Mermaid blocks in comments. Nodes are grouped by the mlplane component that
owns them; objects expanded from a Helm chart or kustomize directory are drawn as their
source. The drawing is capped (dangers first, then replacements and deletions, then the
rest, then dependents) so that a change to a 600-resource plan stays readable.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from mlplane.infra.offline.diff import Change, PlanDiff, owners
from mlplane.infra.offline.kinds import kind_of
from mlplane.infra.offline.plan import Plan, PlanResource

MAX_NODES = 30
_SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
_RANK = {"delete": 0, "replace": 1, "create": 2, "update": 3}
_CLASSES = (
    "classDef create fill:#e6ffed,stroke:#2da44e",
    "classDef update fill:#fff8c5,stroke:#bf8700",
    "classDef replace fill:#fbefff,stroke:#8250df",
    "classDef delete fill:#ffebe9,stroke:#cf222e",
    "classDef danger fill:#ffebe9,stroke:#cf222e,stroke-width:3px",
    "classDef dependent fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:3 3",
)


@dataclass
class _Node:
    key: str
    label: str
    group: str | None
    op: str | None
    danger: bool = False
    count: int = 0


def _label(text: str) -> str:
    # Mermaid labels in quotes: no quotes, brackets or angle brackets inside.
    return re.sub(r"[\"<>\[\]{}|]", "'", text)


def change_graph(diff: PlanDiff, max_nodes: int = MAX_NODES) -> str:
    """The Mermaid ``flowchart`` text of the change ("" when nothing changes).

    Args:
        diff: The diff, with the plans it compared.
        max_nodes: The most nodes drawn; the rest are counted in a note node.
    """
    if not diff.changes:
        return ""
    new = diff.new_plan or Plan(project="", stack="")
    old = diff.old_plan or Plan(project="", stack="")
    by_urn = {**old.by_urn(), **new.by_urn()}
    nodes: dict[str, _Node] = {}
    node_of: dict[str, str] = {}

    def node_for(resource: PlanResource, change: Change | None) -> _Node:
        source, component_urn = owners(resource, by_urn)
        component = component_urn.rsplit("::", 1)[-1] if component_urn else None
        key = source or resource.urn
        node_of[resource.urn] = key
        node = nodes.get(key)
        if node is None:
            if source:
                name = source.rsplit("::", 1)[-1]
                label = f"{kind_of(by_urn[source].type) if source in by_urn else 'source'} {name}"
            else:
                label = f"{kind_of(resource.type)} {resource.name}"
            node = nodes[key] = _Node(key, label, component, None)
        if change is not None:
            node.count += 1
            if node.op is None or _RANK[change.op] < _RANK[node.op]:
                node.op = change.op
            node.danger = node.danger or change.danger
        return node

    for change in diff.changes:
        resource = by_urn.get(change.urn) or (by_urn.get(change.renamed_from) if change.renamed_from else None)
        if resource is not None and resource.type != "pulumi:pulumi:Stack":
            node_for(resource, change)
    changed_keys = set(nodes)
    edges: set[tuple[str, str]] = set()
    for resource in new:
        for dependency in resource.dependencies:
            key = node_of.get(dependency)
            if key is None or key not in changed_keys or not resource.custom:
                continue
            dependent = node_for(resource, None)
            if dependent.key != key:
                edges.add((key, dependent.key))

    ordered = sorted(nodes.values(), key=lambda n: (n.op is None, not n.danger, _RANK.get(n.op or "", 9),
                                                    n.group or "", n.label))
    drawn = ordered[:max_nodes]
    left_out = Counter("changed" if n.op else "dependent" for n in ordered[max_nodes:])
    ids = {node.key: f"n{index}" for index, node in enumerate(drawn)}
    groups: dict[str | None, list[_Node]] = defaultdict(list)
    for node in drawn:
        groups[node.group].append(node)

    lines = ["flowchart LR"]
    for group_index, (group, members) in enumerate(sorted(groups.items(), key=lambda item: item[0] or "")):
        indent = "  "
        if group is not None:
            lines.append(f'  subgraph g{group_index}["{_label(group)}"]')
            indent = "    "
        for node in members:
            mark = f"{_SYMBOL[node.op]} " if node.op else ""
            count = f" ({node.count} changes)" if node.count > 1 else ""
            css = "danger" if node.danger else node.op or "dependent"
            lines.append(f'{indent}{ids[node.key]}["{_label(mark + node.label + count)}"]:::{css}')
        if group is not None:
            lines.append("  end")
    for source, target in sorted(edges):
        if source in ids and target in ids:
            lines.append(f"  {ids[source]} --> {ids[target]}")
    if left_out:
        more = ", ".join(f"{n} {what}" for what, n in sorted(left_out.items()))
        lines.append(f'  more["… {more} not drawn"]:::dependent')
    lines += [f"  {line}" for line in _CLASSES]
    return "\n".join(lines) + "\n"


def graph_markdown(diff: PlanDiff) -> str:
    """The graph as a Markdown section with a ``mermaid`` block ("" when nothing changes)."""
    graph = change_graph(diff)
    if not graph:
        return ""
    return ("<details open><summary>What changes and what depends on it</summary>\n\n"
            f"```mermaid\n{graph}```\n\n</details>\n")
