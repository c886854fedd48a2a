"""Shared fixtures: the project root, stack renders, and the recording mocks fixture."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis' per-example deadline is a timing assertion; under a loaded CI machine it fails
# tests that are only slow. Speed is measured by bench/, not by tests.
settings.register_profile("mlplane", deadline=None)
settings.load_profile("mlplane")

from mlplane.infra.config import StackConfig
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.render import render_config
from mlplane.infra.offline.runner import run_offline
from mlplane.infra.project import available_stacks

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


# --- generated stack configs: counts summed across xdist workers -------------------------

#: A folder shared by the controller and its xdist workers, where tests that generate
#: stack configs leave their counts (see tests/test_hostile_configs.py).
_COUNTS = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Give the run (the controller, inherited by xdist workers) one folder for counts."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "mlplane_counts" in workerinput:
        config.stash[_COUNTS] = Path(workerinput["mlplane_counts"])
    else:
        config.stash[_COUNTS] = Path(tempfile.mkdtemp(prefix="mlplane-counts-"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist: hand the counts folder to each worker."""
    node.workerinput["mlplane_counts"] = str(node.config.stash[_COUNTS])  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def stack_config_counts(request: pytest.FixtureRequest) -> Callable[[str, Counter[str]], None]:
    """Record how a test's generated stack configs ended (tried, rendered, refused)."""

    def record(test: str, counts: Counter[str]) -> None:
        handle, _ = tempfile.mkstemp(prefix=f"{test}-", suffix=".json", dir=request.config.stash[_COUNTS])
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(dict(counts), stream)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """One line with the generated stack configs of the whole run, over every worker."""
    if hasattr(config, "workerinput") or _COUNTS not in config.stash:
        return
    total: Counter[str] = Counter()
    for path in config.stash[_COUNTS].glob("*.json"):
        total.update(json.loads(path.read_text()))
    if total:
        terminalreporter.write_line(
            f"hypothesis stack configs: {total['tried']} tried, {total['rendered']} rendered and passed policies, "
            f"{total['refused']} refused with exit 2"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the counts folder (the controller owns it)."""
    if not hasattr(config, "workerinput") and _COUNTS in config.stash:
        shutil.rmtree(config.stash[_COUNTS], ignore_errors=True)


@pytest.fixture(scope="session")
def expansion_scratch(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A scratch folder for expanded renders, shared by xdist workers (their caches meet there)."""
    from .expansion import configure

    base = tmp_path_factory.getbasetemp()
    # $XDG_CACHE_HOME/mlplane/expansions, so the CLI can be pointed at it too.
    shared = (base.parent if worker_id != "master" else base) / "mlplane-xdg" / "mlplane" / "expansions"
    configure(base / "mlplane-expansion", shared)
    return base / "mlplane-expansion"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or fills the user's ~/.cache/mlplane (sources, expansions): an empty one per run."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
