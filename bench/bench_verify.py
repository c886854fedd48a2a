"""Benchmark: one `mlplane verify` cycle per stack (render, control plane, walk, settle, report).

Each case runs the real command (which re-executes itself under `unshare -rn`) with the
binaries of `../shared/k8s` (or `--k8s-bin DIR`), and reads the report's own timings.

    python -m bench.bench_verify        # onprem (both trains), eks: full cycle; dev, gke, aks: admission only
    python -m bench.bench_verify --stacks onprem onprem@1.8.1 --repeat 3 --reports build/verify

``STACK@TRAIN`` verifies a copy of the stack file with ``mlplane:kubeflow.release`` switched.

Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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


def stack_arguments(case: str, tmp: Path) -> list[str]:
    """``--stack NAME``, or for ``NAME@TRAIN`` a ``--config-file`` copy on that release train."""
    stack, _, train = case.partition("@")
    if not train:
        return ["--stack", stack]
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    copy = tmp / f"Pulumi.{stack}-{train.replace('.', '')}.yaml"
    copy.write_text(re.sub(r'^    release: "[^"]+"$', f'    release: "{train}"', text, flags=re.MULTILINE))
    return ["--config-file", str(copy)]


def measure(case: str, k8s_bin: Path, sources: Path, reports: Path | None, crds: Path) -> dict[str, float]:
    """One verify of ``case``: wall seconds, the report's phases and counts."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        args = ["verify", *stack_arguments(case, Path(tmp)), "--sources", str(sources), "--k8s-bin", str(k8s_bin),
                "--crds", str(crds), "--format", "json"]
        if case.partition("@")[0] not in FULL:
            args.append("--admission-only")
        done = subprocess.run([sys.executable, "-c", CLI, *args], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "TMPDIR": tmp})
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{case}: exit {done.returncode}\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if reports is not None:
        reports.mkdir(parents=True, exist_ok=True)
        (reports / f"{case.replace('@', '-')}.json").write_text(done.stdout)
    return {"wall": wall, **report["seconds"], **report["counts"], "problems": report["planProblems"],
            "mode": report["mode"]}


def main() -> None:
    """Print one Markdown row per stack (median wall time of ``--repeat`` runs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", nargs="*", default=["onprem", "onprem@1.8.1", "eks", "dev", "gke", "aks"])
    parser.add_argument("--reports", type=Path, default=None, help="also write each report's JSON into this folder")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--k8s-bin", default=None)
    parser.add_argument("--sources", type=Path, default=ROOT.parent / "shared" / "upstream")
    # Prerequisites' CRDs (Karpenter's on eks) are stood in from here, as CI's verify does.
    parser.add_argument("--crds", type=Path, default=ROOT.parent / "shared" / "crds")
    args = parser.parse_args()
    k8s_bin = binaries(args.k8s_bin)
    print("| stack | mode | objects | applied | refused | pods created / placed | of which built from custom "
          "resources | problems | start s | apply s | settle s | wall s (render included) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for stack in args.stacks:
        runs = sorted((measure(stack, k8s_bin, args.sources, args.reports, args.crds) for _ in range(args.repeat)),
                      key=lambda r: r["wall"])
        r = runs[len(runs) // 2]
        print(f"| {stack} | {r['mode']} | {r['objects']} | {r['applied']} | {r['refused']} | {r['pods']} / "
              f"{r['placed']} | {r.get('crPods', 0)} ({r.get('crPodsApproximate', 0)} approximate) | {r['problems']} | {r['start']:.1f} | {r['apply']:.1f} | {r.get('settle', 0):.1f} | {r['wall']:.1f} |")


if __name__ == "__main__":
    main()
