"""Memory management for short, allocation-heavy runs (renders)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration of a render.

    The SDK allocates many small, long-lived objects per resource; the cyclic GC then
    rescans them again and again, which makes large renders superlinear. Nothing in a
    render needs cycle collection before it ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
