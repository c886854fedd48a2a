"""The access matrix over every shipped stack: the cells issues 22 (item 9) and 23 (item 3) require.

These cells state what isolation must hold. On today's main most of them fail (the login
bypass with ``Authorization: x``, namespace-wide ALLOWs, the wrong gateway principal):
the tests are written to pass only once the policies are fixed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlplane.policy.access import doc
from mlplane.policy.access.matrix import Matrix

from .access_plans import MATRIX_STACKS, matrix
from .conftest import ROOT

pytestmark = pytest.mark.usefixtures("expansion_scratch")

POD_B_DENIED_GROUPS = ("databases", "object store ports")
POD_B_DENIED_NAMES = ("KFAM", "KFP API", "visualization server", "visualization server of A",
                      "profile-controller webhook", "cloud metadata endpoint", "A's artifacts through the object store")


def _failures(m: Matrix, persona: str, names: list[str]) -> list[str]:
    return [f"{m.stack}: {persona} -> {n}: {m.cell(persona, n).verdict.reason}"
            for n in names if m.cell(persona, n).verdict.allowed]


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_anonymous_reaches_only_the_login_flow_and_public_hosts(stack: str) -> None:
    m = matrix(stack)
    assert _failures(m, "anonymous", [t.name for t in m.targets if not t.public]) == []


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_anonymous_can_log_in(stack: str) -> None:
    """The other side of the cell above: Dex's login route stays open (or the gate would lock users out)."""
    m = matrix(stack)
    assert m.cell("anonymous", "web /dex/").verdict.allowed, m.cell("anonymous", "web /dex/").verdict.reason


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_user_of_b_reaches_nothing_of_a(stack: str) -> None:
    m = matrix(stack)
    names = [t.name for t in m.targets if t.group in ("profile A", "A's artifacts")]
    assert names, "the scenario has A's notebook, TensorBoard, endpoint and artifacts"
    assert _failures(m, "user of B only", names) == []


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_owner_of_a_reaches_a_notebook(stack: str) -> None:
    """Isolation must not be bought by locking the owner out."""
    m = matrix(stack)
    cell = m.cell("owner of A", "A's notebook")
    assert cell.verdict.allowed, cell.verdict.reason


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_pod_in_b_cannot_reach_platform_backends(stack: str) -> None:
    m = matrix(stack)
    names = [t.name for t in m.targets
             if t.group in POD_B_DENIED_GROUPS or t.name in POD_B_DENIED_NAMES
             or t.group == "Kubeflow web apps and APIs" or t.group == "profile A"]
    assert _failures(m, "pod in B", names) == []


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_view_contributor_cannot_use_a_notebook_server(stack: str) -> None:
    m = matrix(stack)
    assert _failures(m, "view contributor of A", ["A's notebook"]) == []


def test_docs_security_md_shows_the_current_matrix() -> None:
    """docs/security.md's generated section is the evaluation of today's plans.

    Regenerate with ``MLPLANE_WRITE_ACCESS_MATRIX=1 pytest tests/test_access_matrix.py``.
    """
    path: Path = ROOT / "docs" / "security.md"
    generated = doc.section(matrix(s) for s in MATRIX_STACKS)
    text = path.read_text()
    if os.environ.get("MLPLANE_WRITE_ACCESS_MATRIX") == "1":
        path.write_text(doc.replace_section(text, generated))
        text = path.read_text()
    assert doc.BEGIN in text, "docs/security.md has no access matrix section"
    assert doc.replace_section(text, generated) == text
