"""Benchmark: the expanded render (cold and cached) beside the Pulumi SDK's own cost of the same graph.

Expansion is on every render's path, so it is measured against what the render must
cost anyway: the SDK registering every resource of the expanded plan (each object a
``CustomResource`` with its inputs, parents and dependencies, under the same mock
runtime), in a fresh process, imports included. Target: a cached expanded render at
most 1.5x that, peak memory under 500 MB; the 100-pipeline stack (dev + 100 MNIST
pipelines, expanded from the cache) is compared in the same run.

    python -m bench.bench_expand --sources ../shared/upstream
    python -m bench.bench_expand --sources ../shared/upstream --repeat 5

Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_pipelines import stack_with_copies
from bench.bench_render import ROOT

_RENDER = r"""
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from mlplane.infra.offline.memory import gc_paused
gc_paused().__enter__()  # as the mlplane CLI does
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.expand.cache import expansions_cache
from mlplane.infra.offline.expand.engine import ExpandOptions
from mlplane.infra.offline.output import write_render
from mlplane.infra.offline.render import render_config, render_expanded
stack, sources, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
config = load_stack_file(stack)
if sources:
    plan = render_expanded(config, ExpandOptions(roots=(Path(sources),), cache=expansions_cache())).plan
else:
    plan = render_config(config)
manifests = write_render(plan, out)
elapsed = time.perf_counter() - started
print(json.dumps({"resources": len(plan), "manifests": manifests, "seconds": elapsed,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_SDK = r"""
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from mlplane.infra.offline.memory import gc_paused
gc_paused().__enter__()
import pulumi
from mlplane.infra.offline.plan import STACK_TYPE, load_plan
from mlplane.infra.offline.runner import run_offline
plan = load_plan(Path(sys.argv[1]))
resources = [r for r in plan if r.type != STACK_TYPE]
by_urn = {r.urn: r for r in resources}
def program():
    made = {}
    def make(urn):
        if urn in made or urn not in by_urn:
            return made.get(urn)
        r = by_urn[urn]
        parent = make(r.parent) if r.parent else None
        provider = make(r.provider) if r.provider else None
        depends = [d for d in (make(u) for u in r.dependencies) if d is not None]
        opts = pulumi.ResourceOptions(parent=parent, depends_on=depends or None, protect=r.protect,
                                      retain_on_delete=r.retain_on_delete,
                                      provider=provider if r.custom and not r.type.startswith("pulumi:providers:") else None)
        if r.type.startswith("pulumi:providers:"):
            made[urn] = pulumi.ProviderResource(r.type.split(":")[-1], r.name, dict(r.inputs), opts)
        elif r.custom:
            made[urn] = pulumi.CustomResource(r.type, r.name, dict(r.inputs), opts)
        else:
            made[urn] = pulumi.ComponentResource(r.type, r.name, dict(r.inputs), opts)
        return made[urn]
    for urn in by_urn:
        make(urn)
registered = run_offline(program, stack=plan.stack)
elapsed = time.perf_counter() - started
print(json.dumps({"resources": len(registered), "seconds": elapsed,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                            check=True, env={**os.environ, **(env or {})})
    return json.loads(result.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, float]]) -> tuple[float, float, int]:
    return (statistics.median(r["seconds"] for r in runs), max(r["peak_mb"] for r in runs), int(runs[0]["resources"]))


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, required=True, help="a folder in the layout of ../shared/upstream")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sources = str(args.sources.resolve())

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        cases = [("onprem", ROOT / "Pulumi.onprem.yaml"),
                 ("dev + 100 MNIST pipelines", stack_with_copies(scratch, 100))]
        for label, stack in cases:
            out = scratch / f"out-{len(rows)}"
            opaque = [_run(_RENDER, str(stack), "", str(out)) for _ in range(args.repeat)]
            cold = []
            for index in range(args.repeat):  # each cold run gets an empty cache
                env = {"XDG_CACHE_HOME": str(scratch / f"cold-{len(rows)}-{index}")}
                cold.append(_run(_RENDER, str(stack), sources, str(out), env=env))
            env = {"XDG_CACHE_HOME": str(scratch / f"cold-{len(rows)}-0")}
            cached = [_run(_RENDER, str(stack), sources, str(out), env=env) for _ in range(args.repeat)]
            sdk = [_run(_SDK, str(out / "plan.json")) for _ in range(args.repeat)]
            rows.append((label, _median(opaque), _median(cold), _median(cached), _median(sdk)))

    print("| stack | opaque render s (resources) | expanded cold s | expanded cached s (resources) | "
          "SDK registering the expanded graph s | cached / SDK | peak MB (cached) |")
    print("|---|---|---|---|---|---|---|")
    for label, opaque, cold, cached, sdk in rows:
        print(f"| {label} | {opaque[0]:.2f} ({opaque[2]}) | {cold[0]:.2f} | {cached[0]:.2f} ({cached[2]}) | "
              f"{sdk[0]:.2f} | {cached[0] / sdk[0]:.2f}x | {cached[1]:.0f} |")


if __name__ == "__main__":
    main()
