"""The layers import one way only (docs/architecture.md), as import-linter's contract states.

The contract lives in pyproject.toml (``[tool.importlinter]``); these tests run it, check
that it covers every module of the stack program's folder (a new module cannot escape
the layers by not being named), and that it catches an import the wrong way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from .conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def contract() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def layer_modules() -> set[str]:
    layers = contract()["contracts"][0]["layers"]
    return {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}


def run_contract(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root,
                          capture_output=True, text=True, check=False)


def test_the_layers_contract_is_kept() -> None:
    result = run_contract(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def test_every_module_of_the_stack_program_folder_is_in_a_layer() -> None:
    named = layer_modules()
    infra = {f"mlplane.infra.{path.stem if path.is_file() else path.name}"
             for path in (ROOT / "infra").iterdir()
             if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()}
    assert infra - named == set(), "name each module of infra/ in a layer of pyproject.toml's contract"
    assert {"mlplane.core", "mlplane.components", "mlplane.pipelines", "mlplane.policy"} <= named


def test_the_import_graph_has_edges_between_the_layers() -> None:
    graph = grimp.build_graph(*contract()["root_packages"], cache_dir=None)
    edges = sum(len(graph.find_modules_directly_imported_by(module)) for module in graph.modules)
    # The figure docs/architecture.md reports; it only says the graph is real, not a bound to keep.
    print(f"import graph: {len(graph.modules)} modules, {edges} direct imports checked")
    assert graph.direct_import_exists(importer="mlplane.infra.cli", imported="mlplane.infra.offline.render")
    assert not graph.chain_exists(importer="mlplane.pipelines", imported="mlplane.infra.config", as_packages=True)
    assert not graph.chain_exists(importer="mlplane.infra.config", imported="mlplane.pipelines", as_packages=True)


@pytest.mark.slow
def test_an_import_the_wrong_way_breaks_the_contract(tmp_path: Path) -> None:
    """A copy of the project whose pipelines import the stack config: the contract must fail on it."""
    copy = tmp_path / "project"
    copy.mkdir()
    for folder in ("core", "infra", "components", "pipelines", "policy"):
        shutil.copytree(ROOT / folder, copy / "mlplane" / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    errors = copy / "mlplane" / "pipelines" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom mlplane.infra.config.source import StackSource  # noqa: E402\n")
    result = subprocess.run([str(LINT_IMPORTS), "--config", str(copy / "pyproject.toml"), "--no-cache"],
                            cwd=copy, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mlplane.pipelines.errors -> mlplane.infra.config.source" in result.stdout
