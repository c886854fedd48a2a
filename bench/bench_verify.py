"""Benchmark: one `mlplane verify` cycle per stack (render, control plane, walk, settle, report).

Each case runs the real command (which re-executes itself under `unshare -rn`) with the
binaries of `../shared/k8s` (or `--k8s-bin DIR`), and reads the report's own timings.

    python -m bench.bench_verify                      # every stack: onprem, eks full; dev, gke, aks admission
    python -m bench.bench_verify --stacks onprem --repeat 3

Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = "import sys; from mlplane.infra.cli import main; sys.exit(main(sys.argv[1:]))"
FULL = {"onprem", "eks"}


def binaries(option: str | None) -> Path:
    """``--k8s-bin``, else ../shared/k8s's tarball unpacked into the cache."""
    if option:
        return Path(option)
    from mlplane.infra.offline.verify.binaries import unpack_tarball

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlplane-k8s"
    return unpack_tarball(ROOT.parent / "shared" / "k8s" / "kubernetes-v1.36.2-linux-amd64.tar.xz", cache)


def measure(stack: str, k8s_bin: Path, sources: Path) -> dict[str, float]:
    """One verify of ``stack``: wall seconds, the report's phases and counts."""
    args = ["verify", "--stack", stack, "--sources", str(sources), "--k8s-bin", str(k8s_bin), "--format", "json"]
    if stack not in FULL:
        args.append("--admission-only")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", CLI, *args], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "TMPDIR": tmp})
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{stack}: exit {done.returncode}\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return {"wall": wall, **report["seconds"], **report["counts"], "problems": report["planProblems"],
            "mode": report["mode"]}


def main() -> None:
    """Print one Markdown row per stack (median wall time of ``--repeat`` runs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", nargs="*", default=["onprem", "eks", "dev", "gke", "aks"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--k8s-bin", default=None)
    parser.add_argument("--sources", type=Path, default=ROOT.parent / "shared" / "upstream")
    args = parser.parse_args()
    k8s_bin = binaries(args.k8s_bin)
    print("| stack | mode | objects | applied | refused | pods created / placed | start s | apply s | settle s "
          "| wall s (render included) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for stack in args.stacks:
        runs = sorted((measure(stack, k8s_bin, args.sources) for _ in range(args.repeat)), key=lambda r: r["wall"])
        r = runs[len(runs) // 2]
        print(f"| {stack} | {r['mode']} | {r['objects']} | {r['applied']} | {r['refused']} | {r['pods']} / "
              f"{r['placed']} | {r['start']:.1f} | {r['apply']:.1f} | {r.get('settle', 0):.1f} | {r['wall']:.1f} |")


if __name__ == "__main__":
    main()
