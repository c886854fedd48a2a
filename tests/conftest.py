"""Shared fixtures: the project root, stack renders, and the recording mocks fixture."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import pytest

from infra.config import StackConfig, load_stack_file
from infra.offline.plan import Plan
from infra.offline.render import render_config
from infra.offline.runner import run_offline
from infra.project import available_stacks

ROOT = Path(__file__).resolve().parent.parent
STACKS = available_stacks(ROOT)


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository's root folder."""
    return ROOT


def load_stack(name: str) -> StackConfig:
    """A stack file of the repository, validated."""
    return load_stack_file(ROOT / f"Pulumi.{name}.yaml", stack=name, display=f"Pulumi.{name}.yaml")


@lru_cache(maxsize=None)
def rendered(name: str) -> Plan:
    """The offline plan of one of the repository's stacks (rendered once per session)."""
    return render_config(load_stack(name))


@pytest.fixture
def record() -> Callable[[Callable[[], object]], Plan]:
    """The recording mocks fixture: run a function as a stack program, get its plan.

    Component tests build a component inside the function and assert on the recorded
    registrations. Provider function calls raise (nothing is invented offline).
    """

    def run(program: Callable[[], object], stack: str = "test") -> Plan:
        return run_offline(lambda: program() and None, stack=stack)

    return run
