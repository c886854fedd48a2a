"""The harness's own failure: something broke that is neither the plan's fault nor bad input."""

from __future__ import annotations


class HarnessError(RuntimeError):
    """The control plane or the harness failed (exit 3): a process died, a wait timed out."""
