"""Finding a recorded chart's or directory's sources in a folder laid out like ``../shared/upstream``.

The layout (see the upstream folder's README): ``kubeflow-manifests/<ref>/<path>`` for a
directory of ``kubeflow/manifests``, ``charts/<chart>-<version>/`` for a Helm chart as
published, ``remote/<host>/<path>`` for the remote resources some kustomizations read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlplane.components.sources import CHART_TYPE, DIRECTORY_TYPE, upstream_layout_path

EXPANDABLE_TYPES = frozenset({CHART_TYPE, DIRECTORY_TYPE})

# The layout path of a recorded source: components/sources.py is the one mapping.


@dataclass(frozen=True)
class Located:
    """A source found on disk.

    Attributes:
        kind: ``chart`` or ``directory``.
        folder: The chart folder or kustomization directory.
        root: The sources folder it was found in (None for an absolute local folder).
        key: The layout path (``charts/dex-0.24.0``), for messages and the cache key.
    """

    kind: str
    folder: Path
    root: Path | None
    key: str


@dataclass(frozen=True)
class Missing:
    """A source that is in none of the sources folders.

    Attributes:
        key: The layout path that was looked for (or the input that could not be mapped).
        reason: Why it was not expanded.
        others: Other versions/refs of the same source that a ``--sources`` folder holds
            (a version that does not exist there is bad input, not a missing download).
    """

    key: str
    reason: str
    others: tuple[str, ...] = ()


def locate(resource_type: str, inputs: Mapping[str, Any], roots: Sequence[Path]) -> Located | Missing:
    """Find the chart folder or kustomization directory of a recorded resource.

    Args:
        resource_type: ``kubernetes:helm.sh/v4:Chart`` or ``kubernetes:kustomize/v2:Directory``.
        inputs: The recorded inputs.
        roots: Sources folders in the upstream layout, searched in order.
    """
    kind = "chart" if resource_type == CHART_TYPE else "directory"
    key = upstream_layout_path(resource_type, inputs)
    if key is None:
        shown = inputs.get("chart") if kind == "chart" else inputs.get("directory")
        return Missing(str(shown), "its location is not in the upstream layout (a chart name with a version, "
                                   "a kubeflow/manifests `//path?ref=` URL, or a local folder)")
    if key.startswith("/"):
        folder = Path(key)
        if folder.is_dir():
            return Located(kind, folder, None, key)
        return Missing(key, "the local folder does not exist")
    for root in roots:
        folder = root / key
        if folder.is_dir():
            return Located(kind, folder, root, key)
    return Missing(key, "not in the sources folders")


def other_versions(key: str, roots: Sequence[Path]) -> tuple[str, ...]:
    """Versions of the same chart, or refs of the same path, that the folders do hold."""
    parts = key.split("/")
    found: set[str] = set()
    for root in roots:
        if parts[0] == "charts" and len(parts) == 2:
            chart = _chart_name(parts[1])
            if chart is not None and (root / "charts").is_dir():
                found.update(p.name[len(chart) + 1:] for p in (root / "charts").iterdir()
                             if p.is_dir() and _chart_name(p.name) == chart)
        elif parts[0] == "kubeflow-manifests" and len(parts) > 2 and (root / parts[0]).is_dir():
            rest = "/".join(parts[2:])
            found.update(p.name for p in (root / parts[0]).iterdir() if (p / rest).is_dir())
    return tuple(sorted(found))


def _chart_name(folder_name: str) -> str | None:
    """The chart name in ``<chart>-<version>`` (versions start with a digit or ``v<digit>``)."""
    match = re.match(r"^(?P<chart>.+?)-(?P<version>v?\d[^/]*)$", folder_name)
    return match["chart"] if match else None


def remote_copy(url: str, roots: Sequence[Path]) -> Path | None:
    """The local copy of a remote kustomize resource under ``remote/<host>/<path>``, if any.

    ``?ref=`` is dropped (the layout keeps one copy per URL path; the ref is recorded in
    MANIFEST.json) and a ``repo//path`` double slash is read as one.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    path = re.sub(r"/{2,}", "/", parts.path).strip("/")
    for root in roots:
        candidate = root / "remote" / parts.netloc / path
        if candidate.exists():
            return candidate
    return None
