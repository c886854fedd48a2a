"""Expanded renders of both release trains over ``../shared/upstream``, once per session.

Shared by the expansion tests: the onprem stack (every component on) rendered on release
1.8.1 and on 26.03, each chart and directory expanded from the pinned sources. The
expansion cache is a temporary folder shared by the session's xdist workers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from mlplane.infra.config import StackConfig
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.expand.engine import ExpandOptions, Expansion
from mlplane.infra.offline.kinds import is_upstream_object
from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.infra.offline.render import render_expanded

from .conftest import ROOT
from .upstream import SHARED_UPSTREAM, needs_upstream, sources_folder

RELEASES = ("1.8.1", "26.03")
#: Upstream CRD schemas beside the sources (../shared/crds).
SHARED_CRDS = SHARED_UPSTREAM.parent / "crds"
__all__ = ["RELEASES", "SHARED_CRDS", "expanded", "needs_upstream", "onprem_on", "sources_folder", "upstream_objects"]


def onprem_on(release: str, folder: Path) -> StackConfig:
    """The onprem stack (every component on) on a release train, as a stack file in ``folder``."""
    text = (ROOT / "Pulumi.onprem.yaml").read_text()
    assert text.count('release: "26.03"') == 1
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Pulumi.onprem.yaml"  # same stack name on both trains, so URNs compare
    path.write_text(text.replace('release: "26.03"', f'release: "{release}"'))
    return load_stack_file(path, stack="onprem", display="Pulumi.onprem.yaml")


_state: dict[str, Path] = {}


def configure(folder: Path, cache: Path) -> None:
    """Set this process's scratch folder (stack files) and the session's expansion cache."""
    _state.setdefault("folder", folder)
    _state.setdefault("cache", cache)


def expansion_cache() -> Path:
    """The session's expansion cache folder (shared by xdist workers; writes are atomic)."""
    return _state["cache"]


@lru_cache(maxsize=None)
def expanded(release: str) -> Expansion:
    """The onprem stack on ``release``, expanded from the pinned upstream sources."""
    config = onprem_on(release, _state["folder"] / f"stack-{release}")
    return render_expanded(config, ExpandOptions(roots=(sources_folder(),), cache=expansion_cache(),
                                                  explicit=(sources_folder(),)))


def upstream_objects(plan: Plan) -> list[PlanResource]:
    """The objects expanded from charts and directories."""
    return [r for r in plan if is_upstream_object(r.urn)]
