"""The pull-request workflow of a repository made by ``mlplane init``, its diff step run as GitHub runs it.

The step's own ``run:`` script is taken from the generated preview.yml and run with bash
in the new repository, with the sources cache seeded from ``../shared/upstream`` (beside
the repository, in CI too) instead of fetched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlplane.infra.cli import main

from .conftest import ROOT

SPEC = "mlplane[gcp,policy] @ git+https://git.example.org/platform/mlplane@v0.1.0"
UPSTREAM = ROOT.parent / "shared" / "upstream"
#: Left out of the seeded cache, so the diff has something to say about unexpanded sources.
HELD_BACK = "charts/oauth2-proxy-10.1.0"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo,
                          check=True, capture_output=True, text=True).stdout


def workflow_step(repo: Path, job: str, predicate) -> tuple[dict, dict]:
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "preview.yml").read_text())
    return workflow, next(s for s in workflow["jobs"][job]["steps"] if predicate(s))


def run_step(repo: Path, script: str, tmp: Path, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "PYTHONPATH")}
    environment.update({"PATH": f"{path}{os.pathsep}{os.environ['PATH']}", "PR_NUMBER": "7", "GITHUB_SHA": "f" * 40,
                        "GITHUB_OUTPUT": str(tmp / "output"), "GITHUB_STEP_SUMMARY": str(tmp / "summary"), **env})
    return subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=environment, capture_output=True, text=True,
                          check=False)


def outputs(tmp: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (tmp / "output").read_text().splitlines())


@pytest.mark.slow
def test_diff_step_of_a_new_repository_end_to_end(tmp_path: Path) -> None:
    """init, commit, change two stacks (one invalid), run the diff step: the comment says each."""
    if not UPSTREAM.is_dir():
        pytest.fail(f"no upstream sources at {UPSTREAM} (../shared/upstream beside the repository)")
    repo = tmp_path / "acme-ml"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    assert main(["init", str(repo), "--backend", "dev", "--backend", "gke", "--mlplane-spec", SPEC]) == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "mlplane init")
    base = git(repo, "rev-parse", "HEAD").strip()
    dev = repo / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text().replace("greeting: hello", "greeting: hi"))
    gke = repo / "Pulumi.gke.yaml"
    gke.write_text(gke.read_text().replace("location: europe-west4", "location: ''"))
    shutil.copy(dev, repo / "Pulumi.staging.yaml")  # a stack the workflow does not list
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "change the stacks")
    cache = tmp_path / "cache"
    shutil.copytree(UPSTREAM, cache / "mlplane" / "sources", ignore=lambda folder, names: [
        n for n in names if (Path(folder) / n) == UPSTREAM / HELD_BACK])

    workflow, step = workflow_step(repo, "offline", lambda s: s.get("id") == "diff")
    result = run_step(repo, step["run"], tmp_path, str(Path(sys.executable).parent), BASE_SHA=base,
                      XDG_CACHE_HOME=str(cache), **workflow["env"])
    print(result.stderr[-3000:])
    assert result.returncode == 0, result.stderr
    comment = (repo / "preview" / "comment.md").read_text()
    print(comment)
    dev_part, gke_part = comment.split("### mlplane plan diff: stack `gke`")
    assert dev_part.startswith("### mlplane plan diff: stack `dev`\n")
    assert "`\"print('hello' + ' from ' + 'dev')\"` → `\"print('hi' + ' from ' + 'dev')\"`" in dev_part
    # The diff's own statement of what it could not expand, inside the stack's part of the comment.
    assert "<details><summary>Not expanded (stack `dev`)</summary>" in dev_part
    assert "1 charts/directories not expanded" in dev_part and "platform-auth-oauth2-proxy" in dev_part
    assert "**Bad input (exit 2):** mlplane refuses this stack or change, nothing was diffed" in gke_part
    assert "Pulumi.gke.yaml" in gke_part and "mlplane:cluster.location" in gke_part
    assert "Not diffed: stack `staging` (Pulumi.staging.yaml) is not in MLPLANE_STACKS" in gke_part
    assert f"against the base {base[:12]}" in comment
    assert outputs(tmp_path) == {"danger": "0", "invalid": "1", "crashed": "0"}
    assert (tmp_path / "summary").read_text() == comment
    assert (repo / "preview" / "number").read_text().strip() == "7"


def test_diff_step_tells_danger_bad_input_and_crash_apart(tmp_path: Path) -> None:
    """Each exit code of `mlplane diff` lands in the comment and the check as what it is."""
    repo = tmp_path / "repo"
    assert main(["init", str(repo), "--mlplane-spec", SPEC]) == 0
    shim = tmp_path / "bin"
    shim.mkdir()
    # One stack per outcome: 0 with an unexpanded statement, 1 danger, 2 bad input, 3 crash, 139 killed.
    (shim / "mlplane").write_text(
        '#!/bin/sh\nwhile [ "$1" != "--stack" ]; do shift; done\nstack=$2\necho "### mlplane plan diff: stack '
        '\\`$stack\\`"\ncase $stack in\n'
        '  ok) printf "2 charts/directories not expanded (their sources are not at hand); the plan records them as '
        'one resource each:\\n  a: charts/a-1\\nGet them with \\`mlplane sources fetch --stack ok\\`\\n" >&2; '
        'exit 0 ;;\n'
        '  danger) echo "**danger**"; exit 1 ;;\n'
        '  bad) echo "error: Pulumi.bad.yaml:3: mlplane:cluster.kind: unknown" >&2; exit 2 ;;\n'
        '  crash) echo "internal error (exit 3): KeyError: x" >&2; exit 3 ;;\n'
        '  killed) exit 139 ;;\nesac\n')
    (shim / "mlplane").chmod(0o755)
    workflow, step = workflow_step(repo, "offline", lambda s: s.get("id") == "diff")
    result = run_step(repo, step["run"], tmp_path, str(shim), BASE_SHA="a" * 40,
                      MLPLANE_STACKS="ok danger bad crash killed")
    assert result.returncode == 0, result.stderr
    comment = (repo / "preview" / "comment.md").read_text()
    parts = {stack.split("`")[0]: stack for stack in comment.split("### mlplane plan diff: stack `")[1:]}
    assert "Not expanded (stack `ok`)" in parts["ok"] and "2 charts/directories not expanded" in parts["ok"]
    assert "Get them with `mlplane sources fetch --stack ok`" in parts["ok"]
    assert "**danger**" in parts["danger"] and "Bad input" not in parts["danger"]
    assert "**Bad input (exit 2):**" in parts["bad"] and "mlplane:cluster.kind: unknown" in parts["bad"]
    assert "**mlplane crashed (exit 3):**" in parts["crash"] and "KeyError: x" in parts["crash"]
    assert "**mlplane crashed (exit 139):**" in parts["killed"]
    assert "Not diffed: stack `dev` (Pulumi.dev.yaml)" in comment
    assert outputs(tmp_path) == {"danger": "1", "invalid": "1", "crashed": "1"}

    _, fail = workflow_step(repo, "offline", lambda s: s.get("name", "").startswith("Fail on"))
    for flag, error in [("DANGER", "would delete or replace data"), ("INVALID", "as bad input (exit 2"),
                        ("CRASHED", "mlplane crashed (an internal error, not a danger")]:
        checked = run_step(repo, fail["run"], tmp_path, str(shim), **{flag: "1"})
        assert checked.returncode == 1
        errors = [line for line in checked.stdout.splitlines() if line.startswith("::error::")]
        assert len(errors) == 1 and error in errors[0], errors


def test_sources_cache_key_names_the_release_trains_of_head_and_base(tmp_path: Path) -> None:
    """A release bump keys a new cache holding both trains; a stack without Kubeflow adds none."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    assert main(["init", str(repo), "--backend", "dev", "--backend", "gke", "--mlplane-spec", SPEC]) == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    base = git(repo, "rev-parse", "HEAD").strip()
    gke = repo / "Pulumi.gke.yaml"
    gke.write_text(gke.read_text().replace("release: '26.03'", "release: 1.8.1"))
    workflow, step = workflow_step(repo, "offline", lambda s: s.get("id") == "trains")
    result = run_step(repo, step["run"], tmp_path, str(Path(sys.executable).parent), BASE_SHA=base,
                      RUNNER_TEMP=str(tmp_path), **workflow["env"])
    assert result.returncode == 0, result.stderr
    assert outputs(tmp_path) == {"trains": "1.8.1-26.03"}
    cache = next(s for s in workflow["jobs"]["offline"]["steps"] if s.get("id") == "sources")
    assert cache["with"]["key"].startswith("mlplane-sources-${{ steps.trains.outputs.trains }}-")


def test_a_spec_without_the_stacks_extras_is_written_with_a_warning(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    spec = "mlplane @ git+https://git.example.org/platform/mlplane@v0.1.0"
    assert main(["init", str(tmp_path), "--backend", "aks", "--mlplane-spec", spec]) == 0
    assert (tmp_path / "requirements.txt").read_text().splitlines()[-1] == spec
    assert "--mlplane-spec names no extra azure, policy" in capsys.readouterr().err
