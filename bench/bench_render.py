"""Benchmark: offline render time and peak memory, for `dev` and synthetic stacks.

Each measurement runs in a fresh Python process (imports included, as a user's
`mlplane render` pays them), and reports wall time and peak resident memory.

    python -m bench.bench_render            # dev + 500/1000/2000-resource stacks
    python -m bench.bench_render --sizes 2000 --repeat 3

Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from mlplane.infra.offline.memory import gc_paused
gc_paused().__enter__()  # as the mlplane CLI does
from mlplane.infra.offline.output import write_render
mode, arg, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
if mode == "stack":
    from mlplane.infra.load import load_stack_file
    from mlplane.infra.offline.render import render_config
    plan = render_config(load_stack_file(Path(arg)))
else:
    import pulumi, pulumi_kubernetes as k8s
    from mlplane.components.namespace import PlatformNamespace, PlatformNamespaceArgs
    from mlplane.infra.offline.runner import run_offline
    def program():
        provider = k8s.Provider("k8s", context="bench")
        for i in range(int(arg) // 4):
            PlatformNamespace(f"ns{i}", PlatformNamespaceArgs(namespace=f"ns-{i}"),
                              pulumi.ResourceOptions(provider=provider))
    plan = run_offline(program, stack="bench")
manifests = write_render(plan, out)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"resources": len(plan), "manifests": manifests, "seconds": elapsed, "peak_mb": peak}))
"""


def measure(mode: str, arg: str) -> dict[str, float]:
    """Render once in a child process; return its resources, seconds and peak MB."""
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run([sys.executable, "-c", _CHILD, mode, arg, out], cwd=ROOT,
                                capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 1000, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    cases = [("stack dev", "stack", str(ROOT / "Pulumi.dev.yaml"))]
    cases += [(f"synthetic {n}", "synthetic", str(n)) for n in args.sizes]
    print("| case | resources | manifests | seconds (median) | peak MB | ms per resource |")
    print("|---|---|---|---|---|---|")
    for label, mode, arg in cases:
        runs = [measure(mode, arg) for _ in range(args.repeat)]
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        count = runs[0]["resources"]
        print(f"| {label} | {count} | {runs[0]['manifests']} | {seconds:.2f} | {peak:.0f} | "
              f"{1000 * seconds / count:.2f} |")


if __name__ == "__main__":
    main()
