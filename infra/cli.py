"""The ``mlplane`` command: render, preview and diff the plan offline; print the schema.

Exit codes: 0 success; 1 ``--fail-on-danger`` found a dangerous change; 2 bad input
(unknown stack, invalid config, unreadable plan), reported without a traceback and
without writing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from infra.config import StackConfig, load_stack_file
from infra.config.loader import stack_name_for
from infra.errors import InputError, OfflineUnsupportedError, input_error
from infra.offline.diff import diff_plans
from infra.offline.expand.errors import SourceFailure
from infra.offline.manifests import ManifestError, object_conflicts
from infra.offline.plan import Plan, load_plan
from infra.offline.memory import gc_paused
from infra.offline.report import format_diff
from infra.project import STACK_NAME_ALLOWED, available_stacks, is_stack_name, project_root, stack_file

DEFAULT_STACK = "dev"
EXIT_OK, EXIT_DANGER, EXIT_INPUT = 0, 1, 2


def _add_stack_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", "-s", default=None,
                        help=f"stack name: reads Pulumi.NAME.yaml in the project root (default: {DEFAULT_STACK})")
    source.add_argument("--config-file", "-c", type=Path, default=None,
                        help="any stack file; relative paths inside it resolve against its folder")


def _add_sources_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sources", type=Path, default=None, metavar="DIR",
                        help="a folder of upstream sources (kubeflow-manifests/<ref>/, charts/<chart>-<version>/, "
                             "remote/) to expand charts and kustomize directories from; the cache "
                             "($XDG_CACHE_HOME/mlplane/sources) is searched after it")


def _add_danger_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", "-f", choices=("text", "markdown", "json"), default="text",
                        help="how to print the diff (default: text)")
    parser.add_argument("--fail-on-danger", action="store_true",
                        help="exit 1 when a change would delete or replace stateful or protected resources")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mlplane`` command."""
    parser = argparse.ArgumentParser(
        prog="mlplane",
        description="Render, preview and diff the mlplane plan offline (no cluster, no cloud, no Pulumi CLI).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="write plan.json and manifests/ for a stack")
    _add_stack_options(render)
    render.add_argument("--out", "-o", type=Path, default=None,
                        help="output folder (default: build/<stack> in the project root)")
    _add_sources_option(render)

    preview = commands.add_parser("preview", help="show the resource tree and the diff against a baseline")
    _add_stack_options(preview)
    preview.add_argument("--against", type=Path, default=None,
                         help="plan to compare with (default: the stack's saved baseline)")
    preview.add_argument("--save", action="store_true", help="make this plan the stack's baseline")
    _add_sources_option(preview)
    _add_danger_options(preview)

    diff = commands.add_parser("diff", help="compare two plan files")
    diff.add_argument("old", type=Path, help="the plan as it is (plan.json or its folder)")
    diff.add_argument("new", type=Path, help="the plan as it would become")
    _add_danger_options(diff)

    sources = commands.add_parser("sources", help="which upstream sources of a stack are at hand; fetch the missing")
    sources.add_argument("action", choices=("status", "fetch"),
                         help="status: list each chart/directory and where it is; fetch: download the missing into "
                              "the cache ($XDG_CACHE_HOME/mlplane/sources; needs the network)")
    _add_stack_options(sources)
    _add_sources_option(sources)

    commands.add_parser("schema", help="print the JSON Schema of a stack file")
    return parser


def _load_config(args: argparse.Namespace) -> tuple[StackConfig, Path]:
    if args.config_file is not None:
        name = stack_name_for(args.config_file)
        if not is_stack_name(name):
            raise input_error(str(args.config_file), "--config-file", "the file name gives an invalid stack name",
                              value=name, allowed=f"Pulumi.<stack>.yaml, the stack name: {STACK_NAME_ALLOWED}")
        config = load_stack_file(args.config_file, display=str(args.config_file))
        root = project_root(args.config_file.resolve().parent)
        return config, root
    root = project_root()
    stack = args.stack or DEFAULT_STACK
    if not is_stack_name(stack):
        raise input_error("command line", "--stack", "not a valid stack name", value=stack, allowed=STACK_NAME_ALLOWED)
    path = stack_file(root, stack)
    if not path.is_file():
        stacks = ", ".join(available_stacks(root)) or "none"
        raise input_error(path.name, "--stack", "unknown stack", value=stack, allowed=stacks)
    return load_stack_file(path, stack=stack, display=path.name), root


def _render(config: StackConfig, sources: Path | None) -> Plan:
    """Render and expand; say on stderr which charts and directories stayed opaque."""
    from infra.offline.expand.engine import ExpandOptions, missing_message  # imports Pulumi and every component
    from infra.offline.expand.cache import expansions_cache, sources_cache
    from infra.offline.render import render_expanded

    if sources is not None and not sources.is_dir():
        raise input_error("command line", "--sources", "not a folder", value=str(sources),
                          allowed="a folder laid out like kubeflow-manifests/<ref>/..., charts/<chart>-<version>/")
    roots = tuple(r for r in (sources, sources_cache()) if r is not None and r.is_dir())
    expansion = render_expanded(config, ExpandOptions(roots=roots, cache=expansions_cache()))
    if expansion.missing:
        sys.stderr.write(missing_message(expansion.missing, config.source.stack))
    for path, urns in object_conflicts(expansion.plan).items():
        names = " and ".join(u.rsplit("::", 1)[-1] for u in urns)
        print(f"warning: {names} both create {path}; `pulumi up` would fail on the second (it exists already)",
              file=sys.stderr)
    return expansion.plan


def baseline_path(root: Path, stack: str) -> Path:
    """Where ``mlplane preview --save`` keeps a stack's baseline plan."""
    return root / ".mlplane" / "baselines" / f"{stack}.json"


def cmd_render(args: argparse.Namespace) -> int:
    """``mlplane render``: write plan.json and the manifests."""
    from infra.offline.output import write_render

    config, root = _load_config(args)
    plan = _render(config, args.sources)
    out = args.out if args.out is not None else root / "build" / config.source.stack
    try:
        count = write_render(plan, out)
    except OSError as exc:  # write_render leaves the folder as it was
        raise input_error(str(out), "--out", f"cannot write the render there: {exc.strerror or exc}",
                          value=str(out), allowed="a folder mlplane may create and write") from None
    print(f"Rendered stack {config.source.stack}: {len(plan)} resources, {count} manifests -> {out}")
    return EXIT_OK


def cmd_preview(args: argparse.Namespace) -> int:
    """``mlplane preview``: tree, then diff against the baseline; optionally save it."""
    from infra.offline.output import write_text_atomically
    from infra.offline.tree import format_tree

    config, root = _load_config(args)
    plan = _render(config, args.sources)
    against = args.against or baseline_path(root, config.source.stack)
    if args.against is None and not against.is_file():
        old = Plan(project=plan.project, stack=plan.stack)
        note = (f"No baseline for stack {plan.stack} yet: everything shows as create. "
                f"`mlplane preview --stack {plan.stack} --save` keeps this plan as the baseline.\n")
    else:
        old = load_plan(against)
        note = f"Compared with {against}.\n"
    diff = diff_plans(old, plan)
    if args.format == "text":
        from policy.upstream import summary, upstream_findings

        sys.stdout.write(format_tree(plan, diff) + "\n" + summary(upstream_findings(plan)) + note)
    sys.stdout.write(format_diff(diff, args.format))
    if args.save:
        write_text_atomically(baseline_path(root, plan.stack), plan.to_json_text())
        print(f"Saved as the baseline of stack {plan.stack}: {baseline_path(root, plan.stack)}", file=sys.stderr)
    return EXIT_DANGER if args.fail_on_danger and diff.has_danger else EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    """``mlplane diff OLD NEW``."""
    diff = diff_plans(load_plan(args.old), load_plan(args.new))
    sys.stdout.write(format_diff(diff, args.format))
    return EXIT_DANGER if args.fail_on_danger and diff.has_danger else EXIT_OK


def cmd_sources(args: argparse.Namespace) -> int:
    """``mlplane sources status|fetch``."""
    from infra.offline.expand import fetch
    from infra.offline.expand.cache import sources_cache
    from infra.offline.render import render_config

    config, _ = _load_config(args)
    if args.sources is not None and not args.sources.is_dir():
        raise input_error("command line", "--sources", "not a folder", value=str(args.sources),
                          allowed="a folder laid out like kubeflow-manifests/<ref>/..., charts/<chart>-<version>/")
    plan = render_config(config)
    if args.action == "fetch":
        try:
            fetched = fetch.fetch(plan, sources_cache())
        except fetch.FetchError as exc:
            raise input_error("network", "mlplane sources fetch", f"cannot fetch the sources: {exc}",
                              has_value=False, allowed="a machine that reaches the chart repositories and "
                              "github.com, or `--sources DIR` with the sources copied there") from None
        print(f"Fetched into {sources_cache()}: {', '.join(fetched) or 'nothing (all present)'}")
    roots = tuple(r for r in (args.sources, sources_cache()) if r is not None and r.is_dir())
    sys.stdout.write(fetch.format_status(fetch.status(plan, roots)))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """``mlplane schema``: the stack file's JSON Schema on stdout."""
    from infra.config.schema import stack_file_schema

    print(json.dumps(stack_file_schema(), indent=2, sort_keys=True))
    return EXIT_OK


_COMMANDS = {"render": cmd_render, "preview": cmd_preview, "diff": cmd_diff, "sources": cmd_sources,
             "schema": cmd_schema}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mlplane`` command; returns (and, as a script, exits with) its code."""
    args = build_parser().parse_args(argv)
    try:
        with gc_paused():  # a short-lived process: see gc_paused for why
            return _COMMANDS[args.command](args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except (ManifestError, OfflineUnsupportedError, SourceFailure) as exc:
        if os.environ.get("MLPLANE_DEBUG"):
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
