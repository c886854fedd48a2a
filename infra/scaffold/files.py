"""What ``mlplane init`` writes, checked as a whole before anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlplane.core.errors import input_error
from mlplane.infra.project import PROJECT_FILE
from mlplane.infra.scaffold.backends import BACKENDS, DEFAULT_BACKEND
from mlplane.infra.scaffold.requirement import mlplane_requirement
from mlplane.infra.scaffold.stackfile import stack_file_text
from mlplane.infra.scaffold.templates import template
from mlplane.infra.scaffold.workflows import cloud_extras, workflow_texts

#: Pulumi's project names: letters, digits, '-', '_' and '.', at most 100 (pulumi/pulumi,
#: sdk/go/common/tokens/names.go, IsName); mlplane's CLI reads them with the same rule.
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
PROJECT_NAME_ALLOWED = "letters, digits, '-', '_' and '.', at most 100 characters"
#: Files whose presence means a Pulumi project is there already (Pulumi reads either name).
PROJECT_FILES = (PROJECT_FILE, "Pulumi.yml")


@dataclass(frozen=True)
class ScaffoldOptions:
    """What ``mlplane init`` was asked for.

    Attributes:
        target: The repository's folder (created if missing).
        project_name: ``--project-name``; None: the folder's name.
        backends: ``--backend`` values in order; empty: the default (dev).
        mlplane_spec: ``--mlplane-spec``: the pip requirement for mlplane; None: how it is installed here.
    """

    target: Path
    project_name: str | None = None
    backends: tuple[str, ...] = ()
    mlplane_spec: str | None = None


def plan_files(options: ScaffoldOptions) -> tuple[dict[str, str], str]:
    """Every file of the new repository (relative path -> text), and a warning ("" for none).

    Raises:
        InputError: A Pulumi project is in the folder, the project name or a backend is
            invalid, or a file would be overwritten; nothing is written.
    """
    target = options.target
    for name in PROJECT_FILES:
        if (target / name).exists():
            raise input_error(str(target / name), "mlplane init", "a Pulumi project is already here", value=str(target),
                              allowed="an empty folder or one without a Pulumi project (add stacks to this one by "
                                      "hand, or init another folder)")
    project = options.project_name if options.project_name is not None else target.resolve().name
    if not _PROJECT_NAME.fullmatch(project) or project.strip(".") == "":
        raise input_error("command line", "--project-name", "not a valid Pulumi project name"
                          + ("" if options.project_name is not None else " (it is the folder's name)"),
                          value=project, allowed=PROJECT_NAME_ALLOWED)
    backends = list(dict.fromkeys(options.backends or (DEFAULT_BACKEND,)))
    for backend in backends:
        if backend not in BACKENDS:
            raise input_error("command line", "--backend", "unknown backend", value=backend,
                              allowed=", ".join(BACKENDS))
    extras = [*cloud_extras(backends), "policy"]
    requirement, warning = mlplane_requirement(extras, options.mlplane_spec)
    files = {
        PROJECT_FILE: template("Pulumi.yaml", PROJECT=project),
        "__main__.py": template("__main__.py"),
        "requirements.txt": template("requirements.txt", REQUIREMENT=requirement),
        ".gitignore": template("gitignore"),
        "pipelines/__init__.py": template("pipelines/__init__.py"),
        "pipelines/hello.py": template("pipelines/hello.py"),
        "policy/PulumiPolicy.yaml": template("policy/PulumiPolicy.yaml"),
        "policy/__main__.py": template("policy/__main__.py"),
    }
    for name in backends:
        backend = BACKENDS[name]
        files[f"Pulumi.{name}.yaml"] = stack_file_text(backend.title, backend.config, backend.replace)
    for name, text in workflow_texts({b: b for b in backends}).items():
        files[f".github/workflows/{name}"] = text
    for relative in files:
        if (target / relative).exists() or (target / relative).is_symlink():
            raise input_error(str(target / relative), "mlplane init", "refusing to overwrite an existing file",
                              value=relative, allowed="a folder without it (move it away, or init another folder)")
    return files, warning


def scaffold(options: ScaffoldOptions) -> tuple[list[str], str]:
    """Write the repository; returns the files written (relative paths) and a warning ("" for none).

    Raises:
        InputError: As :func:`plan_files` (nothing written), or the folder cannot be written.
    """
    files, warning = plan_files(options)
    try:
        for relative, text in files.items():
            path = options.target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as handle:  # "x": never overwrite, even in a race
                handle.write(text)
    except OSError as exc:
        raise input_error(str(options.target), "mlplane init", f"cannot write the repository: {exc.strerror or exc}",
                          value=str(options.target), allowed="a folder mlplane may create and write") from None
    return list(files), warning
