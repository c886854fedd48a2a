"""``mlplane sources``: which sources of a stack are at hand, and filling the cache from the network.

``status`` is offline: it locates every chart and directory of the stack's plan in the
sources folders. ``fetch`` downloads what is missing into the cache's ``sources/``
folder, in the layout of ``../shared/upstream``: charts with Helm's SDK (``helm pull``),
their archive checked against the ``digest`` the repository's ``index.yaml`` publishes;
kubeflow/manifests with ``git clone --branch <ref>``. Remote resources that a
kustomization reads are listed, not fetched: copy them under ``remote/<host>/<path>``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlplane.infra.offline.expand.kustomize import remote_entries
from mlplane.infra.offline.expand.locate import CHART_TYPE, EXPANDABLE_TYPES, Located, Missing, locate, remote_copy
from mlplane.infra.offline.plan import Plan

MANIFESTS_GIT = "https://github.com/kubeflow/manifests"


class FetchError(RuntimeError):
    """A source could not be downloaded or did not match its published digest."""


@dataclass(frozen=True)
class SourceStatus:
    """One chart or directory of a stack and where its sources are.

    Attributes:
        name: The chart's or directory's Pulumi name.
        type: Its type token.
        found: Where it was found, or why not.
        remotes_missing: Remote resources its kustomization reads that no folder holds.
    """

    name: str
    type: str
    found: Located | Missing
    remotes_missing: tuple[str, ...] = ()


def status(plan: Plan, roots: Sequence[Path]) -> list[SourceStatus]:
    """Where each chart and directory of ``plan`` is in ``roots`` (offline)."""
    found = []
    for resource in plan:
        if resource.type in EXPANDABLE_TYPES:
            where = locate(resource.type, resource.inputs, roots)
            remotes: tuple[str, ...] = ()
            if isinstance(where, Located) and where.kind == "directory":
                remotes = tuple(sorted({url for _, url in remote_entries(where.folder) if remote_copy(url, roots) is None}))
            found.append(SourceStatus(resource.name, resource.type, where, remotes))
    return found


def format_status(entries: Sequence[SourceStatus]) -> str:
    """The status as lines: present/missing, name, layout path and where."""
    lines = []
    for entry in entries:
        where = entry.found
        if isinstance(where, Located):
            lines.append(f"present  {entry.name}  {where.key}  ({where.root or 'local folder'})")
            lines.extend(f"  missing remote resource {url} (copy it under remote/<host>/<path>)"
                         for url in entry.remotes_missing)
        else:
            lines.append(f"missing  {entry.name}  {where.key}  ({where.reason})")
    present = sum(isinstance(e.found, Located) for e in entries)
    lines.append(f"{present} of {len(entries)} charts/directories present")
    return "\n".join(lines) + "\n"


def fetch(plan: Plan, cache: Path) -> list[str]:
    """Download every chart and kubeflow/manifests ref of ``plan`` missing from ``cache``.

    Returns:
        What was fetched, as layout paths.

    Raises:
        FetchError: A download failed or an archive did not match its digest.
    """
    done: list[str] = []
    for resource in plan:
        if resource.type not in EXPANDABLE_TYPES:
            continue
        where = locate(resource.type, resource.inputs, (cache,))
        if not isinstance(where, Missing) or where.key.startswith(("/", "http")):
            continue
        target = cache / where.key
        if resource.type == CHART_TYPE:
            _fetch_chart(str(resource.inputs["chart"]), str(resource.inputs["version"]),
                         (resource.inputs.get("repositoryOpts") or {}).get("repo"), target)
            done.append(where.key)
        else:
            ref_folder = cache / Path(where.key).parts[0] / Path(where.key).parts[1]
            if not ref_folder.exists():
                _clone(Path(where.key).parts[1], ref_folder)
                done.append(str(ref_folder.relative_to(cache)))
    return done


def _fetch_chart(chart: str, version: str, repository: str | None, target: Path) -> None:
    try:
        import helm_python
    except ImportError:
        raise FetchError("Helm's Go SDK is not installed (pip install 'mlplane[expand]')") from None
    with tempfile.TemporaryDirectory(prefix="mlplane-fetch-") as scratch:
        try:
            helm_python.pull(chart, version=version, repo_url=repository, destination=scratch)
        except helm_python.HelmError as exc:
            raise FetchError(f"helm pull {chart} {version}: {exc}") from None
        archives = sorted(Path(scratch).glob("*.tgz"))
        if len(archives) != 1:
            raise FetchError(f"helm pull {chart} {version} left {len(archives)} archives")
        if repository:
            _check_digest(archives[0], chart, version, repository)
        unpacked = Path(scratch) / "unpacked"
        helm_python.expand(unpacked, archives[0])
        folders = [p for p in unpacked.iterdir() if p.is_dir()]
        if len(folders) != 1:
            raise FetchError(f"{archives[0].name} does not hold one chart folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folders[0]), target)


def _check_digest(archive: Path, chart: str, version: str, repository: str) -> None:
    """Compare the archive's sha256 with the ``digest`` of the repository's index entry."""
    try:
        with urllib.request.urlopen(f"{repository.rstrip('/')}/index.yaml", timeout=30) as response:  # noqa: S310
            index = yaml.safe_load(response.read())
    except (OSError, yaml.YAMLError) as exc:
        raise FetchError(f"cannot read {repository}/index.yaml to verify {chart} {version}: {exc}") from None
    entries = [e for e in (index.get("entries") or {}).get(chart, []) if str(e.get("version")) == version]
    published = entries[0].get("digest") if entries else None
    if published:
        actual = hashlib.sha256(archive.read_bytes()).hexdigest()
        if actual != published:
            raise FetchError(f"{chart} {version}: archive sha256 {actual} differs from the published digest "
                             f"{published}")


def _clone(ref: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlplane-fetch-", dir=target.parent) as scratch:
        result = subprocess.run(  # noqa: S603 - fixed command
            ["git", "clone", "--quiet", "--depth", "1", "--branch", ref, MANIFESTS_GIT, f"{scratch}/tree"],
            capture_output=True, text=True, check=False, timeout=600,
        )
        if result.returncode != 0:
            raise FetchError(f"git clone {MANIFESTS_GIT} at {ref}: {result.stderr.strip()}")
        shutil.rmtree(Path(scratch) / "tree" / ".git", ignore_errors=True)
        Path(scratch, "tree").rename(target)
