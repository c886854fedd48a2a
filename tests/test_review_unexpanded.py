"""What a diff cannot see: charts and directories that were not expanded, said first in every format.

A chart whose sources were not at hand is one resource in the plan; the objects it
installs, and their dangers, are not there. Each format states it at its top (text: the
first line; Markdown: right under the title; JSON: the ``unexpanded`` key), with the
command that brings the sources, and ``--fail-on-danger`` fails on a changed unexpanded
source unless ``--allow-unexpanded`` is given.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlplane.infra.cli import main
from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.report import format_markdown, format_text

from .plans import component, deployment, plan, under


def _chart(version: str, expanded: bool, name: str = "cert-manager"):
    chart = component("kubernetes:helm.sh/v4:Chart", name, chart=name, version=version)
    return (chart, under(chart, deployment(name, image=f"{name}:{version}"))) if expanded else (chart,)


def _pair(expanded: bool, version_after: str = "v1.12.3"):  # a patch: no upgrade step skipped
    old = plan(*_chart("v1.12.2", expanded), *_chart("1.17.3", True, "istiod"))
    new = plan(*_chart(version_after, expanded), *_chart("1.17.3", True, "istiod"))
    return old, new


def test_every_format_states_the_unexpanded_sources_first() -> None:
    diff = diff_plans(*_pair(expanded=False))
    line = ("1 of 2 charts/directories not expanded (1 of them change): what they install is unchecked, its "
            "dangers included. Fix: `mlplane sources fetch --stack t` (or --sources DIR), then diff again.")
    assert diff.unexpanded.line() == line
    assert format_text(diff).splitlines()[0] == f"UNCHECKED: {line}"
    assert format_markdown(diff).splitlines()[2] == f":grey_question: **Unchecked:** {line}"
    document = json.loads(json.dumps(diff.to_json()))
    assert document["unexpanded"] == {
        "count": 1, "total": 2, "changed": ["urn:pulumi:t::mlplane::kubernetes:helm.sh/v4:Chart::cert-manager"],
        "sources": ["urn:pulumi:t::mlplane::kubernetes:helm.sh/v4:Chart::cert-manager"], "statement": line,
        "fix": "mlplane sources fetch --stack t"}


def test_a_changed_unexpanded_source_fails_unless_allowed() -> None:
    diff = diff_plans(*_pair(expanded=False))
    assert not diff.has_danger and diff.fails() and not diff.fails(allow_unexpanded=True)
    unchanged = diff_plans(*_pair(expanded=False, version_after="v1.12.2"))
    assert unchanged.unexpanded.count == 1 and not unchanged.unexpanded.changed and not unchanged.fails()
    assert "(none of them changes)" in unchanged.unexpanded.line()


def test_expanded_sources_are_said_checked() -> None:
    diff = diff_plans(*_pair(expanded=True))
    assert diff.unexpanded.count == 0 and not diff.fails()
    assert diff.unexpanded.line() == "All 2 charts/directories expanded: the objects they install are checked."
    assert format_text(diff).startswith("All 2 charts/directories expanded")
    # Plans without any chart or directory have nothing to state.
    assert diff_plans(plan(), plan()).unexpanded.line() == ""
    assert format_text(diff_plans(plan(), plan())).startswith("Changes:")


@pytest.mark.parametrize(("flags", "code"), [([], 0), (["--fail-on-danger"], 1),
                                             (["--fail-on-danger", "--allow-unexpanded"], 0)])
def test_fail_on_danger_counts_changed_unexpanded_sources(tmp_path: Path, flags: list[str], code: int,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _pair(expanded=False)
    (tmp_path / "old.json").write_text(old.to_json_text(), encoding="utf-8")
    (tmp_path / "new.json").write_text(new.to_json_text(), encoding="utf-8")
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--format", "json", *flags]) == code
    assert json.loads(capsys.readouterr().out)["unexpanded"]["count"] == 1
