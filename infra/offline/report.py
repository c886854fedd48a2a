"""Showing a diff to people (text, Markdown for pull requests) and to machines (JSON).

The text and Markdown forms put the summary first, then the dangers, then each change
with its changed values (``old → new``, cut around the change when long, secrets as
``[secret]``); objects expanded from a Helm chart or kustomize directory are listed
under their source. The JSON form keeps every value whole (masked).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Literal

from rich.text import Text

from infra.offline.diff import OPS, Change, PlanDiff, ValueChange

Format = Literal["text", "markdown", "json"]

_SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
_STYLE = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red"}
_MAX_VALUES = 8
_SOURCE_KIND = {"kubernetes:helm.sh/v4:Chart": "Helm chart", "kubernetes:kustomize/v2:Directory": "kustomize directory"}
#: GitHub refuses comments over 65,536 characters; the table stops well before.
MARKDOWN_BUDGET = 50_000


def summary_line(diff: PlanDiff) -> str:
    """``3 to create, 1 to update, 0 to replace, 0 to delete, 12 unchanged``."""
    counts = diff.summary()
    parts = [f"{counts[op]} to {op}" for op in OPS]
    return ", ".join(parts) + f", {counts['same']} unchanged"


def source_label(urn: str) -> str:
    """``Helm chart cert-manager`` for a chart's URN."""
    type_ = urn.rsplit("::", 2)[-2].rsplit("$", 1)[-1] if "::" in urn else ""
    return f"{_SOURCE_KIND.get(type_, 'source')} {urn.rsplit('::', 1)[-1]}"


def grouped(diff: PlanDiff) -> tuple[list[Change], dict[str, list[Change]]]:
    """The changes of mlplane's own resources, and those of expanded objects by source URN."""
    own: list[Change] = []
    by_source: dict[str, list[Change]] = defaultdict(list)
    for change in diff.changes:
        (by_source[change.source] if change.source else own).append(change)
    return own, dict(sorted(by_source.items()))


def _shown_values(change: Change) -> tuple[list[ValueChange], int]:
    values = list(change.values[:_MAX_VALUES])
    return values, len(change.values) - len(values)


def _title(change: Change) -> str:
    if change.old_name and change.old_name != change.name:
        return f"{change.old_name} → {change.name}"
    return change.name


# -- text ------------------------------------------------------------------------------

def _text_change(out: Text, change: Change, indent: str) -> None:
    from infra.offline.shown import elided

    style = _STYLE[change.op]
    out.append("!" if change.danger else " ", style="bold red")
    out.append(f" {indent}{_SYMBOL[change.op]:<2} {change.op:<7} ", style=style)
    out.append(f"{change.type} ", style="dim")
    out.append(_title(change), style="bold")
    out.append("\n")
    values, more = _shown_values(change)
    for value in values:
        before, after = elided(value.before, value.after)
        out.append(f"   {indent}     {value.path}: ", style="cyan")
        out.append(before, style="red")
        out.append(" → ")
        out.append(after, style="green")
        out.append("\n")
    if more:
        out.append(f"   {indent}     … {more} more changed paths\n", style="dim")
    if change.danger or change.op == "replace" or change.renamed_from:
        out.append(f"   {indent}     {change.reason}\n", style="bold red" if change.danger else "magenta")


def text_report(diff: PlanDiff, extra: Text | None = None, list_changes: bool = True) -> Text:
    """The diff for a terminal, styled (colour is dropped where the terminal has none).

    Args:
        diff: The diff to show.
        extra: Sections to show after the summary (the accelerator cost).
        list_changes: False when the tree above already shows every change (no baseline).
    """
    out = Text()
    out.append("Changes: ", style="bold")
    out.append(summary_line(diff) + "\n", style="bold")
    dangers = [c for c in diff.changes if c.danger]
    if dangers:
        out.append(f"DANGER: this plan would destroy data or protected resources ({len(dangers)}, marked !).\n",
                   style="bold red")
    if extra is not None:
        out.append_text(extra)
    if not list_changes:
        return out
    own, by_source = grouped(diff)
    for change in own:
        _text_change(out, change, "")
    for source, changes in by_source.items():
        out.append(f"  {source_label(source)}: {len(changes)} changed object{'s' if len(changes) != 1 else ''}\n",
                   style="bold")
        for change in changes:
            _text_change(out, change, "   ")
    return out


def format_text(diff: PlanDiff, extra: Text | None = None) -> str:
    """The diff for a terminal as plain text: summary, dangers, changes with their values."""
    return text_report(diff, extra).plain


# -- markdown --------------------------------------------------------------------------

def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Inline code that survives backticks and pipes inside the value."""
    text = _cell(text)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _markdown_values(change: Change) -> str:
    from infra.offline.shown import elided

    values, more = _shown_values(change)
    lines = []
    for value in values:
        before, after = elided(value.before, value.after)
        lines.append(f"{_code(value.path)}: {_code(before)} → {_code(after)}")
    if more:
        lines.append(f"… {more} more")
    if change.op == "replace" or change.danger or change.renamed_from:
        lines.append(_cell(change.reason))
    return "<br>".join(lines)


def _markdown_row(change: Change) -> str:
    op = f"**{change.op}**" if change.danger else change.op
    mark = ":warning: " if change.danger else ""
    return f"| {mark}{op} | {_code(change.type)} | {_cell(_title(change))} | {_markdown_values(change)} |"


_HEADER = ["| op | type | name | changed values |", "|---|---|---|---|"]


def format_markdown(diff: PlanDiff, sections: list[str] | None = None, budget: int | None = None) -> str:
    """The diff for a pull-request comment: summary, dangers, extra sections, the changes.

    Args:
        diff: The diff to show.
        sections: Markdown blocks shown after the dangers (cost, the graph of the change).
        budget: The most characters in all (default :data:`MARKDOWN_BUDGET`); change rows
            past it are counted, not shown.
    """
    budget = MARKDOWN_BUDGET if budget is None else budget
    stack = f": stack `{diff.stack}`" if diff.stack else ""
    lines = [f"### mlplane plan diff{stack}", "", f"**{summary_line(diff)}**", ""]
    dangers = [c for c in diff.changes if c.danger]
    if dangers:
        lines.append(":warning: **This plan would destroy data or protected resources:**")
        lines.append("")
        lines.extend(f"- `{c.type}` **{_cell(c.name)}**: {_cell(c.reason)}" for c in dangers)
        lines.append("")
    for section in sections or []:
        lines += [section.rstrip("\n"), ""]
    if not diff.changes:
        lines.append("No changes.")
        return "\n".join(lines) + "\n"
    own, by_source = grouped(diff)
    used = sum(len(line) + 1 for line in lines)
    left_out = 0

    def add_rows(rows: list[str], changes: list[Change]) -> None:
        nonlocal used, left_out
        for change in changes:
            row = _markdown_row(change)
            if used + len(row) > budget:
                left_out += 1
                continue
            rows.append(row)
            used += len(row) + 1

    if own:
        rows: list[str] = []
        add_rows(rows, own)
        if rows:
            lines += _HEADER + rows + [""]
    for source, changes in by_source.items():
        rows = []
        add_rows(rows, changes)
        if not rows:
            continue
        count = f"{len(changes)} changed object{'s' if len(changes) != 1 else ''}"
        lines += [f"<details><summary>{_cell(source_label(source))}: {count}</summary>", "", *_HEADER, *rows,
                  "", "</details>", ""]
    if left_out:
        lines.append(f"… {left_out} more changes are not shown here (a comment has a size limit); "
                     "`mlplane diff --base <ref>` shows them all.")
    return "\n".join(lines).rstrip("\n") + "\n"


# -- json ------------------------------------------------------------------------------

def format_json(diff: PlanDiff, extra: dict | None = None) -> str:
    """The diff in its JSON contract form, keys sorted, values whole (secrets masked)."""
    document = diff.to_json()
    if extra:
        document.update(extra)
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def format_diff(diff: PlanDiff, fmt: Format) -> str:
    """Format a diff as text, Markdown or JSON (without the cost or graph sections)."""
    if fmt == "markdown":
        return format_markdown(diff)
    if fmt == "json":
        return format_json(diff)
    return format_text(diff)
