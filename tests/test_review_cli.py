"""The review commands as a user runs them: --version, colour, the tree on request, --base, the workflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from mlplane.infra.cli import main
from mlplane.infra.load import load_stack_file
from mlplane.infra.prerequisites import format_prerequisites, prerequisites

from .conftest import ROOT
from .plans import job, plan, pvc

PYTHON = sys.executable
COLOUR = "\x1b["


def code_path(project: Path) -> str:
    """A PYTHONPATH under which ``mlplane.*`` is the copy of mlplane at ``project``.

    As ``pip install -e`` in that copy would make it: the test repositories below are
    copies of mlplane whose own code (changed in the working tree) must be what renders.
    """
    if project == ROOT:
        return str(ROOT)
    links = project.parent / f"{project.name}-code" / "mlplane"
    if not links.is_dir():
        links.mkdir(parents=True)
        for folder in ("core", "infra", "components", "pipelines", "policy"):
            (links / folder).symlink_to(project / folder, target_is_directory=True)
    return str(links.parent)


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TERM")}
    environment["PYTHONPATH"] = code_path(cwd) if (cwd / "infra").is_dir() else str(cwd)
    environment.update(env or {})
    return subprocess.run([PYTHON, "-m", "mlplane.infra.cli", *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, check=False)


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"mlplane {metadata.version('mlplane')}"


@pytest.fixture
def plans(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(plan(job(), pvc()).to_json_text())
    new.write_text(plan(job(args=("--steps", "500"))).to_json_text())
    return old, new


def test_piped_output_has_no_colour_and_a_terminal_gets_it(plans: tuple[Path, Path]) -> None:
    old, new = plans
    piped = cli("diff", str(old), str(new))
    assert piped.returncode == 0 and COLOUR not in piped.stdout
    assert piped.stdout.startswith("Changes: 0 to create, 0 to update, 1 to replace, 1 to delete")
    coloured = cli("diff", str(old), str(new), env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert COLOUR + "31m" in coloured.stdout or COLOUR + "1;31m" in coloured.stdout  # danger in red
    assert coloured.stdout.replace(COLOUR, "") != piped.stdout
    # NO_COLOR wins over a terminal: no colour codes (30-37, 90-97, 38;5), plain text intact.
    uncoloured = cli("diff", str(old), str(new), env={"FORCE_COLOR": "1", "NO_COLOR": "1", "TERM": "xterm"})
    import re

    assert not re.search(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;5;\d+)m", uncoloured.stdout)
    assert '"200" → "500"' in uncoloured.stdout


def test_markdown_and_json_are_never_coloured(plans: tuple[Path, Path]) -> None:
    old, new = plans
    for fmt in ("markdown", "json"):
        result = cli("diff", str(old), str(new), "--format", fmt, env={"FORCE_COLOR": "1"})
        assert COLOUR not in result.stdout
    assert json.loads(cli("diff", str(old), str(new), "--format", "json").stdout)["summary"]["delete"] == 1


def test_diff_needs_two_plans_or_base(capsys: pytest.CaptureFixture[str], plans: tuple[Path, Path]) -> None:
    assert main(["diff"]) == 2
    assert "two plans to compare, or --base REF, are needed" in capsys.readouterr().err
    old, new = plans
    assert main(["diff", str(old), "--base", "HEAD"]) == 2
    assert main(["diff", str(old), str(new), "--stack", "dev"]) == 2


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.dev.yaml").write_text((ROOT / "Pulumi.dev.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_preview_prints_the_tree_only_without_baseline_or_on_request(isolated: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "--save"]) == 0
    first = capsys.readouterr().out
    assert "pulumi:pulumi:Stack  mlplane-dev" in first  # no baseline yet: the tree
    assert main(["preview"]) == 0
    second = capsys.readouterr().out
    # The unexpanded statement, two summary lines and the prerequisites, nothing else.
    prerequisites_text = format_prerequisites(prerequisites(load_stack_file(isolated / "Pulumi.dev.yaml",
                                                                            stack="dev")), "dev")
    assert "pulumi:pulumi:Stack" not in second and prerequisites_text in second
    assert len(second.splitlines()) < 5 + len(prerequisites_text.splitlines())
    # What the diff cannot see comes first: the dev stack's sources are not at hand here.
    assert "charts/directories not expanded (none of them changes)" in second.splitlines()[1]
    assert second.splitlines()[2].startswith("Changes: 0 to create, 0 to update")
    assert main(["preview", "--tree"]) == 0
    assert "pulumi:pulumi:Stack  mlplane-dev" in capsys.readouterr().out


# -- mlplane diff --base, and the pull-request workflow, on a temporary git repository --

PROJECT = ("core", "infra", "components", "pipelines", "policy", "Pulumi.yaml", "Pulumi.dev.yaml", "pyproject.toml",
           "README.md")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of mlplane whose working tree changes mlplane's own code (train_steps 200 → 500)."""
    repo = tmp_path_factory.mktemp("repo")
    for name in PROJECT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "base")
    mnist = repo / "pipelines" / "mnist.py"
    text = mnist.read_text()
    assert text.count('train_steps: str = "200"') == 1
    mnist.write_text(text.replace('train_steps: str = "200"', 'train_steps: str = "500"'))
    return repo


@pytest.mark.slow
def test_base_renders_the_revision_with_its_own_code(repo: Path) -> None:
    result = cli("diff", "--base", "main", "--stack", "dev", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)["changes"]
    values = [v for c in changes for v in c["values"] if v.get("before") == "200" and v.get("after") == "500"]
    assert values, "the code change (train_steps 200 → 500) must show"
    train = next(c for c in changes if any(v in values for v in c["values"]))
    assert train["op"] == "replace" and train["type"] == "kubernetes:batch/v1:Job"
    # The README's old recipe (the base's stack file rendered with the head's code) shows nothing.
    base_file = repo / "as-of-main" / "Pulumi.dev.yaml"
    base_file.parent.mkdir()
    base_file.write_text(git(repo, "show", "main:Pulumi.dev.yaml"))
    assert cli("render", "--config-file", str(base_file), "--out", str(repo / "old"), cwd=repo).returncode == 0
    assert cli("render", "--stack", "dev", "--out", str(repo / "new"), cwd=repo).returncode == 0
    naive = json.loads(cli("diff", str(repo / "old"), str(repo / "new"), "--format", "json", cwd=repo).stdout)
    assert naive["changes"] == []
    assert not git(repo, "worktree", "list").strip().count("\n"), "the temporary worktree is removed"


def test_base_refuses_an_unknown_revision(repo: Path) -> None:
    result = cli("diff", "--base", "no-such-branch", "--stack", "dev", cwd=repo)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--base: no such git revision (got 'no-such-branch'" in result.stderr


WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = ROOT / "node_modules" / "@tktco" / "node-actionlint"


def actionlint(*files: Path) -> list[dict]:
    if shutil.which("node") is None or not ACTIONLINT.is_dir():
        pytest.fail("actionlint is not installed: run `npm ci` in the project (the README's test command does)")
    result = subprocess.run(["node", str(ROOT / "tests" / "tools" / "actionlint.cjs"), *map(str, files)],
                            capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_workflows_pass_actionlint() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"preview.yml", "preview-comment.yml"}
    assert actionlint(*files) == []


def test_actionlint_fails_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = (WORKFLOWS / "preview.yml").read_text()
    broken.write_text(text.replace("steps.diff.outputs.danger == '1'", "steps.dif.outputs.danger == '1'")
                      .replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    timeout-minutes: soon", 1))
    messages = [f["message"] for f in actionlint(broken)]
    assert any('property "dif" is not defined' in m for m in messages), messages
    assert any("float number literal, but found plain text" in m for m in messages), messages  # timeout-minutes


def test_actions_are_pinned_to_commits() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            if "uses:" in line:
                reference = line.split("uses:", 1)[1].split("#")[0].strip()
                assert len(reference.split("@", 1)[1]) == 40, (path.name, line)
                assert "# v" in line, (path.name, line)  # the tag, for people


def test_pulumi_preview_runs_only_with_its_secret_and_comments_once() -> None:
    workflow = yaml.safe_load((WORKFLOWS / "preview.yml").read_text())
    job = workflow["jobs"]["pulumi-preview"]
    assert job["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    action = next(s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert action["if"] == "env.PULUMI_ACCESS_TOKEN != ''"
    assert action["with"]["command"] == "preview" and action["with"]["comment-on-pr"] is True
    assert action["with"]["edit-pr-comment"] is True
    comment = yaml.safe_load((WORKFLOWS / "preview-comment.yml").read_text())
    sticky = next(s for s in comment["jobs"]["comment"]["steps"] if "sticky-pull-request-comment" in s.get("uses", ""))
    assert sticky["with"]["header"] and sticky["with"]["path"] == "preview/comment.md"
    # The trigger names the preview workflow by its name.
    assert comment[True]["workflow_run"]["workflows"] == [workflow["name"]]


@pytest.mark.slow
def test_workflow_comment_body_end_to_end(repo: Path, tmp_path: Path) -> None:
    """Run preview.yml's diff step as GitHub would, on the fixture change, and read the comment."""
    workflow = yaml.safe_load((WORKFLOWS / "preview.yml").read_text())
    step = next(s for s in workflow["jobs"]["offline"]["steps"] if s.get("id") == "diff")
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "mlplane").write_text(f"#!/bin/sh\nexec {PYTHON} -m mlplane.infra.cli \"$@\"\n")
    (shim / "mlplane").chmod(0o755)
    output, summary = tmp_path / "output", tmp_path / "summary"
    base = git(repo, "rev-parse", "main").strip()
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    environment.update({"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": code_path(repo),
                        "BASE_SHA": base, "PR_NUMBER": "42", "GITHUB_SHA": "f" * 40,
                        # The workflow's env, for the one stack this test repository has.
                        "MLPLANE_STACKS": "dev", "MLPLANE_EXTRAS": "",
                        "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)})
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=environment, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    comment = (repo / "preview" / "comment.md").read_text()
    assert comment.startswith("### mlplane plan diff: stack `dev`\n")
    assert '`"200"` → `"500"`' in comment and "```mermaid" in comment
    assert f"against the base {base[:12]}" in comment
    assert (repo / "preview" / "number").read_text().strip() == "42"
    assert output.read_text().split() == ["danger=0", "invalid=0", "crashed=0"]
    assert summary.read_text() == comment
    assert len(comment) < 65_536  # one GitHub comment
