"""Locating the Pulumi project (the folder with ``Pulumi.yaml``) and its stack files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from mlplane.core.errors import input_error

PROJECT_FILE = "Pulumi.yaml"
#: Pulumi's own rule for stack names.
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
#: Project names mlplane accepts: the characters Pulumi allows in names, no '/' (it goes into URNs and paths).
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
#: What a stack name may be, for messages.
STACK_NAME_ALLOWED = "letters, digits, '-', '_' and '.', at most 100 characters, not only dots"


def project_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder up from ``start`` (default: cwd) with Pulumi.yaml.

    Any Pulumi project is one, whatever its name: a platform team's own repository
    (made by ``mlplane init``) as much as mlplane's. As with the Pulumi CLI, ``--cwd DIR``
    changes where the search starts.

    Raises:
        InputError: No Pulumi.yaml in ``start`` or any folder above it.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise input_error(str(here), "", f"not inside a Pulumi project (no {PROJECT_FILE} here or in any folder above)",
                      has_value=False, allowed="run mlplane inside your project, pass --cwd DIR, or pass "
                                               "--config-file; `mlplane init` makes a project")


def enclosing_root(folder: Path) -> Path:
    """The project above ``folder``, or ``folder`` itself where no Pulumi.yaml is above it.

    A stack file outside any project (``--config-file /tmp/Pulumi.x.yaml``) stands alone:
    its own folder is where relative paths and its baseline live.
    """
    resolved = folder.resolve()
    return next((f for f in (resolved, *resolved.parents) if (f / PROJECT_FILE).is_file()), resolved)


def project_name(root: Path) -> str:
    """The ``name:`` of the project's Pulumi.yaml (part of every URN); ``mlplane`` where it has none.

    Raises:
        InputError: Pulumi.yaml cannot be read or its name is not a string.
    """
    path = root / PROJECT_FILE
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise input_error(str(path), "name", f"cannot read the project file: {exc}", has_value=False,
                          allowed="a Pulumi.yaml with `name: <project>`") from None
    name = document.get("name", "mlplane") if isinstance(document, dict) else None
    if not isinstance(name, str) or not _PROJECT_NAME.fullmatch(name):
        raise input_error(str(path), "name", "not a valid Pulumi project name", value=name,
                          allowed="letters, digits, '-', '_' and '.', at most 100 characters")
    return name


def is_stack_name(name: str) -> bool:
    """Whether ``name`` can be a stack name.

    Pulumi's rule, and not only dots: the name goes into every URN and names the render's
    default folder (``build/<stack>``) and baseline file, which must stay inside the project.
    """
    return bool(_STACK_NAME.fullmatch(name)) and name.strip(".") != ""


def stack_file(root: Path, stack: str) -> Path:
    """The stack file of a stack: ``<root>/Pulumi.<stack>.yaml``."""
    return root / f"Pulumi.{stack}.yaml"


def available_stacks(root: Path) -> list[str]:
    """The stacks that have a stack file in the project root, sorted."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def relative_to_project(path: Path, root: Path) -> str:
    """A path as the engine (which runs in the project root) should see it.

    Paths inside the project become relative, so plans do not depend on where the
    checkout lives; paths outside stay absolute.
    """
    resolved = path.resolve()
    try:
        return os.path.relpath(resolved, root.resolve()) if resolved.is_relative_to(root.resolve()) else str(resolved)
    except ValueError:
        return str(resolved)
