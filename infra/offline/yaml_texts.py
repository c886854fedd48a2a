"""Manifest YAML kept between renders, by the digest of the object it renders.

PyYAML's representer is pure Python (its C part only emits), and writing one YAML file
per object was the largest share of an expanded render after plan.json
(docs/performance.md). An object's YAML depends on nothing but the object, so a render
reuses the text an earlier render of the same stack made of an identical object. The
texts live in ``$XDG_CACHE_HOME/mlplane/manifests/<stack>.json``; each render keeps only
the objects it wrote, so the file does not grow beyond one render's manifests.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

#: Changes whenever to_yaml's output format changes, so old texts are not reused.
FORMAT_REVISION = "1"


class YamlTexts:
    """A stack's manifest texts from earlier renders, and the ones this render makes."""

    def __init__(self, file: Path | None) -> None:
        self._file = file
        self._known: dict[str, str] = {}
        self._used: dict[str, str] = {}
        if file is not None and file.is_file():
            try:
                loaded = orjson.loads(file.read_bytes())
                self._known = loaded if isinstance(loaded, dict) else {}
            except (OSError, orjson.JSONDecodeError):
                self._known = {}  # a damaged cache is only a slower render

    def text(self, document: dict[str, Any], render: Callable[[dict[str, Any]], str]) -> str:
        """The YAML of ``document``: reused when an earlier render made it, else ``render(document)``."""
        try:
            key = FORMAT_REVISION + hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
        except TypeError:  # not plain JSON data: render it, keep nothing
            return render(document)
        found = self._known.get(key)
        if not isinstance(found, str):
            found = render(document)
        self._used[key] = found
        return found

    def save(self) -> None:
        """Keep this render's texts for the next one (atomically; a failure only loses speed)."""
        if self._file is None or self._used == self._known:
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".yaml-texts-", dir=self._file.parent)
            with os.fdopen(handle, "wb") as out:
                out.write(orjson.dumps(self._used))
            os.replace(temporary, self._file)
        except OSError:
            pass
