"""Locating the Pulumi project (the folder with ``Pulumi.yaml``) and its stack files."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mlplane.core.errors import input_error

PROJECT_FILE = "Pulumi.yaml"
#: Pulumi's own rule for stack names.
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
#: What a stack name may be, for messages.
STACK_NAME_ALLOWED = "letters, digits, '-', '_' and '.', at most 100 characters, not only dots"
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def project_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder up from ``start`` (default: cwd) with Pulumi.yaml.

    Falls back to the folder this package was installed from (an editable install),
    so ``mlplane`` works from anywhere inside or outside the checkout.

    Raises:
        InputError: No Pulumi project can be found.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file() and _is_mlplane_project(folder / PROJECT_FILE):
            return folder
    if (_PACKAGE_ROOT / PROJECT_FILE).is_file():
        return _PACKAGE_ROOT
    raise input_error(str(here), "", "not inside the mlplane project (no Pulumi.yaml found)", has_value=False,
                      allowed="run mlplane from the project folder, or pass --config-file")


def _is_mlplane_project(path: Path) -> bool:
    try:
        return any(line.strip() == "name: mlplane" for line in path.read_text(encoding="utf-8").splitlines())
    except OSError:
        return False


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
