"""An internal error's traceback goes to a private file that the message names (exit 3's contract)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from mlplane.infra.offline.crash import traceback_file


def test_the_traceback_is_written_privately_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("MLPLANE_DEBUG", raising=False)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        where = traceback_file("mlplane verify")
    (written,) = tmp_path.iterdir()
    assert where == f"the traceback is in {written}"
    text = written.read_text()
    assert text.startswith("mlplane verify\n") and "RuntimeError: boom" in text
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600


def test_without_a_writable_folder_it_says_how_to_see_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise OSError("read-only")
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        assert traceback_file("x") == "set MLPLANE_DEBUG=1 to see the traceback"
