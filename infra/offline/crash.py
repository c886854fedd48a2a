"""Where an internal error's traceback goes: a private file the one-line message names."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback


def traceback_file(header: str) -> str:
    """Write the traceback being handled to a private file; say where (or how to see it).

    Args:
        header: The file's first line (mlplane's version).

    Returns:
        ``"the traceback is in PATH"``, or, when no file can be written, how to get it on stderr.
        With ``MLPLANE_DEBUG`` set the traceback also goes to stderr.
    """
    text = traceback.format_exc()
    if os.environ.get("MLPLANE_DEBUG"):
        sys.stderr.write(text)
    try:
        handle, name = tempfile.mkstemp(prefix="mlplane-crash-", suffix=".txt")  # private: mode 0600
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(f"{header}\n{text}")
    except OSError:
        return "set MLPLANE_DEBUG=1 to see the traceback"
    return f"the traceback is in {name}"
