"""Where mlplane keeps sources and expansions on a user's machine, and the expansion cache.

``$XDG_CACHE_HOME/mlplane`` (default ``~/.cache/mlplane``) holds ``sources/`` (in the
layout of ``../shared/upstream``, filled by ``mlplane sources fetch``) and
``expansions/<digest>.json``: the objects one chart or directory expanded to, keyed by a
digest of what the expansion reads (the source files' paths and contents), the values, the namespace and the release name. A second render of the same
stack reads these files instead of running Helm or kustomize again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Bumped when the engine's output for the same input changes (invalidates old entries).
ENGINE_REVISION = 2  # 2: a directory's Secret literals are masked as [published default]


def cache_home() -> Path:
    """``$XDG_CACHE_HOME/mlplane``, or ``~/.cache/mlplane``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlplane"


def sources_cache() -> Path:
    """The sources folder of the cache (same layout as ``../shared/upstream``)."""
    return cache_home() / "sources"


def expansions_cache() -> Path:
    """The folder of cached expansions."""
    return cache_home() / "expansions"


_fingerprints: dict[Path, str] = {}


def tree_fingerprint(folder: Path) -> str:
    """A digest of every file's relative path and content below ``folder``.

    Content, not modification times: a copy or a fresh checkout of the same sources hits
    the cache. Hashing a release's kustomize tree (~6 MB) takes a few tens of
    milliseconds; kept for the life of the process (a render is one process).
    """
    folder = folder.resolve()
    cached = _fingerprints.get(folder)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    for directory, subfolders, files in os.walk(folder):
        subfolders.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as stream:
                    content = hashlib.sha256(stream.read()).hexdigest()
            except OSError:
                continue
            digest.update(f"{os.path.relpath(path, folder)}\0{content}\n".encode())
    _fingerprints[folder] = digest.hexdigest()
    return _fingerprints[folder]


def expansion_key(kind: str, trees: Sequence[Path], values: Mapping[str, Any], namespace: str, release: str,
                  location: str) -> str:
    """The cache key of one expansion."""
    document = {
        "engine": ENGINE_REVISION,
        "kind": kind,
        "location": location,
        "trees": [tree_fingerprint(t) for t in trees],
        "values": values,
        "namespace": namespace,
        "release": release,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def read(cache: Path | None, key: str) -> list[dict[str, Any]] | None:
    """A cached expansion, or None (missing or unreadable entries are misses)."""
    if cache is None:
        return None
    try:
        found = json.loads((cache / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, list) else None


def write(cache: Path | None, key: str, objects: list[dict[str, Any]]) -> None:
    """Store an expansion (atomically; a cache that cannot be written is skipped)."""
    if cache is None:
        return
    try:
        cache.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{key}.", dir=cache)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(objects, stream, sort_keys=True, separators=(",", ":"))
        os.replace(temporary, cache / f"{key}.json")
    except OSError:
        return
