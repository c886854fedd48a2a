"""The CLI on a platform team's own repository: its project, its stacks, its URNs, its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlplane.infra.cli as cli_module
from mlplane.infra.cli import main

from .conftest import ROOT


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A team's repository: its own project name, a stack not named like mlplane's, a pipelines/ folder."""
    repo = tmp_path / "acme-ml"
    (repo / "pipelines").mkdir(parents=True)
    (repo / "Pulumi.yaml").write_text("name: acme-ml\nruntime: python\n")
    (repo / "Pulumi.acme-dev.yaml").write_text((ROOT / "Pulumi.dev.yaml").read_text())
    # The team's own pipelines package must not shadow mlplane's (nor be shadowed by it).
    (repo / "pipelines" / "__init__.py").write_text("")
    monkeypatch.chdir(repo)
    return repo


def test_a_stack_of_the_teams_project_renders_with_its_project_name(acme: Path) -> None:
    out = acme / "out"
    assert main(["render", "--stack", "acme-dev", "--out", str(out)]) == 0
    document = json.loads((out / "plan.json").read_text())
    assert document["project"] == "acme-ml" and document["stack"] == "acme-dev"
    assert all(r["urn"].startswith("urn:pulumi:acme-dev::acme-ml::") for r in document["resources"])


def test_cwd_finds_the_project_from_elsewhere(acme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["render", "--cwd", str(acme / "pipelines"), "--stack", "acme-dev", "--out", str(tmp_path / "o")]) == 0
    assert json.loads((tmp_path / "o" / "plan.json").read_text())["project"] == "acme-ml"


def test_an_unknown_stack_names_the_projects_own_stacks(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--stack", "onprem"]) == 2
    err = capsys.readouterr().err
    assert f"{acme / 'Pulumi.onprem.yaml'}: --stack: unknown stack (got 'onprem'; allowed: acme-dev)" in err
    assert not (acme / "build").exists()


def test_outside_any_project_the_error_says_how_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["render"]) == 2
    err = capsys.readouterr().err
    assert "not inside a Pulumi project (no Pulumi.yaml here or in any folder above)" in err
    assert "--cwd DIR" in err and "mlplane init" in err
    assert main(["render", "--cwd", str(tmp_path / "nope")]) == 2
    assert "--cwd: not a folder" in capsys.readouterr().err


def in_project(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script as the team runs it in its repository (the project folder first on the path)."""
    return subprocess.run([sys.executable, "-m", "mlplane.infra.cli", *args], cwd=repo, capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHONPATH": str(repo)})


def test_an_old_module_path_names_the_new_one(acme: Path) -> None:
    stack = acme / "Pulumi.acme-dev.yaml"
    stack.write_text(stack.read_text().replace("source: mlplane.pipelines.mnist:", "source: pipelines.mnist:"))
    result = in_project(acme, "render", "--stack", "acme-dev", "--out", str(acme / "out"))
    assert result.returncode == 2, result.stderr
    assert "mlplane:pipelines[0].source: pipeline 'mnist': cannot find module 'pipelines.mnist'" in result.stderr
    assert "use `mlplane.pipelines.mnist`" in result.stderr and not (acme / "out").exists()


def test_the_teams_own_pipelines_package_is_theirs(acme: Path) -> None:
    (acme / "pipelines" / "mnist.py").write_text(
        "from mlplane.pipelines import mnist\n"
        "from mlplane.pipelines.native import pipeline\n\n\n"
        "@pipeline\n"
        "def mnist_pipeline(context, train_steps: str = '77', serve_host: str = '', ui_host: str = '',\n"
        "                   host_profiles: str = ''):\n"
        "    return mnist.mnist_pipeline(context, train_steps=train_steps, serve_host=serve_host, ui_host=ui_host,\n"
        "                                host_profiles=host_profiles)\n")
    stack = acme / "Pulumi.acme-dev.yaml"
    stack.write_text(stack.read_text().replace("source: mlplane.pipelines.mnist:", "source: pipelines.mnist:"))
    result = in_project(acme, "render", "--stack", "acme-dev", "--out", str(acme / "out"))
    assert result.returncode == 0, result.stderr
    assert '"77"' in (acme / "out" / "plan.json").read_text()


def test_an_internal_error_exits_3_with_the_traceback_in_a_file(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)

    def broken(args):  # type: ignore[no-untyped-def]
        raise KeyError("something mlplane did not expect")

    monkeypatch.setitem(cli_module._COMMANDS, "render", broken)
    monkeypatch.delenv("MLPLANE_DEBUG", raising=False)
    assert main(["render"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("internal error (exit 3): KeyError:") and len(err.strip().splitlines()) == 1
    path = Path(err.split("the traceback is in ", 1)[1].split(". This is a bug", 1)[0])
    try:
        assert "Traceback (most recent call last)" in path.read_text() and "def broken" not in err
        assert path.stat().st_mode & 0o077 == 0, "the traceback file is private"
    finally:
        path.unlink()


def test_a_crash_is_not_a_danger_for_a_ci_script(tmp_path: Path) -> None:
    """The console script exits 3 on an internal error, never 1 (what --fail-on-danger uses)."""
    bad_plan = tmp_path / "plan.json"
    bad_plan.write_text(json.dumps({"version": 1, "project": "p", "stack": "s", "resources": [{"urn": 5}]}))
    result = subprocess.run([sys.executable, "-m", "mlplane.infra.cli", "diff", str(bad_plan), str(bad_plan),
                             "--fail-on-danger"], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode in (2, 3), result.stderr  # bad input or internal error, never 0 or 1
    assert "Traceback" not in result.stderr


# -- diff --base in the team's repository: REF rendered with the mlplane REF pins --

def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo,
                          check=True, capture_output=True, text=True).stdout


def committed(repo: Path, requirement: str) -> None:
    (repo / "requirements.txt").write_text(f"{requirement}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"pin {requirement}")


@pytest.fixture
def acme_repo(acme: Path, tmp_path: Path) -> Path:
    git(acme, "init", "-q", "-b", "main")
    return acme


def test_base_in_the_teams_repository_compares_its_own_revisions(acme_repo: Path) -> None:
    committed(acme_repo, "mlplane")
    stack = acme_repo / "Pulumi.acme-dev.yaml"
    stack.write_text(stack.read_text().replace("        ui_host: mnist-ui.localtest.me\n",
                                               "        ui_host: mnist-ui.localtest.me\n        train_steps: \"401\"\n"))
    assert '"401"' in stack.read_text(), "the dev stack passes params to the MNIST pipeline"
    result = in_project(acme_repo, "diff", "--base", "main", "--stack", "acme-dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    values = [v for c in json.loads(result.stdout)["changes"] for v in c["values"]]
    assert any(v.get("before") == "200" and v.get("after") == "401" for v in values)


def test_base_that_pins_an_uninstallable_mlplane_warns_and_names_both_versions(
        acme_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-mlplane"
    committed(acme_repo, f"mlplane @ file://{missing}")
    (acme_repo / "requirements.txt").write_text("mlplane\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = in_project(acme_repo, "diff", "--base", "main", "--stack", "acme-dev")
    assert result.returncode == 0, result.stderr
    from importlib import metadata

    assert f"the revision pins `mlplane @ file://{missing}`, which could not be installed" in result.stdout
    assert f"rendered with the installed mlplane {metadata.version('mlplane')} instead" in result.stdout
    assert not list((tmp_path / "cache" / "mlplane" / "envs").glob("*/.complete"))


@pytest.mark.slow
def test_base_renders_with_the_mlplane_the_revision_pins(acme_repo: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """REF pins another mlplane (a copy whose MNIST default differs): its env renders REF."""
    import shutil

    other = tmp_path / "mlplane-other"
    for name in ("core", "infra", "components", "pipelines", "policy"):
        shutil.copytree(ROOT / name, other / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, other / name)
    mnist = other / "pipelines" / "mnist.py"
    mnist.write_text(mnist.read_text().replace('learning_rate: str = "0.01"', 'learning_rate: str = "0.02"'))
    committed(acme_repo, f"mlplane @ file://{other}")
    (acme_repo / "requirements.txt").write_text("mlplane\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = in_project(acme_repo, "diff", "--base", "main", "--stack", "acme-dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    values = [v for c in json.loads(result.stdout)["changes"] for v in c["values"]]
    assert any(v.get("before") == "0.02" and v.get("after") == "0.01" for v in values), values[:5]
    assert len(list((tmp_path / "cache" / "mlplane" / "envs").glob("*/.complete"))) == 1
