"""The release change summary block: each component's version before → after, and upstream's supported step.

Shown near the top of the text and Markdown reports whenever a component's version
changes (a release change, or a component pinned to another version); the JSON form is
the diff's ``release`` key (:meth:`infra.offline.diff.PlanDiff.to_json`). A change that
skips a supported step is marked ``!`` and its danger says which versions lie between
and the way through.
"""

from __future__ import annotations

from rich.text import Text

from mlplane.infra.offline.diff import PlanDiff
from mlplane.infra.offline.upgrades import ComponentChange

TITLE = "Release change (each component's version before → after; upstream's supported upgrade step)"


def _first_url(change: ComponentChange) -> str:
    """The page that says the step (for a replaced component, the last cited: its migration guide)."""
    sources = change.step.source.split("; ")
    return (sources[-1] if change.before_title else sources[0]).split(" ", 1)[0]


def _step(change: ComponentChange) -> str:
    """Upstream's step, or, where another project replaces the component, what that means."""
    if change.before_title and change.step.major_change:
        return f"{change.title} replaces {change.before_title}: a migration, not an upgrade"
    return change.step.step


def release_text(diff: PlanDiff) -> Text | None:
    """The block for the terminal, or None when no component's version changes."""
    if not diff.components:
        return None
    out = Text()
    out.append(f"{TITLE}:\n", style="bold")
    for change in diff.components:
        out.append("!" if change.danger else " ", style="bold red")
        out.append(f" {change.line()}", style="bold" if change.danger else "")
        out.append(f": {_step(change)} ({_first_url(change)})\n", style="dim")
        if change.danger:
            out.append(f"     DANGER: {change.danger}\n", style="bold red")
    return out


def release_markdown(diff: PlanDiff) -> str:
    """The block as a Markdown table ("" when no component's version changes)."""
    if not diff.components:
        return ""
    lines = [f"#### {TITLE}", "", "| component | before | after | upstream's supported step |", "|---|---|---|---|"]
    for change in diff.components:
        mark = ":warning: " if change.danger else ""
        title = change.title if not change.before_title else f"{change.before_title} → {change.title}"
        step = _step(change).replace("|", "\\|")
        lines.append(f"| {mark}{title} | {change.before or '—'} | {change.after or '—'} | "
                     f"[{step}]({_first_url(change)}) |")
    return "\n".join(lines) + "\n"


def release_dangers(diff: PlanDiff) -> list[str]:
    """The component changes that skip a supported step, one line each (for the danger list)."""
    return [c.danger for c in diff.components if c.danger]
