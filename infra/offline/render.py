"""Rendering a stack offline: validated config in, plan out."""

from __future__ import annotations

from infra.config import StackConfig
from infra.offline.plan import Plan
from infra.offline.runner import run_offline
from infra.program import build


def render_config(config: StackConfig) -> Plan:
    """Run the stack program for ``config`` under the mock runtime and return its plan.

    Raises:
        InputError: The program found bad input (before registering anything).
    """
    return run_offline(lambda: build(config), stack=config.source.stack)
