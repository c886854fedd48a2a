"""Benchmark: render time and peak memory with 1, 10 and 100 copies of the MNIST pipeline.

Each case is the `dev` stack plus N copies of the native MNIST pipeline (named
mnist-1 ... mnist-N), rendered in a fresh process as `mlplane render` would be.

    python -m bench.bench_pipelines               # 1, 10, 100 copies
    python -m bench.bench_pipelines --copies 1 10 --repeat 1

Not a test: figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import yaml

from bench.bench_render import ROOT, measure


def stack_with_copies(folder: Path, copies: int) -> Path:
    """A stack file: dev, with ``copies`` MNIST pipelines."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["mlplane:pipelines"] = [
        {"name": f"mnist-{index}", "source": "mlplane.pipelines.mnist:mnist_pipeline"} for index in range(1, copies + 1)
    ]
    path = folder / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, nargs="*", default=[1, 10, 100])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| MNIST copies | resources | seconds (median) | peak MB | ms per copy beyond the first |")
    print("|---|---|---|---|---|")
    base: tuple[int, float] | None = None
    for copies in args.copies:
        with tempfile.TemporaryDirectory() as folder:
            stack = stack_with_copies(Path(folder), copies)
            runs = [measure("stack", str(stack)) for _ in range(args.repeat)]
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        if base is None:
            base = (copies, seconds)
            marginal = "-"
        else:
            marginal = f"{1000 * (seconds - base[1]) / (copies - base[0]):.0f}"
        print(f"| {copies} | {runs[0]['resources']} | {seconds:.2f} | {peak:.0f} | {marginal} |")


if __name__ == "__main__":
    main()
