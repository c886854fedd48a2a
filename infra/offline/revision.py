"""Rendering the stack as it was at a git revision, with that revision's own code.

``mlplane diff --base REF`` compares the plan of REF with the plan of the working tree.
Rendering REF's stack file with the working tree's code would hide every change to
mlplane's own code (components, pipelines), so REF is checked out into a temporary
git worktree and rendered there by a separate Python process that imports REF's code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlplane.core.errors import input_error
from mlplane.infra.offline.plan import Plan, load_plan
from mlplane.infra.offline.revision_env import environments_folder, pinned_requirement, runner_for

_REF_ALLOWED = "a branch, tag or commit of this repository, e.g. origin/main or HEAD~1"


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise input_error("command line", "--base", "git is not installed", value="git",
                          allowed="a machine with git on its PATH") from None


def resolve_revision(root: Path, ref: str) -> tuple[Path, str]:
    """The repository's top folder and the commit ``ref`` names.

    Raises:
        InputError: ``root`` is not in a git repository, or ``ref`` names no commit.
    """
    top = _git(root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise input_error(str(root), "--base", "the project is not in a git repository", value=ref,
                          allowed="run mlplane diff --base inside a git checkout")
    if ref.startswith("-"):
        raise input_error("command line", "--base", "not a git revision", value=ref, allowed=_REF_ALLOWED)
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise input_error("command line", "--base", "no such git revision", value=ref, allowed=_REF_ALLOWED)
    return Path(top.stdout.strip()), commit.stdout.strip()


@contextmanager
def checked_out(top: Path, commit: str) -> Iterator[Path]:
    """A temporary detached worktree of ``commit``, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="mlplane-base-"))
    tree = folder / "tree"
    added = _git(top, "worktree", "add", "--detach", "--quiet", str(tree), commit)
    if added.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise input_error("command line", "--base", f"cannot check the revision out: {added.stderr.strip()}",
                          value=commit, allowed=_REF_ALLOWED)
    try:
        yield tree
    finally:
        _git(top, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(folder, ignore_errors=True)
        _git(top, "worktree", "prune")


#: The top-level folders that mlplane installs as ``mlplane.<folder>`` (setup.py).
_PACKAGE_FOLDERS = ("core", "infra", "components", "pipelines", "policy")


def _revision_code(tree: Path, base_root: Path) -> tuple[str, list[str]]:
    """The CLI module to run for the revision checked out at ``tree``, and its import path.

    The revision's ``pyproject.toml`` says which module its ``mlplane`` command runs.
    Revisions from before the package move run ``infra.cli`` from the checkout's root;
    later ones run ``mlplane.infra.cli``, whose folders are made importable under the
    ``mlplane`` namespace by a folder of links put first on the path (the installed
    mlplane, the working tree's code, must not answer for them).
    """
    try:
        scripts = tomllib.loads((tree / "pyproject.toml").read_text()).get("project", {}).get("scripts", {})
    except (OSError, tomllib.TOMLDecodeError):
        scripts = {}
    module = str(scripts.get("mlplane", "infra.cli:main")).partition(":")[0]
    if not module.startswith("mlplane."):
        return module, [str(base_root)]
    links = tree.parent / "namespace" / "mlplane"
    links.mkdir(parents=True, exist_ok=True)
    for folder in _PACKAGE_FOLDERS:
        if (tree / folder).is_dir():
            (links / folder).symlink_to(tree / folder, target_is_directory=True)
    return module, [str(links.parent), str(base_root)]


def render_at_revision(root: Path, ref: str, stack: str, config_file: Path | None,
                       sources: Path | None = None) -> tuple[Plan, str]:
    """The plan of ``stack`` (or ``config_file``) as ``ref`` renders it, with ``ref``'s mlplane.

    In mlplane's own repository that is ``ref``'s code. In a platform team's repository
    it is the mlplane ``ref``'s requirements.txt pins (in a cached environment), or the
    installed one where ``ref`` pins the same or that one cannot be installed (then the
    note warns and names both versions).

    Args:
        root: The project root in the working tree.
        ref: A git revision of the project's repository.
        stack: The stack name (used when ``config_file`` is None).
        config_file: A stack file; inside the repository, ``ref``'s version of it is used.
        sources: The upstream sources folder the working tree's render expands from; the
            revision's render expands from it too, so both sides are compared alike.

    Returns:
        The plan, and a note for the reader (which commit, which mlplane; a stack new since ``ref``).

    Raises:
        InputError: Not a git repository, an unknown revision, or the render at ``ref`` failed.
    """
    top, commit = resolve_revision(root, ref)
    short = commit[:12]
    with checked_out(top, commit) as tree:
        base_root = tree / root.resolve().relative_to(top.resolve())
        if config_file is not None:
            resolved = config_file.resolve()
            try:
                stack_file = base_root / resolved.relative_to(root.resolve())
            except ValueError:  # outside the project: the same file on both sides
                stack_file = resolved
            target = ["--config-file", str(stack_file)]
        else:
            stack_file = base_root / f"Pulumi.{stack}.yaml"
            target = ["--stack", stack]
        if not (base_root / "Pulumi.yaml").is_file() or not stack_file.is_file():
            empty = Plan(project="mlplane", stack=stack)
            return empty, f"{ref} ({short}) has no {stack_file.name}: everything shows as create.\n"
        if sources is not None:
            target += ["--sources", str(sources.resolve())]
        out = tree.parent / "render"
        if _is_mlplane_checkout(tree):
            module, code_path = _revision_code(tree, base_root)
            python, described, warning = sys.executable, "its own code", None
        else:
            runner = runner_for(pinned_requirement(base_root), pinned_requirement(root), environments_folder())
            module, code_path = "mlplane.infra.cli", [str(base_root)]  # the project folder first, as Pulumi runs it
            python, described, warning = runner.python, runner.description, runner.warning
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [*code_path, os.environ.get("PYTHONPATH")]))}
        env.pop("FORCE_COLOR", None)
        result = subprocess.run([python, "-m", module, "render", *target, "--out", str(out)],
                                cwd=base_root, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise input_error("command line", "--base", f"rendering the stack at {ref} failed: {detail}",
                              value=ref, allowed="a revision whose stack renders")
        note = f"Compared with {ref} ({short}), rendered with {described}.\n"
        if warning:
            note = f"WARNING: {ref}: {warning}.\n" + note
        return load_plan(out), note


def _is_mlplane_checkout(tree: Path) -> bool:
    """Whether the revision is of mlplane's own repository (its pyproject names the project mlplane)."""
    try:
        project = tomllib.loads((tree / "pyproject.toml").read_text()).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return project.get("name") == "mlplane"
