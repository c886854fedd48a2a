"""Showing a diff to people (text, Markdown for pull requests) and to machines (JSON)."""

from __future__ import annotations

import json
from typing import Literal

from infra.offline.diff import OPS, Change, PlanDiff

Format = Literal["text", "markdown", "json"]

_SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
_MAX_PATHS = 6


def summary_line(diff: PlanDiff) -> str:
    """``3 to create, 1 to update, 0 to replace, 0 to delete, 12 unchanged``."""
    counts = diff.summary()
    parts = [f"{counts[op]} to {op}" for op in OPS]
    return ", ".join(parts) + f", {counts['same']} unchanged"


def _paths(change: Change) -> str:
    shown = list(change.paths[:_MAX_PATHS])
    if len(change.paths) > _MAX_PATHS:
        shown.append(f"... {len(change.paths) - _MAX_PATHS} more")
    return ", ".join(shown)


def format_text(diff: PlanDiff) -> str:
    """The diff for a terminal: one line per change, dangers marked ``!``."""
    lines = [f"Changes: {summary_line(diff)}"]
    for change in diff.changes:
        mark = "!" if change.danger else " "
        line = f"{mark} {_SYMBOL[change.op]:<2} {change.op:<7} {change.type} {change.name}"
        if change.paths:
            line += f"  [{_paths(change)}]"
        lines.append(line)
        if change.danger or change.op == "replace":
            lines.append(f"      {change.reason}")
    if diff.has_danger:
        lines.append("DANGER: this plan would destroy data or protected resources (marked !).")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_markdown(diff: PlanDiff) -> str:
    """The diff for a pull-request comment: summary, dangers first, then a table."""
    lines = ["### mlplane plan diff", "", f"**{summary_line(diff)}**", ""]
    dangers = [c for c in diff.changes if c.danger]
    if dangers:
        lines.append(":warning: **This plan would destroy data or protected resources:**")
        lines.append("")
        lines.extend(f"- `{c.type}` **{_cell(c.name)}**: {_cell(c.reason)}" for c in dangers)
        lines.append("")
    if diff.changes:
        lines += ["| op | type | name | changed | reason |", "|---|---|---|---|---|"]
        for change in diff.changes:
            op = f"**{change.op}**" if change.danger else change.op
            paths = f"`{_cell(_paths(change))}`" if change.paths else ""
            lines.append(f"| {op} | `{change.type}` | {_cell(change.name)} | {paths} | {_cell(change.reason)} |")
    else:
        lines.append("No changes.")
    return "\n".join(lines) + "\n"


def format_json(diff: PlanDiff) -> str:
    """The diff in its JSON contract form, keys sorted."""
    return json.dumps(diff.to_json(), sort_keys=True, indent=2) + "\n"


def format_diff(diff: PlanDiff, fmt: Format) -> str:
    """Format a diff as text, Markdown or JSON."""
    if fmt == "markdown":
        return format_markdown(diff)
    if fmt == "json":
        return format_json(diff)
    return format_text(diff)
