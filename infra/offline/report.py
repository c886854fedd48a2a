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

from mlplane.infra.offline.diff import OPS, Change, PlanDiff, ValueChange
from mlplane.infra.offline.release_report import release_dangers, release_markdown, release_text

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
    from mlplane.infra.offline.shown import elided

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
    if change.danger or change.op == "replace" or change.renamed_from or change.protected:
        out.append(f"   {indent}     {change.reason}\n", style="bold red" if change.danger else "magenta")
    if change.hint:
        out.append(f"   {indent}     hint: {change.hint}\n", style="cyan")


def text_report(diff: PlanDiff, extra: Text | None = None, list_changes: bool = True) -> Text:
    """The diff for a terminal, styled (colour is dropped where the terminal has none).

    Args:
        diff: The diff to show.
        extra: Sections to show after the summary (the accelerator cost).
        list_changes: False when the tree above already shows every change (no baseline).
    """
    out = Text()
    unchecked = diff.unexpanded.line()
    if unchecked:
        out.append(("UNCHECKED: " if diff.unexpanded.count else "") + unchecked + "\n",
                   style="bold yellow" if diff.unexpanded.count else "dim")
    out.append("Changes: ", style="bold")
    out.append(summary_line(diff) + "\n", style="bold")
    dangers = [c for c in diff.changes if c.danger] + release_dangers(diff)
    if dangers:
        out.append(f"DANGER: {danger_count(diff)} (marked !).\n", style="bold red")
    for warning in diff.warnings:
        out.append(f"WARNING: {warning}\n", style="bold yellow")
    release = release_text(diff)
    if release is not None:
        out.append_text(release)
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
    from mlplane.infra.offline.shown import elided

    values, more = _shown_values(change)
    lines = []
    for value in values:
        before, after = elided(value.before, value.after)
        lines.append(f"{_code(value.path)}: {_code(before)} → {_code(after)}")
    if more:
        lines.append(f"… {more} more")
    if change.op == "replace" or change.danger or change.renamed_from or change.protected:
        lines.append(_cell(change.reason))
    if change.hint:
        lines.append(f"hint: {_cell(change.hint)}")
    return "<br>".join(lines)


def _markdown_row(change: Change) -> str:
    op = f"**{change.op}**" if change.danger else change.op
    mark = ":warning: " if change.danger else ""
    return f"| {mark}{op} | {_code(change.type)} | {_cell(_title(change))} | {_markdown_values(change)} |"


_HEADER = ["| op | type | name | changed values |", "|---|---|---|---|"]


class BudgetTooSmall(ValueError):
    """A character budget below what the report's head (title, summary, note) needs.

    Attributes:
        minimum: The smallest budget that holds the head and the "not shown" line.
    """

    def __init__(self, minimum: int) -> None:
        super().__init__(f"at least {minimum} characters are needed")
        self.minimum = minimum


Section = str | tuple[str, str]


def _lines_size(lines: list[str]) -> int:
    # An upper bound of len("\n".join(lines).rstrip("\n") + "\n"): exact unless the last lines are blank.
    return sum(len(line) + 1 for line in lines)


def _not_shown(dangers: int, sections: list[str], changes: int) -> str:
    parts = ([f"{dangers} danger{'s' if dangers != 1 else ''}"] if dangers else []) + \
        [f"the {name} section" for name in sections] + \
        ([f"{changes} more change{'s' if changes != 1 else ''}"] if changes else [])
    return (f"… not shown here (a comment has a size limit): {', '.join(parts)}; "
            "`mlplane diff --base <ref>` shows them all.")


def _fit(lines: list[str], frame: int, used: int, limit: int) -> tuple[list[str], int]:
    """The ``lines`` that fit within ``limit`` after ``used`` characters, in order, with the
    new total; the first one shown also pays for its ``frame`` (a heading, a table's head)."""
    shown: list[str] = []
    for line in lines:
        cost = len(line) + 1 + (0 if shown else frame)
        if used + cost <= limit:
            shown.append(line)
            used += cost
    return shown, used


def format_markdown(diff: PlanDiff, sections: list[Section] | None = None, budget: int | None = None,
                    note: str = "") -> str:
    """The diff for a pull-request comment: summary, dangers, extra sections, the changes.

    The whole text, note included, is at most ``budget`` characters (Unicode code points,
    as GitHub counts a comment's length). What does not fit is left out whole, never cut:
    a danger line, a section (a Mermaid block cut in half does not render), a table row,
    a group's ``<details>``; a last line counts what was left out. Dangers go before
    sections, sections before change rows.

    Args:
        diff: The diff to show.
        sections: Markdown blocks shown after the dangers (cost, the graph of the change),
            each a text or ``(name, text)``; the name says what was left out.
        budget: The most characters in all (default :data:`MARKDOWN_BUDGET`).
        note: A line in italics at the end (e.g. what the diff was compared with).

    Raises:
        BudgetTooSmall: ``budget`` cannot hold the title, the summary, the note and the
            "not shown" line.
    """
    budget = MARKDOWN_BUDGET if budget is None else budget
    named = [("release change", release_markdown(diff))]
    named += [(s, s) if isinstance(s, str) else s for s in sections or []]
    named = [(name, text) for name, text in named if text]
    stack = f": stack `{diff.stack}`" if diff.stack else ""
    head = [f"### mlplane plan diff{stack}", ""]
    unchecked = diff.unexpanded.line()
    if unchecked:  # what this comment cannot vouch for, before anything it shows
        head += [f":grey_question: **Unchecked:** {_cell(unchecked)}" if diff.unexpanded.count
                 else f"_{_cell(unchecked)}_", ""]
    head += [f"**{summary_line(diff)}**", ""]
    for warning in diff.warnings:  # a risk of the whole change: never left out
        head += [f":warning: **{_cell(warning)}**", ""]
    tail = ["", f"_{_cell(note.strip())}_"] if note.strip() else []
    dangers = [f"- **upgrade step**: {_cell(d)}" for d in release_dangers(diff)]
    dangers += [f"- `{c.type}` **{_cell(c.name)}**: {_cell(c.reason)}" for c in diff.changes if c.danger]
    own, by_source = grouped(diff) if diff.changes else ([], {})
    groups: list[tuple[list[str], list[str], list[str]]] = []  # (opening lines, rows, closing lines)
    if own:
        groups.append((list(_HEADER), [_markdown_row(c) for c in own], [""]))
    for source, changes in by_source.items():
        count = f"{len(changes)} changed object{'s' if len(changes) != 1 else ''}"
        groups.append(([f"<details><summary>{_cell(source_label(source))}: {count}</summary>", "", *_HEADER],
                       [_markdown_row(c) for c in changes], ["", "</details>", ""]))

    def assemble(limit: int) -> tuple[list[str], int, list[str], int]:
        """Lines within ``limit`` (the tail excluded), with what was left out."""
        lines = list(head)
        used = _lines_size(lines)
        # The title, a blank line before and after the list.
        shown_dangers, used = _fit(dangers, _lines_size([_DANGER_TITLE, "", ""]), used, limit)
        if shown_dangers:
            lines += [_DANGER_TITLE, "", *shown_dangers, ""]
        left_sections = []
        for name, text in named:
            block = [text.rstrip("\n"), ""]
            if used + _lines_size(block) <= limit:
                lines += block
                used += _lines_size(block)
            else:
                left_sections.append(name)
        if not diff.changes:
            lines.append("No changes.")
            return lines, len(dangers) - len(shown_dangers), left_sections, 0
        left_rows = 0
        for opening, rows, closing in groups:
            shown, used = _fit(rows, _lines_size(opening) + _lines_size(closing), used, limit)
            left_rows += len(rows) - len(shown)
            if shown:
                lines += [*opening, *shown, *closing]
        return lines, len(dangers) - len(shown_dangers), left_sections, left_rows

    body = _lines_size(tail)
    lines, *left = assemble(budget - body)
    if any(left):
        # Room for the line that says what was left out, as long as it can get.
        longest = _not_shown(len(dangers), [name for name, _ in named], sum(len(rows) for _, rows, _ in groups))
        minimum = _lines_size(head) + len(longest) + 1 + body
        if minimum > budget:
            raise BudgetTooSmall(minimum)
        lines, dangers_left, sections_left, rows_left = assemble(budget - body - len(longest) - 1)
        lines.append(_not_shown(dangers_left, sections_left, rows_left))
    elif _lines_size(head) + body > budget:
        raise BudgetTooSmall(_lines_size(head) + body)
    return "\n".join(lines + tail).rstrip("\n") + "\n"


_DANGER_TITLE = ":warning: **Dangers (data and availability):**"


def danger_count(diff: PlanDiff) -> str:
    """``5: 3 upgrade steps skipped, 2 losses of data`` (by kind, most first); ``1 loss of data`` for one kind."""
    kinds: dict[str, int] = {}
    for change in diff.changes:
        if change.danger:
            kinds[change.danger_kind or "data"] = kinds.get(change.danger_kind or "data", 0) + 1
    if release_dangers(diff):
        kinds["upgrade"] = len(release_dangers(diff))
    total = sum(kinds.values())
    parts = ", ".join(f"{count} {DANGER_KINDS[kind][count != 1]}"
                      for kind, count in sorted(kinds.items(), key=lambda item: (-item[1], item[0])))
    return parts if len(kinds) == 1 else f"{total}: {parts}"


#: How a danger of each kind is counted (one, several).
DANGER_KINDS = {
    "data": ("loss of data", "losses of data"),
    "crd": ("CRD deleted with its objects", "CRDs deleted with their objects"),
    "namespace": ("namespace deleted with its volumes", "namespaces deleted with their volumes"),
    "upgrade": ("upgrade step skipped", "upgrade steps skipped"),
}


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
