"""mlplane as a real package: the wheel and sdist ``python -m build`` makes, installed where a user installs it.

The wheel is built once per session (from the sdist, as ``python -m build`` does, so the
sdist is proven complete too) out of a copy of the repository, installed from a local
wheelhouse (``--find-links``; its dependencies from the package index, through pip's
cache) into a fresh virtual environment outside the source tree, and used there as a
platform team would: ``mlplane init``, ``mlplane preview``, ``mlplane diff --base``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

#: Left out of the copy that is built: environments, caches and earlier build output.
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__",
                                     ".pytest_cache", ".hypothesis", ".mlplane")
SPEC = "mlplane[policy] @ git+https://git.example.org/platform/mlplane@v0.1.0"


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the wheel and sdist of this checkout."""
    source = tmp_path_factory.mktemp("source") / "mlplane"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    out = tmp_path_factory.mktemp("wheelhouse")
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "WARNING" not in result.stdout + result.stderr, "setuptools would leave something out"
    return out


def only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.slow
def test_build_makes_a_wheel_and_sdist_that_install_only_mlplane(wheelhouse: Path) -> None:
    wheel = only(wheelhouse, "mlplane-*-py3-none-any.whl")
    sdist = only(wheelhouse, "mlplane-*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
        record = [row[0] for row in csv.reader(io.StringIO(archive.read(info).decode()))]
        metadata = archive.read(info.replace("RECORD", "METADATA")).decode()
    dist_info = info.split("/")[0]
    assert {path.split("/")[0] for path in record} == {"mlplane", dist_info}  # no other top-level package
    assert {path.split("/")[1] for path in record if path.startswith("mlplane/")} == {
        "core", "infra", "components", "pipelines", "policy"}
    assert "mlplane/__init__.py" not in record  # a namespace: nothing of its own
    for data in ("mlplane/infra/scaffold/templates/workflows/preview.yml.tmpl",
                 "mlplane/infra/scaffold/templates/pipelines/hello.py.tmpl",
                 "mlplane/components/accelerators/gpu_prices.json"):
        assert data in record
    assert "example.invalid" not in metadata and "Project-URL" not in metadata
    assert sdist.stat().st_size > 0


def _venv(folder: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(folder)
    return folder / "bin"


@pytest.mark.slow
def test_the_installed_wheel_scaffolds_previews_and_diffs_outside_the_source_tree(
        wheelhouse: Path, tmp_path: Path) -> None:
    version = only(wheelhouse, "mlplane-*.whl").name.split("-")[1]
    bin_dir = _venv(tmp_path / "venv")
    started = time.monotonic()
    # The wheel from the wheelhouse, its dependencies from the package index (pip's cache makes it quick).
    install = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--find-links", str(wheelhouse),
                              f"mlplane=={version}"], capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stderr[-3000:]
    installed = time.monotonic() - started
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "FORCE_COLOR", "NO_COLOR", "VIRTUAL_ENV")}
    environment["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # no sources, no expansions: a first run

    def mlplane(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(bin_dir / "mlplane"), *args], cwd=cwd, env=environment, capture_output=True,
                              text=True, check=False)

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo,
                       check=True, capture_output=True)

    repo = tmp_path / "acme-ml"
    repo.mkdir()
    git("init", "-q", "-b", "main")
    started = time.monotonic()
    made = mlplane("init", "--mlplane-spec", SPEC, cwd=repo)
    assert made.returncode == 0, made.stderr
    preview = mlplane("preview", cwd=repo)
    first_preview = time.monotonic() - started
    assert preview.returncode == 0, preview.stderr
    assert "pulumi:pulumi:Stack  acme-ml-dev" in preview.stdout  # the project's name, no baseline yet: the tree
    assert "pipeline-hello" in preview.stdout
    where = subprocess.run([str(bin_dir / "python"), "-c", "import mlplane.infra; print(mlplane.infra.__path__[0])"],
                           cwd=tmp_path, env=environment, capture_output=True, text=True, check=True).stdout
    assert Path(where.strip()).is_relative_to(tmp_path / "venv") and not Path(where.strip()).is_relative_to(ROOT)

    git("add", "-A")
    git("commit", "-qm", "mlplane init")
    stack = repo / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("greeting: hello", "greeting: hi"))
    git("commit", "-qam", "greet differently")
    diff = mlplane("diff", "--base", "HEAD~1", "--format", "json", cwd=repo)
    assert diff.returncode == 0, diff.stderr
    report = json.loads(diff.stdout)
    assert report["summary"]["replace"] == 1
    assert any(v.get("after") == "print('hi' + ' from ' + 'dev')" for c in report["changes"] for v in c["values"])
    print(f"\ninstall of the wheel and its dependencies: {installed:.1f} s; "
          f"mlplane init + first preview: {first_preview:.1f} s")
