"""The mlplane a revision of a platform team's repository pins, in a cached environment.

``mlplane diff --base REF`` in a team's repository renders REF's stack with the mlplane
REF's ``requirements.txt`` names (the one ``pulumi install`` would have installed for
REF), so an mlplane upgrade in a pull request shows as the plan change it causes. Each
pinned requirement gets one virtual environment under
``$XDG_CACHE_HOME/mlplane/envs/<hash>/``, made once and reused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

#: The file a Pulumi Python project installs from (``pulumi install``).
REQUIREMENTS = "requirements.txt"


@dataclass(frozen=True)
class Runner:
    """How to run the ``mlplane`` command of one mlplane version.

    Attributes:
        python: The interpreter.
        description: Which mlplane it is, for the reader.
        warning: Set where the pinned version could not be had and the installed one runs.
    """

    python: str
    description: str
    warning: str | None = None


def pinned_requirement(project: Path) -> str | None:
    """The requirement line naming mlplane in ``project``'s requirements.txt, or None.

    Lines are read as pip reads a requirement (``mlplane[gcp] @ git+https://...@v1.2.0``,
    ``mlplane==1.2.0``); options (``-e``, ``-r``) and comments are skipped.
    """
    try:
        lines = (project / REQUIREMENTS).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith(("#", "-")):
            continue
        try:
            if Requirement(text).name.lower() == "mlplane":
                return text
        except InvalidRequirement:
            continue
    return None


def installed_version() -> str:
    """The version of the mlplane running now."""
    try:
        return metadata.version("mlplane")
    except metadata.PackageNotFoundError:
        return "unknown"


def runner_for(pinned: str | None, current: str | None, cache: Path) -> Runner:
    """The mlplane to render a revision with.

    Args:
        pinned: The revision's requirement line for mlplane (None: it names none).
        current: The working tree's (None: it names none).
        cache: The folder that holds the cached environments.

    Returns:
        The installed mlplane where the revision pins the same requirement as the
        working tree (or none); else an environment with the pinned one; where that
        cannot be made, the installed one with a warning naming both versions.
    """
    here = Runner(sys.executable, f"the installed mlplane {installed_version()}")
    if pinned is None or pinned == current:
        return here
    try:
        python = _environment(pinned, cache)
    except EnvironmentFailure as exc:
        return Runner(sys.executable, here.description,
                      warning=f"the revision pins `{pinned}`, which could not be installed ({exc}); it was rendered "
                              f"with the installed mlplane {installed_version()} instead, so changes that come from "
                              "mlplane's own code between the two versions do not show")
    return Runner(python, f"`{pinned}`, as the revision pins it")


class EnvironmentFailure(RuntimeError):
    """A pinned mlplane could not be installed (the message says why, in pip's last words)."""


def _environment(requirement: str, cache: Path) -> str:
    folder = cache / hashlib.sha256(requirement.encode()).hexdigest()[:16]
    python = folder / "bin" / "python"
    if (folder / ".complete").is_file() and python.is_file():
        return str(python)
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    steps = ([sys.executable, "-m", "venv", str(folder)],
             [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement])
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False,
                                env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        if result.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise EnvironmentFailure(last)
    (folder / ".complete").write_text(requirement + "\n", encoding="utf-8")
    return str(python)


def environments_folder() -> Path:
    """Where the cached environments live: ``$XDG_CACHE_HOME/mlplane/envs``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlplane" / "envs"
