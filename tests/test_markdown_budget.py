"""``mlplane diff --format markdown --max-chars N``: the whole comment within N characters, nothing cut.

A diff with dangers, a cost-free graph section, mlplane's own rows and a chart's group,
with names and values in several scripts (multi-code-point characters), is rendered at
many limits: the output never exceeds the limit, every line of it is a whole line of the
full report (or the line that counts what was left out), and the Markdown structures stay
whole (``<details>`` closed, Mermaid fences paired, every table row under its header).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from mlplane.infra.cli import main
from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.report import BudgetTooSmall
from mlplane.infra.offline.sections import markdown_report
from tests.plans import component, deployment, job, plan, pvc, under

NOTE = "Compared with .mlplane/baselines/t.json."


def _pair():
    chart = component("kubernetes:helm.sh/v4:Chart", "cert-manager", chart="cert-manager", version="v1.19.4")
    old = [chart, pvc("données-été", protect=True), pvc("数据集", protect=True), pvc("🙂-scratch", protect=True)]
    new = [chart]
    for i in range(25):
        old.append(job(f"train-{i}", args=("--note", "naïve café 日本語 " * (i % 4))))
        new.append(job(f"train-{i}", args=("--note", "émoji 🙂🚀 中文 " * (1 + i % 3))))
        old.append(under(chart, deployment(f"cm-{i}", image="quay.io/x:v1.19.3", selector=f"cm-{i}")))
        new.append(under(chart, deployment(f"cm-{i}", image="quay.io/x:v1.19.4 ✓", selector=f"cm-{i}")))
    return plan(*old), plan(*new)


@pytest.fixture(scope="module")
def diff():
    return diff_plans(*_pair())


def _check_structure(text: str) -> None:
    assert text.count("<details") == text.count("</details>")
    assert text.count("```") % 2 == 0
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("| ") and not line.startswith("| op |"):
            above = lines[:index]
            last_header = max(i for i, l in enumerate(above) if l.startswith("| op |"))
            assert all(l.startswith("|") for l in lines[last_header:index]), "a row outside its table"


def test_the_full_report_fits_its_own_length_and_not_one_less(diff) -> None:
    full = markdown_report(diff, 10**9, NOTE)
    assert markdown_report(diff, len(full), NOTE) == full
    shorter = markdown_report(diff, len(full) - 1, NOTE)
    assert len(shorter) <= len(full) - 1 and "not shown here" in shorter


def test_every_limit_is_honoured_and_nothing_is_cut(diff) -> None:
    full = markdown_report(diff, 10**9, NOTE)
    whole = set(full.splitlines())
    assert any(ord(c) > 0xFFFF for c in full)  # astral characters (emoji) are in it
    minimum = None
    for limit in range(len(full), 0, -37):
        try:
            text = markdown_report(diff, limit, NOTE)
        except BudgetTooSmall as exc:
            minimum = exc.minimum
            assert limit < exc.minimum
            continue
        assert len(text) <= limit, (limit, len(text))
        assert text.endswith(f"_{NOTE}_\n")
        for line in text.splitlines():
            assert line in whole or line.startswith("… not shown here (a comment has a size limit): "), line
        _check_structure(text)
        text.encode("utf-8")  # whole code points only
    assert minimum is not None and minimum < 400  # the head alone: title, summary, note, the count line


@pytest.mark.parametrize("limit", [600, 1_500, 4_000, 9_000])
def test_what_is_left_out_is_counted(diff, limit: int) -> None:
    full = markdown_report(diff, 10**9, NOTE)
    text = markdown_report(diff, limit, NOTE)
    assert len(text) <= limit
    rows = lambda t: sum(1 for l in t.splitlines() if l.startswith("| ") and not l.startswith("| op |"))  # noqa: E731
    dangers = lambda t: sum(1 for l in t.splitlines() if l.startswith("- `"))  # noqa: E731
    footer = [l for l in text.splitlines() if l.startswith("… not shown here")]
    assert len(footer) == 1
    said = footer[0]
    missing_rows = rows(full) - rows(text)
    if missing_rows:
        assert f"{missing_rows} more change" in said
    missing_dangers = dangers(full) - dangers(text)
    if missing_dangers:
        assert f"{missing_dangers} danger" in said
    if "```mermaid" in full and "```mermaid" not in text:
        assert "the graph section" in said


def test_the_cli_honours_max_chars_and_refuses_one_too_small(tmp_path: Path) -> None:
    old, new = _pair()
    (tmp_path / "old.json").write_text(old.to_json_text())
    (tmp_path / "new.json").write_text(new.to_json_text())
    for limit in (700, 2_345, 5_000):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--format", "markdown",
                         "--max-chars", str(limit)])
        assert code == 0, err.getvalue()
        assert 0 < len(out.getvalue()) <= limit
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--format", "markdown",
                     "--max-chars", "40"])
    assert code == 2 and out.getvalue() == ""
    assert "command line: --max-chars: too small for this diff's title, summary and note (got 40; allowed: at least" \
        in err.getvalue()
    json.loads((tmp_path / "new.json").read_text())  # nothing was written over the inputs


def test_max_chars_with_another_format_is_refused_not_ignored(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A limit the text or JSON output would not keep exits 2 instead of printing an unbounded diff."""
    for fmt in ("text", "json"):
        assert main(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--format", fmt,
                     "--max-chars", "1000"]) == 2
        assert f"--max-chars: only bounds a Markdown diff, not --format {fmt}" in capsys.readouterr().err


def test_preview_refuses_max_chars_with_text_before_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "--stack", "dev", "--max-chars", "1000"]) == 2
    assert "--max-chars: only bounds a Markdown diff, not --format text" in capsys.readouterr().err
