"""``mlplane verify``: the command's flow, kept out of infra/cli.py.

Exit codes: 0 verified (or problems found without ``--fail-on-problem``); 1 a problem of the
plan under ``--fail-on-problem``; 2 bad input (a ``--k8s-bin`` without the binaries or of an
unsupported version, a stack that does not render, a chart or directory whose sources are not
at hand, so that what it installs would not be applied; raised as InputError and reported by
the CLI); 3 the harness failed (a process died, a wait timed out, no network namespace could be
made). A control plane is never left running: it is started inside the isolated child and
stopped there on every path (:mod:`.controlplane`).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlplane.core.errors import input_error
from mlplane.infra.offline.crash import traceback_file
from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.unexpanded import unexpanded
from mlplane.infra.offline.verify.binaries import check, locate
from mlplane.infra.offline.verify.errors import HarnessError
from mlplane.infra.offline.verify.isolation import CHILD_MARK, NotIsolated, interfaces, isolated_command, require_isolation

EXIT_OK, EXIT_PROBLEM, EXIT_HARNESS = 0, 1, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mlplane verify`` besides ``--stack``/``--config-file`` and ``--sources``."""
    parser.add_argument("--k8s-bin", type=Path, default=None, metavar="DIR",
                        help="folder with kube-apiserver and etcd (and kube-controller-manager, kube-scheduler for "
                             "the full cycle); default $MLPLANE_K8S_BIN, then $KUBEBUILDER_ASSETS")
    parser.add_argument("--crds", type=Path, default=None, metavar="DIR",
                        help="CRD schema folder (<group>/<kind>_<version>.json, as ../shared/crds) to stand in "
                             "for prerequisite CRDs such as Karpenter's; default $MLPLANE_CRDS")
    parser.add_argument("--format", "-f", choices=("text", "json"), default="text", help="report format")
    parser.add_argument("--fail-on-problem", action="store_true",
                        help="exit 1 when the report has a problem no harness limit explains")
    parser.add_argument("--admission-only", action="store_true",
                        help="start only etcd and the API server: admission is judged, no pods are made")


def child_argv(args: argparse.Namespace) -> list[str]:
    """The command line that repeats ``args`` in the isolated child (paths made absolute)."""
    argv = ["verify"]
    if args.stack:
        argv += ["--stack", args.stack]
    if args.config_file is not None:
        argv += ["--config-file", str(args.config_file.absolute())]
    for flag, value in (("--sources", args.sources), ("--k8s-bin", args.k8s_bin),
                        ("--crds", getattr(args, "crds", None))):
        if value is not None:
            argv += [flag, str(Path(value).absolute())]
    argv += ["--format", args.format]
    argv += [flag for flag, on in (("--fail-on-problem", args.fail_on_problem),
                                   ("--admission-only", args.admission_only)) if on]
    return argv


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: argparse.Namespace, load: Callable[[], Any], render: Callable[[Any], Any]) -> int:
    """Re-execute under ``unshare -rn`` unless isolated; in the isolated process, verify.

    Args:
        args: The parsed command line.
        load: Loads the stack config (raises InputError on a bad stack).
        render: Renders and expands a config into a Plan.
    """
    if [name for name in interfaces() if name != "lo"] and not os.environ.get(CHILD_MARK):
        command = isolated_command(child_argv(args))
        probe = subprocess.run([command[0], "--user", "--map-root-user", "--net", "--", "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            print(f"error: cannot make a private network namespace for the control plane (`unshare -rn`): "
                  f"{probe.stderr.strip()}; user namespaces must be enabled, or run as root", file=sys.stderr)
            return EXIT_HARNESS
        try:
            return subprocess.run(command, env={**os.environ, CHILD_MARK: "1"}).returncode
        except KeyboardInterrupt:  # the child got the same SIGINT and stops its control plane
            return EXIT_HARNESS
    return _run_isolated(args, load, render)


def refuse_unexpanded(plan: Plan, file: str, stack_argument: str) -> None:
    """Refuse a plan with charts or directories left unexpanded (their sources not at hand).

    Their objects would not be applied, so the control plane would judge a partial plan: the
    custom resources of their CRDs and webhooks would be refused as "problems of the plan" that
    are not, and everything they install would go unjudged.

    Raises:
        InputError: Naming the stack file, how many and which were not expanded, and the fix.
    """
    missing = unexpanded(None, plan, ()).sources
    if missing:
        names = ", ".join(urn.rsplit("::", 1)[-1] for urn in missing[:2]) + (", ..." if len(missing) > 2 else "")
        raise input_error(file, "--sources", f"{len(missing)} chart(s)/directories not expanded, so verify would "
                          "apply a partial plan", value=names,
                          allowed=f"their sources at hand: `mlplane sources fetch {stack_argument}` "
                                  "(fills the cache), or `--sources DIR`")


def _run_isolated(args: argparse.Namespace, load: Callable[[], Any], render: Callable[[Any], Any]) -> int:
    from mlplane.infra.offline.verify.harness import verify
    from mlplane.infra.prerequisites import prerequisites

    binaries = check(*locate(args.k8s_bin))  # InputError: exit 2, before any render or process
    try:
        require_isolation()  # before a render that may take minutes (the harness checks again)
    except NotIsolated as exc:
        print(f"error: mlplane verify: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    config = load()
    plan = render(config)
    refuse_unexpanded(plan, config.source.display, config.source.command_argument)  # exit 2, nothing started
    pools = list(config.accelerators.pools) if config.accelerators is not None else []
    crds = getattr(args, "crds", None) or (Path(os.environ["MLPLANE_CRDS"]) if os.environ.get("MLPLANE_CRDS") else None)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = verify(plan, binaries, config.cluster.kind, pools, admission_only=args.admission_only,
                        prerequisites=prerequisites(config), crds=crds)
    except (HarnessError, KeyboardInterrupt) as exc:
        print(f"error: mlplane verify: {exc or type(exc).__name__} (the control plane was stopped)", file=sys.stderr)
        return EXIT_HARNESS
    except Exception as exc:  # noqa: BLE001 - any other failure is the harness's: exit 3, never 1 or 2
        where = traceback_file("mlplane verify")
        print(f"error: mlplane verify failed: {type(exc).__name__}: {exc} (the control plane was stopped; "
              f"{where})", file=sys.stderr)
        return EXIT_HARNESS
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.stdout.write(report.to_json_text() if args.format == "json" else report.to_text())
    return EXIT_PROBLEM if args.fail_on_problem and report.plan_problems else EXIT_OK
