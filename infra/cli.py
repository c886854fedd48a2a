"""The ``mlplane`` command: render, preview and diff the plan offline; print the schema.

Text output is coloured on a terminal (rich), plain when piped or with ``NO_COLOR``;
work that takes more than a moment shows a spinner on stderr (terminals only).

Exit codes: 0 success; 1 ``--fail-on-danger`` found a dangerous change (or a changed chart or
directory that was not expanded, unless ``--allow-unexpanded``; ``verify --fail-on-problem``:
a problem); 2 bad input (unknown stack, invalid config, unreadable plan, unusable
control-plane binaries), reported without a traceback and without writing anything;
3 anything unexpected (a bug, or ``verify``'s harness failing), with the traceback in a file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from mlplane.infra.config import StackConfig

if TYPE_CHECKING:
    from mlplane.infra.offline.expand.engine import Expansion
from mlplane.infra.load import load_stack_file
from mlplane.infra.config.loader import stack_name_for
from mlplane.infra.config.secrets import format_slots, secret_slots, unset_required
from mlplane.infra.config.stackfile import read_stack_document
from mlplane.infra.config.workbenches import unchecked_shrink_note
from mlplane.core.suggest import did_you_mean
from mlplane.core.errors import InputError, OfflineUnsupportedError, input_error
from mlplane.infra.offline.crash import traceback_file
from mlplane.infra.offline.diff import PlanDiff, diff_plans
from mlplane.infra.offline.expand.errors import SourceFailure
from mlplane.infra.offline.manifests import object_conflicts
from mlplane.infra.offline.plan import Plan, load_plan
from mlplane.infra.offline.memory import gc_paused
from mlplane.infra.prerequisites import format_prerequisites, prerequisites
from mlplane.infra.project import (
    PROJECT_FILE,
    STACK_NAME_ALLOWED,
    available_stacks,
    enclosing_root,
    is_stack_name,
    project_name,
    project_root,
    stack_file,
)

DEFAULT_STACK = "dev"
EXIT_OK, EXIT_DANGER, EXIT_INPUT, EXIT_UNEXPECTED = 0, 1, 2, 3


def _add_stack_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", "-s", default=None,
                        help=f"stack name: reads Pulumi.NAME.yaml in the project root (default: {DEFAULT_STACK})")
    source.add_argument("--config-file", "-c", type=Path, default=None,
                        help="any stack file; relative paths inside it resolve against its folder")
    _add_cwd_option(parser)


def _add_cwd_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cwd", "-C", type=Path, default=None, metavar="DIR",
                        help="run as if started in DIR: the project is the nearest folder with a Pulumi.yaml "
                             "from there (as the Pulumi CLI's --cwd)")


def _add_danger_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", "-f", choices=("text", "markdown", "json"), default="text",
                        help="how to print the diff (default: text)")
    parser.add_argument("--fail-on-danger", action="store_true",
                        help="exit 1 when a change would destroy data (a volume, a database, a CRD and its "
                             "objects), skip a supported upgrade step, or change a chart/directory that was not "
                             "expanded (its objects unchecked)")
    parser.add_argument("--allow-unexpanded", action="store_true",
                        help="with --fail-on-danger: do not fail on changed charts/directories that were not "
                             "expanded (what they install stays unchecked; the report still says so)")
    parser.add_argument("--max-chars", type=int, default=None, metavar="N",
                        help="markdown: at most N characters in all (default 50000, within what one "
                             "pull-request comment holds); dangers, sections and rows that do not fit are "
                             "left out whole and counted")


def version() -> str:
    """mlplane's version, from the installed package's metadata."""
    try:
        return metadata.version("mlplane")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _add_sources_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sources", type=Path, default=None, metavar="DIR",
                        help="a folder of upstream sources (kubeflow-manifests/<ref>/, charts/<chart>-<version>/, "
                             "remote/) to expand charts and kustomize directories from; the cache "
                             "($XDG_CACHE_HOME/mlplane/sources) is searched after it")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mlplane`` command."""
    parser = argparse.ArgumentParser(
        prog="mlplane",
        description="Render, preview and diff the mlplane plan offline (no cluster, no cloud, no Pulumi CLI).",
    )
    parser.add_argument("--version", action="version", version=f"mlplane {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="write plan.json and manifests/ for a stack")
    _add_stack_options(render)
    render.add_argument("--out", "-o", type=Path, default=None,
                        help="output folder (default: build/<stack> in the project root)")
    _add_sources_option(render)

    preview = commands.add_parser("preview", help="show the diff against a baseline (and the resource tree)")
    _add_stack_options(preview)
    preview.add_argument("--against", type=Path, default=None,
                         help="plan to compare with (default: the stack's saved baseline)")
    preview.add_argument("--save", action="store_true", help="make this plan the stack's baseline")
    preview.add_argument("--tree", action="store_true",
                         help="also print the resource tree (always printed when there is no baseline)")
    preview.add_argument("--expand-tree", action="store_true",
                         help="print the tree with every object of expanded Helm charts and kustomize directories")
    _add_sources_option(preview)
    _add_danger_options(preview)

    diff = commands.add_parser("diff", help="compare two plan files, or a git revision with the working tree",
                               description="Compare OLD with NEW, or (--base REF) the stack as REF renders it, "
                                           "with REF's own code, with the working tree's.")
    diff.add_argument("old", type=Path, nargs="?", help="the plan as it is (plan.json or its folder)")
    diff.add_argument("new", type=Path, nargs="?", help="the plan as it would become")
    diff.add_argument("--base", metavar="REF", default=None,
                      help="git revision to compare the working tree with (e.g. origin/main); renders the stack "
                           "at REF in a temporary worktree with REF's code")
    _add_stack_options(diff)
    _add_sources_option(diff)
    _add_danger_options(diff)

    secrets = commands.add_parser("secrets", help="list the secrets a stack needs, set or not, and how to set them")
    _add_stack_options(secrets)
    secrets.add_argument("--set", action="store_true", dest="set_secrets",
                         help="prompt (without echo) for each missing required secret and store it with "
                              "`pulumi config set --secret --path`")

    sources = commands.add_parser("sources", help="which upstream sources of a stack are at hand; fetch the missing")
    sources.add_argument("action", choices=("status", "fetch"),
                         help="status: list each chart/directory and where it is; fetch: download the missing into "
                              "the cache ($XDG_CACHE_HOME/mlplane/sources; needs the network)")
    _add_stack_options(sources)
    _add_sources_option(sources)

    verify = commands.add_parser("verify", help="apply the expanded plan to a throwaway Kubernetes control plane "
                                 "and report what it refuses (docs/verify.md)")
    _add_stack_options(verify)
    _add_sources_option(verify)
    from mlplane.infra.offline.verify.command import add_arguments

    add_arguments(verify)

    init = commands.add_parser("init", help="scaffold a platform repository that uses mlplane as a library",
                               description="Write a Pulumi project that runs mlplane's program: Pulumi.yaml, "
                                           "__main__.py, requirements.txt, one stack file per backend, pipelines/, "
                                           "policy/, .gitignore and the pull-request workflows. Overwrites nothing.")
    init.add_argument("dir", type=Path, nargs="?", default=Path("."), help="the repository's folder (default: .)")
    init.add_argument("--project-name", default=None, metavar="NAME",
                      help="the Pulumi project's name, part of every URN (default: the folder's name)")
    init.add_argument("--backend", action="append", default=[], metavar="BACKEND",
                      help="a stack to write, by backend: dev, selfhosted, gke, eks or aks; repeatable (default: dev)")
    init.add_argument("--mlplane-spec", default=None, metavar="SPEC",
                      help="the pip requirement requirements.txt names mlplane with (default: where this mlplane "
                           "was installed from, e.g. a git URL pinned to its commit)")

    images = commands.add_parser("images", help="list every image the expanded plan runs, and where; print the "
                                 "mlplane:images.digests skeleton to fill (docs/security.md)")
    _add_stack_options(images)
    _add_sources_option(images)
    images.add_argument("--format", choices=("yaml", "json"), default="yaml",
                        help="yaml: a commented skeleton to paste into the stack file (default); json: every use")

    schema = commands.add_parser("schema", help="print the JSON Schema of a stack file")
    schema.add_argument("--out", "-o", type=Path, default=None,
                        help="write the schema to this file (its folders are created) instead of printing it")
    return parser


def _stack_path(args: argparse.Namespace) -> tuple[Path, str, str, Path]:
    """The stack file the options name: ``(path, stack, how to name it, project root)``.

    The project is the nearest folder with a Pulumi.yaml, from ``--cwd`` (default: the
    current folder); ``--stack NAME`` reads its ``Pulumi.NAME.yaml``. A ``--config-file``
    belongs to the project above it, or stands alone (its own folder) outside any.
    """
    start = _start_folder(args)
    if args.config_file is not None:
        config_file = args.config_file if args.config_file.is_absolute() else start / args.config_file
        name = stack_name_for(config_file)
        if not is_stack_name(name):
            raise input_error(str(args.config_file), "--config-file", "the file name gives an invalid stack name",
                              value=name, allowed=f"Pulumi.<stack>.yaml, the stack name: {STACK_NAME_ALLOWED}")
        return config_file, name, str(args.config_file), enclosing_root(config_file.parent)
    root = project_root(start)
    stack = args.stack or DEFAULT_STACK
    if not is_stack_name(stack):
        raise input_error("command line", "--stack", "not a valid stack name", value=stack, allowed=STACK_NAME_ALLOWED)
    path = stack_file(root, stack)
    if not path.is_file():
        stacks = available_stacks(root)
        raise input_error(str(path), "--stack", "unknown stack" + did_you_mean(stack, stacks), value=stack,
                          allowed=", ".join(stacks) or f"none yet: add {path.name}, or `mlplane init` a project")
    return path, stack, path.name, root


def _start_folder(args: argparse.Namespace) -> Path:
    """Where the project search starts: ``--cwd DIR`` or the current folder."""
    cwd = getattr(args, "cwd", None)
    if cwd is None:
        return Path.cwd()
    if not cwd.is_dir():
        raise input_error("command line", "--cwd", "not a folder", value=str(cwd), allowed="an existing folder")
    return cwd.resolve()


def _load_config(args: argparse.Namespace) -> tuple[StackConfig, Path]:
    path, stack, display, root = _stack_path(args)
    project = project_name(root) if (root / PROJECT_FILE).is_file() else "mlplane"
    config = load_stack_file(path, stack=stack if args.config_file is None else None, display=display,
                             project=project)
    _note_unset_secrets(path, config.source.command_argument, display)
    unchecked = unchecked_shrink_note(config)
    if unchecked:
        print(f"note: {display}: {unchecked}", file=sys.stderr)
    return config, root


def _note_unset_secrets(path: Path, stack_argument: str, display: str) -> None:
    """Say on stderr which required secrets are not set yet (the offline plan has unknowns there).

    ``stack_argument`` is how the user named the stack (``--stack NAME`` or
    ``--config-file PATH``), so the command the note suggests reads the same file.
    """
    missing = unset_required(secret_slots(read_stack_document(path, display).config))
    if missing:
        keys = ", ".join(slot.key for slot in missing)
        print(f"note: {display}: {len(missing)} required secret(s) not set ({keys}); the offline plan shows them "
              f"as [secret], a real `pulumi up` stops. `mlplane secrets {stack_argument}` says how to set them.",
              file=sys.stderr)


def _source_roots(sources: Path | None) -> tuple[Path, ...]:
    """``--sources`` (checked) and then the cache's sources folder, those that exist."""
    from mlplane.infra.offline.expand.cache import sources_cache

    if sources is not None and not sources.is_dir():
        raise input_error("command line", "--sources", "not a folder", value=str(sources),
                          allowed="a folder laid out like kubeflow-manifests/<ref>/..., charts/<chart>-<version>/")
    return tuple(r.resolve() for r in (sources, sources_cache()) if r is not None and r.is_dir())


def _render(config: StackConfig, sources: Path | None, enforce: bool = True) -> Plan:
    """Render and expand; say on stderr which charts and directories stayed opaque (and how
    to fetch them, naming the stack as the user did). ``enforce``: refuse under
    ``images.require_digest`` (``mlplane images`` lists the plan instead)."""
    return _render_expansion(config, sources, enforce).plan


def _render_expansion(config: StackConfig, sources: Path | None, enforce: bool = True) -> "Expansion":
    from mlplane.infra.offline.expand.cache import expansions_cache
    from mlplane.infra.offline.expand.engine import ExpandOptions, missing_message  # imports Pulumi and every component
    from mlplane.infra.offline.render import render_expanded

    roots = _source_roots(sources)
    with progress(f"Rendering stack {config.source.stack}"):
        expansion = render_expanded(config, ExpandOptions(roots=roots, cache=expansions_cache(),
                                                          explicit=roots[:1] if sources is not None else ()))
    from mlplane.policy.images import refuse_tags, unused_digests

    if enforce:
        refuse_tags(config, expansion.plan)  # mlplane:images.require_digest, on what the cluster would run
    if expansion.missing:
        sys.stderr.write(missing_message(expansion.missing, config.source.command_argument))
    else:  # with a chart unexpanded, its images are unknown: an entry may well be used
        unused = unused_digests(config, expansion.plan)
        if unused:
            print(f"warning: {config.source.display}: mlplane:images.digests names {len(unused)} image(s) the "
                  f"plan does not run (first: {unused[0]!r}); a leftover of an upgrade, or a typo "
                  "(`mlplane images` lists what the plan runs)", file=sys.stderr)
    for path, urns in object_conflicts(expansion.plan).items():
        names = " and ".join(u.rsplit("::", 1)[-1] for u in urns)
        print(f"warning: {names} both create {path}; `pulumi up` would fail on the second (it exists already)",
              file=sys.stderr)
    return expansion


def stdout_console() -> Console:
    """The console for reports: colour on a terminal, none when piped or with NO_COLOR."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


@contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner on stderr while ``message``'s work runs (only on a terminal)."""
    console = Console(file=sys.stderr, highlight=False)
    if not console.is_terminal or console.is_dumb_terminal:
        yield
        return
    with console.status(f"{message}…"):
        yield


def _write_report(diff: PlanDiff, args: argparse.Namespace, note: str = "", list_changes: bool = True) -> None:
    """Print the diff with its accelerator cost and, in Markdown, the graph of the change."""
    from mlplane.infra.offline.report import text_report
    from mlplane.infra.offline.sections import cost_text, json_report, markdown_report

    if args.format == "json":
        sys.stdout.write(json_report(diff))
    elif args.format == "markdown":
        from mlplane.infra.offline.report import BudgetTooSmall

        try:
            text = markdown_report(diff, args.max_chars, note)
        except BudgetTooSmall as exc:
            raise input_error("command line", "--max-chars", "too small for this diff's title, summary and note",
                              value=args.max_chars, allowed=f"at least {exc.minimum}") from None
        sys.stdout.write(text)
    else:
        console = stdout_console()
        if note:
            console.print(note.rstrip("\n"), markup=False)
        console.print(text_report(diff, cost_text(diff), list_changes), markup=False, end="")


def cmd_render(args: argparse.Namespace) -> int:
    """``mlplane render``: write plan.json and the manifests."""
    from mlplane.infra.offline.expand.cache import cache_home
    from mlplane.infra.offline.output import write_render
    from mlplane.infra.offline.yaml_texts import YamlTexts

    config, root = _load_config(args)
    plan = _render(config, args.sources)
    out = args.out if args.out is not None else root / "build" / config.source.stack
    texts = YamlTexts(cache_home() / "manifests" / f"{config.source.stack}.json")
    try:
        count = write_render(plan, out, texts)
    except OSError as exc:  # write_render leaves the folder as it was
        raise input_error(str(out), "--out", f"cannot write the render there: {exc.strerror or exc}",
                          value=str(out), allowed="a folder mlplane may create and write") from None
    texts.save()
    print(f"Rendered stack {config.source.stack}: {len(plan)} resources, {count} manifests -> {out}")
    return EXIT_OK


def _check_max_chars(args: argparse.Namespace) -> None:
    """``--max-chars`` bounds a Markdown diff only: refuse it with another format rather than ignore it."""
    if args.max_chars is not None and args.format != "markdown":
        raise input_error("command line", "--max-chars", f"only bounds a Markdown diff, not --format {args.format}",
                          value=args.max_chars, allowed="--max-chars with --format markdown")


def cmd_preview(args: argparse.Namespace) -> int:
    """``mlplane preview``: the diff against the baseline (and the tree); optionally save it."""
    from mlplane.infra.offline.output import write_text_atomically
    from mlplane.infra.offline.tree import format_tree

    _check_max_chars(args)
    config, root = _load_config(args)
    plan = _render(config, args.sources)
    against = args.against or config.source.baseline
    no_baseline = args.against is None and not against.is_file()
    if no_baseline:
        old = Plan(project=plan.project, stack=plan.stack)
        note = (f"No baseline for stack {plan.stack} yet: everything shows as create. "
                f"`mlplane preview {config.source.command_argument} --save` keeps this plan as the baseline.\n")
    else:
        old = load_plan(against)
        note = f"Compared with {against}.\n"
    diff = _naming_stack(diff_plans(old, plan), config.source.command_argument)
    # Summary first; without a baseline everything is a create, and the tree shows it all.
    _write_report(diff, args, note, list_changes=not no_baseline)
    if args.format == "text" and _mesh_note(config):
        # What the plan needs from an existing mesh, which no resource of it can show.
        stdout_console().print("\n" + _mesh_note(config), markup=False, end="")
    if args.format == "text" and _trust_note(config):
        stdout_console().print("\n" + _trust_note(config), markup=False, end="")
    if args.format == "text" and (args.tree or args.expand_tree or no_baseline):
        stdout_console().print("\n" + format_tree(plan, diff, expand=args.expand_tree), markup=False, end="")
    if args.format == "text":
        from mlplane.policy.upstream import summary, upstream_findings

        sys.stdout.write(summary(upstream_findings(plan)))
        sys.stdout.write(format_prerequisites(prerequisites(config), plan.stack))
    if args.save:
        write_text_atomically(config.source.baseline, plan.to_json_text())
        print(f"Saved as the baseline of stack {plan.stack}: {config.source.baseline}", file=sys.stderr)
    return _exit_code(diff, args)


def _exit_code(diff: PlanDiff, args: argparse.Namespace) -> int:
    """1 under ``--fail-on-danger`` when the diff fails (see :meth:`PlanDiff.fails`), else 0."""
    return EXIT_DANGER if args.fail_on_danger and diff.fails(args.allow_unexpanded) else EXIT_OK


def _naming_stack(diff: PlanDiff, stack_argument: str) -> PlanDiff:
    """``diff`` whose unexpanded-sources statement names the stack as the user did."""
    from dataclasses import replace

    return replace(diff, unexpanded=replace(diff.unexpanded, stack_argument=stack_argument))


def _trust_note(config: StackConfig) -> str:
    """How users trust the platform CA, when the stack serves TLS from it (empty: it does not)."""
    from mlplane.components.platform.cert_manager import trust_note
    from mlplane.components.platform.resolve import resolve

    spec = config.kubeflow
    if spec is None or spec.issuer.kind != "self-signed" or not resolve(spec)["cert_manager"].available:
        return ""
    serving = config.serving
    exposed = spec.ingress.effective_tls or any(
        item.host for item in (*(serving.endpoints if serving else ()), *(serving.web_apps if serving else ())))
    return trust_note(resolve(spec)["cert_manager"].namespace) if exposed else ""


def _mesh_note(config: StackConfig) -> str:
    """What an existing mesh's config must carry for this plan to work (empty: nothing)."""
    from mlplane.infra.config.auth import mesh_config_entry

    entry = mesh_config_entry(config)
    if entry is None:
        return ""
    indented = "".join(f"  {line}\n" for line in entry.splitlines())
    return ("The cluster's existing Istio must carry this mesh config entry (meshConfig), or every request "
            f"through the gateway is denied:\n{indented}")


def cmd_diff(args: argparse.Namespace) -> int:
    """``mlplane diff OLD NEW`` or ``mlplane diff --base REF [--stack NAME | --config-file PATH]``."""
    _check_max_chars(args)
    if args.base is None:
        if args.old is None or args.new is None:
            raise input_error("command line", "diff", "two plans to compare, or --base REF, are needed",
                              has_value=False, allowed="mlplane diff OLD NEW, or mlplane diff --base REF")
        if args.stack or args.config_file:
            raise input_error("command line", "--stack", "only with --base", value=args.stack or str(args.config_file),
                              allowed="mlplane diff OLD NEW compares two plan files as they are")
        diff = diff_plans(load_plan(args.old), load_plan(args.new))
        note = ""
    else:
        if args.old is not None:
            raise input_error("command line", "diff", "--base compares a revision with the working tree; "
                              "plan files are not taken with it", value=str(args.old),
                              allowed="mlplane diff --base REF [--stack NAME | --config-file PATH]")
        from mlplane.infra.offline.revision import render_at_revision

        config, root = _load_config(args)
        with progress(f"Rendering stack {config.source.stack} at {args.base} (its own code)"):
            old, note = render_at_revision(root, args.base, config.source.stack, args.config_file, args.sources)
        diff = _naming_stack(diff_plans(old, _render(config, args.sources)), config.source.command_argument)
    _write_report(diff, args, note)
    return _exit_code(diff, args)


def cmd_schema(args: argparse.Namespace) -> int:
    """``mlplane schema [--out PATH]``: the stack file's JSON Schema, printed or written."""
    from mlplane.infra.config.schema import stack_file_schema
    from mlplane.infra.offline.output import write_text_atomically

    text = json.dumps(stack_file_schema(), indent=2, sort_keys=True) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_text_atomically(args.out, text)
    except OSError as exc:
        raise input_error(str(args.out), "--out", f"cannot write the schema there: {exc.strerror or exc}",
                          value=str(args.out), allowed="a file path mlplane may create and write") from None
    print(f"Wrote the stack-file schema to {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_images(args: argparse.Namespace) -> int:
    """``mlplane images``: the images of the expanded plan and the ``images.digests`` skeleton."""
    from mlplane.policy.image_list import format_images

    config, _ = _load_config(args)
    expansion = _render_expansion(config, args.sources, enforce=False)
    sys.stdout.write(format_images(config, expansion.plan, args.format, unexpanded=len(expansion.missing)))
    return EXIT_OK


def cmd_sources(args: argparse.Namespace) -> int:
    """``mlplane sources status|fetch``."""
    from mlplane.infra.offline.expand import fetch
    from mlplane.infra.offline.expand.cache import sources_cache
    from mlplane.infra.offline.render import render_config

    config, _ = _load_config(args)
    _source_roots(args.sources)  # refuses a --sources that is not a folder before any work
    plan = render_config(config)
    if args.action == "fetch":
        try:
            fetched = fetch.fetch(plan, sources_cache())
        except fetch.FetchError as exc:
            raise input_error("network", "mlplane sources fetch", f"cannot fetch the sources: {exc}",
                              has_value=False, allowed="a machine that reaches the chart repositories and "
                              "github.com, or `--sources DIR` with the sources copied there") from None
        print(f"Fetched into {sources_cache()}: {', '.join(fetched) or 'nothing (all present)'}")
    sys.stdout.write(fetch.format_status(fetch.status(plan, _source_roots(args.sources))))
    return EXIT_OK


def cmd_secrets(args: argparse.Namespace) -> int:
    """``mlplane secrets``: every secret of a stack, set or not; ``--set`` sets the missing ones."""
    path, stack, display, root = _stack_path(args)
    slots = secret_slots(read_stack_document(path, display).config)
    sys.stdout.write(format_slots(slots, stack, display, args.config_file))
    if not args.set_secrets:
        return EXIT_OK
    from mlplane.infra.secrets_set import set_secrets

    return set_secrets(unset_required(slots), stack, root, args.config_file)


def cmd_verify(args: argparse.Namespace) -> int:
    """``mlplane verify``: a real control plane judges the expanded plan (exit 1 problem, 3 harness failure)."""
    from mlplane.infra.offline.verify.command import run

    return run(args, lambda: _load_config(args)[0], lambda config: _render(config, args.sources))


def cmd_init(args: argparse.Namespace) -> int:
    """``mlplane init [DIR]``: scaffold a platform repository (refuses to overwrite anything)."""
    from mlplane.infra.scaffold import ScaffoldOptions, scaffold

    written, warning = scaffold(ScaffoldOptions(target=args.dir, project_name=args.project_name,
                                                backends=tuple(args.backend), mlplane_spec=args.mlplane_spec))
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"Wrote {len(written)} files to {args.dir}: {', '.join(written)}")
    print(f"Next: cd {args.dir} && git init && mlplane preview  (docs: README, \"Use mlplane in your own repository\")")
    return EXIT_OK


_COMMANDS = {"init": cmd_init, "render": cmd_render, "verify": cmd_verify, "preview": cmd_preview, "diff": cmd_diff,
             "schema": cmd_schema, "secrets": cmd_secrets, "sources": cmd_sources, "images": cmd_images}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mlplane`` command; returns (and, as a script, exits with) its code."""
    args = build_parser().parse_args(argv)
    try:
        with gc_paused():  # a short-lived process: see gc_paused for why
            return _COMMANDS[args.command](args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except (OfflineUnsupportedError, SourceFailure) as exc:
        if os.environ.get("MLPLANE_DEBUG"):
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        # The reader went away (`mlplane preview | head`): stop quietly, as Unix tools do.
        # Point stdout at devnull so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - anything else is mlplane's fault, never a danger or bad input
        return _unexpected(exc)


def _unexpected(exc: Exception) -> int:
    """Report an internal error: one line on stderr, the traceback in a file; exit 3.

    Python's own exit code for an uncaught exception is 1, which ``--fail-on-danger``
    also uses: a CI would report a crash as a data danger. Exit 3 keeps them apart.
    """
    where = traceback_file(f"mlplane {version()}")
    print(f"internal error (exit {EXIT_UNEXPECTED}): {type(exc).__name__}: {exc}; {where}. This is a bug in mlplane, "
          "not a problem with your input or plan.", file=sys.stderr)
    return EXIT_UNEXPECTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
