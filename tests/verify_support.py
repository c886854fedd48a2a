"""Helpers of the verify tests: the control-plane binaries from ../shared/k8s, and isolated runs.

The tests (like CI) take the binaries from the tarball beside the repository
(``../shared/k8s``), unpacked once into ``$XDG_CACHE_HOME/mlplane-k8s/<sha>/`` as
control-plane.sh does; the project itself never assumes that folder exists.
Every control plane runs inside ``unshare -rn`` (the harness refuses otherwise).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.infra.offline.verify.binaries import unpack_tarball

ROOT = Path(__file__).resolve().parent.parent
TARBALL = ROOT.parent / "shared" / "k8s" / "kubernetes-v1.36.2-linux-amd64.tar.xz"
PROJECT = "urn:pulumi:seed::mlplane::"

# Runs one cycle on a plan file inside the isolated child and prints the report's JSON.
_CYCLE = """
import json, sys
from pathlib import Path
from mlplane.infra.offline.plan import load_plan
from mlplane.infra.offline.verify.binaries import check
from mlplane.infra.offline.verify.harness import verify
plan = load_plan(Path(sys.argv[1]))
report = verify(plan, check(Path(sys.argv[2]), "--k8s-bin"), sys.argv[3], [], admission_only=sys.argv[4] == "1")
print(report.to_json_text())
"""


@lru_cache(maxsize=1)
def k8s_bin() -> Path:
    """The unpacked binaries (unpacked on first use)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlplane-k8s"
    return unpack_tarball(TARBALL, cache)


def k8s_object(kind_type: str, name: str, inputs: dict[str, Any], deps: tuple[str, ...] = ()) -> PlanResource:
    """A plan resource of a pulumi-kubernetes type (``kubernetes:core/v1:Namespace``), no parent."""
    return PlanResource(urn=f"{PROJECT}{kind_type}::{name}", type=kind_type, name=name, custom=True, parent=None,
                        provider=None, dependencies=deps, inputs=inputs)


def run_plan(plan: Plan, tmp: Path, kind: str = "selfhosted", admission_only: bool = False) -> dict[str, Any]:
    """One verify cycle of ``plan`` in a private network namespace; the report as JSON."""
    path = tmp / "plan.json"
    path.write_text(plan.to_json_text())
    done = subprocess.run(["unshare", "-rn", sys.executable, "-c", _CYCLE, str(path), str(k8s_bin()), kind,
                           "1" if admission_only else "0"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(tmp)})  # the run's state folder goes under tmp
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def mlplane(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run the ``mlplane`` command of this interpreter's environment."""
    command = [sys.executable, "-c", "import sys; from mlplane.infra.cli import main; sys.exit(main(sys.argv[1:]))",
               *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})


def processes_under(folder: Path) -> list[str]:
    """Command lines of live processes that name ``folder`` (a run's state folder is under it)."""
    found = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = path.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in text and "pytest" not in text:
            found.append(text)
    return found
