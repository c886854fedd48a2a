"""Turning raw stack-file values into a validated :class:`StackConfig`.

One function, :func:`validate_config`, serves both ways of running: the offline render
(values read from the YAML file, with line numbers) and the Pulumi engine (values from
the engine's config, already decrypted). Every problem found is reported at once, with
the stack file, the key path, the value and what is allowed; no resource is created
before this has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import TypeAdapter, ValidationError

from mlplane.components.base import SecretValue
from mlplane.infra.config.introspect import allowed_keys, field_info, model_at
from mlplane.infra.config.paths import format_path
from mlplane.infra.config.rules import Rule, cross_check
from mlplane.infra.config.secrets import fill_unset, secret_slots, unset_problems, unset_required
from mlplane.infra.config.source import StackSource
from mlplane.infra.config.stack import NAMESPACE, StackConfig, required_sections, section_names
from mlplane.infra.config.stackfile import StackDocument, read_stack_document
from mlplane.core.errors import InputError, Problem, describe_validation_error, show_value
from mlplane.core.suggest import did_you_mean

#: Config namespaces that may appear in a stack file besides mlplane's own: the
#: providers' own settings (Pulumi reads them for default providers).
PROVIDER_NAMESPACES = ("pulumi", "kubernetes", "gcp", "aws", "azure-native", "random")

LineLookup = Callable[[tuple[Any, ...]], "int | None"]


def load_stack_file(path: Path, stack: str | None = None, display: str | None = None,
                    checks: Sequence[Rule] = (), project: str = "mlplane") -> StackConfig:
    """Read, check and validate a stack file for the offline render.

    Args:
        path: The stack file.
        stack: The stack name; default: ``X`` for ``Pulumi.X.yaml``, else the file stem.
        display: How to name the file in messages.
        checks: Further rules run after the cross-section rules, reported the same way
            (the stack program hands down its pipeline checks: mlplane.infra.load).
        project: The Pulumi project's name (its Pulumi.yaml ``name:``), part of every URN.

    Returns:
        The validated config, bound to its source.

    Raises:
        InputError: Anything wrong with the file, all problems at once.
    """
    document = read_stack_document(path, display)
    name = stack or stack_name_for(path)
    shown = Path(display) if display else path
    source = StackSource(stack=name, file=shown, base_dir=path.resolve().parent,
                         argument=None if stack else f"--config-file {shown}", project=project)
    return validate_document(document, source, checks)


def stack_name_for(path: Path) -> str:
    """The stack name a file stands for: ``dev`` for ``Pulumi.dev.yaml``."""
    stem = path.name
    if stem.startswith("Pulumi.") and stem.endswith((".yaml", ".yml")):
        return stem[len("Pulumi."):].rsplit(".", 1)[0]
    return path.stem


def validate_document(document: StackDocument, source: StackSource, checks: Sequence[Rule] = ()) -> StackConfig:
    """Validate a stack document's ``config:`` map (offline path)."""
    return validate_config(document.config, source, line_of=document.line_of, checks=checks)


def validate_config(
    config: Mapping[str, Any],
    source: StackSource,
    *,
    line_of: LineLookup | None = None,
    secret_keys: frozenset[str] = frozenset(),
    unset_secrets: Literal["unknown", "refuse"] = "unknown",
    checks: Sequence[Rule] = (),
) -> StackConfig:
    """Validate a stack's ``config:`` map into a :class:`StackConfig`.

    Args:
        config: ``{"mlplane:cluster": {...}, ...}`` as read from the file or engine.
        source: Where it came from, for messages and relative paths.
        line_of: Maps a key path (``("mlplane:cluster", "kind")``) to its line.
        secret_keys: Config keys the engine marks as secret; their plain strings may
            fill secret fields (the engine decrypted them).
        unset_secrets: What a required secret without a value becomes: ``unknown`` (the
            offline render: an unknown secret, as a ``secure:`` value is offline) or
            ``refuse`` (the engine: an error saying how to set it).
        checks: Further rules, run after the cross-section rules (the stack program's
            pipeline checks, which need compiled pipelines: mlplane.infra.load).

    Returns:
        The validated config, bound to ``source``.

    Raises:
        InputError: Every problem found, each with key path, value and what is allowed.
    """
    lines = line_of or (lambda path: None)
    slots = secret_slots(config)
    if unset_secrets == "refuse" and unset_required(slots):
        raise InputError(source.display, tuple(
            replace(problem, line=lines(slot.path))
            for slot, problem in zip(unset_required(slots), unset_problems(slots, source.stack, secret_keys), strict=True)))
    config = fill_unset(config, slots)
    problems: list[Problem] = []
    sections: dict[str, Any] = {}
    allowed_keys = ", ".join(f"{NAMESPACE}:{name}" for name in section_names())

    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if not name:
            problems.append(Problem(key, "config keys must be namespaced, like `mlplane:cluster`",
                                    allowed=allowed_keys, line=lines((key,))))
        elif namespace == NAMESPACE:
            if name not in StackConfig.model_fields:
                hint = did_you_mean(name, section_names(), prefix=f"{NAMESPACE}:")
                problems.append(Problem(key, "unknown key" + hint, allowed=allowed_keys, line=lines((key,))))
            else:
                problems.extend(_validate_section(name, key, value, lines, key in secret_keys, sections))
        elif namespace not in PROVIDER_NAMESPACES:
            allowed = f"{NAMESPACE}:<section> or a provider namespace ({', '.join(PROVIDER_NAMESPACES)})"
            hint = did_you_mean(namespace, (NAMESPACE, *PROVIDER_NAMESPACES), suffix=":")
            problems.append(Problem(key, "unknown config namespace" + hint, allowed=allowed, line=lines((key,))))

    for name in required_sections():
        if f"{NAMESPACE}:{name}" not in config:
            description = StackConfig.model_fields[name].description or ""
            problems.append(Problem(f"{NAMESPACE}:{name}", f"required key is missing: {description}"))

    if problems:
        raise InputError(source.display, tuple(sorted(problems, key=lambda p: (p.line or 0, p.path))))
    try:
        # Bound to its source before the rules run: they name the stack and resolve paths.
        stack_config = StackConfig.model_validate(sections).with_source(source)
    except ValidationError as exc:
        raise InputError(source.display, tuple(_problems(exc, f"{NAMESPACE}", {}, lines, ()))) from None
    findings = cross_check(stack_config) + [finding for check in checks for finding in check(stack_config)]
    if findings:
        raise InputError(source.display, tuple(
            Problem(
                path=format_path(f.path),
                message=f.message,
                # A key the engine marks secret may hold decrypted values anywhere in it.
                value=show_value(f.value, secret=bool(f.path) and f.path[0] in secret_keys)
                if f.has_value else None,
                allowed=f.allowed,
                line=lines(f.path),
            )
            for f in findings
        ))
    return stack_config


@lru_cache(maxsize=None)
def _section_adapter(name: str) -> TypeAdapter[Any]:
    field = StackConfig.model_fields[name]
    # The FieldInfo carries metadata such as the union discriminator; keep it.
    return TypeAdapter(Annotated[field.annotation, field])


def _validate_section(
    name: str,
    key: str,
    value: Any,
    lines: LineLookup,
    plain_secrets_ok: bool,
    into: dict[str, Any],
) -> list[Problem]:
    adapter = _section_adapter(name)
    try:
        validated = adapter.validate_python(value, context={"plain_secrets_ok": plain_secrets_ok})
    except ValidationError as exc:
        return _problems(exc, key, value, lines, (key,), StackConfig.model_fields[name].annotation,
                         secret=plain_secrets_ok)
    into[name] = validated
    return []


def _problems(
    exc: ValidationError,
    key: str,
    raw: Any,
    lines: LineLookup,
    prefix: tuple[Any, ...],
    annotation: Any = None,
    *,
    secret: bool = False,
) -> list[Problem]:
    """Stack-file problems for a validation error; ``secret``: the whole key is secret.

    The engine decrypts ``secure:`` values and only says which *keys* hold one, so in
    such a key any value (a typo'd key, a secret written where plain text belongs) may
    be a decrypted secret: none of its values is echoed.
    """
    problems = []
    for error in exc.errors(include_url=False):
        path, value, has_value = _locate(raw, error["loc"], error.get("input"), missing=error["type"] == "missing")
        if error["type"] in ("union_tag_invalid", "union_tag_not_found") and isinstance(value, Mapping):
            path, value, has_value = (*path, "kind"), value.get("kind"), "kind" in value
        message, allowed = _describe(error, value)
        if annotation is not None and error["type"] == "extra_forbidden":
            allowed = allowed_keys(annotation, raw, path[:-1])
            # A key users put in the wrong place (a model's ``misplaced_keys``) says where it belongs.
            model = model_at(annotation, raw, path[:-1]) if path else None
            misplaced = getattr(model, "misplaced_keys", {}).get(path[-1]) if path else None
            if misplaced:
                message += f": {misplaced}"
            elif allowed and path:
                message += did_you_mean(str(path[-1]), allowed.split(", "))
        if annotation is not None and error["type"] in _MAPPING_ERRORS:
            keys = allowed_keys(annotation, raw, path)
            if keys:
                allowed = f"a mapping with the keys {keys}"
        if annotation is not None and error["type"] == "missing":
            info = field_info(annotation, raw, path)
            if info is not None and info.description:
                message = f"{message}: {info.description}"
        full = (*prefix, *path) if prefix else (key, *path)
        problems.append(
            Problem(
                path=format_path(full),
                message=message,
                # A credential typed in plain text is still a credential: never echo it.
                value=show_value(value, secret=secret or error["type"] == "secret_in_plain_text")
                if has_value else None,
                allowed=allowed,
                line=lines(full),
            )
        )
    return _merge_union_members(problems)


#: Errors where a mapping (a model's keys) was expected and something else was given.
_MAPPING_ERRORS = ("model_type", "model_attributes_type", "dataclass_type")


def _merge_union_members(problems: list[Problem]) -> list[Problem]:
    """One problem per key: a value that fits none of a union's members gets one message.

    Pydantic reports each member of ``str | int | list[str]`` on its own; the user wrote
    one value, so the members' "must be" texts are joined with "or".
    """
    merged: dict[tuple[str, str | None], Problem] = {}
    for problem in problems:
        key = (problem.path, problem.value)
        first = merged.get(key)
        if first is None:
            merged[key] = problem
        elif first.message.startswith("must be ") and problem.message.startswith("must be ") \
                and problem.message not in first.message:
            merged[key] = replace(first, message=f"{first.message} or {problem.message.removeprefix('must be ')}",
                                  allowed=None)
    return list(merged.values())


def _locate(raw: Any, loc: tuple[Any, ...], error_input: Any, *, missing: bool = False) -> tuple[tuple[Any, ...], Any, bool]:
    """Map a pydantic error location onto the user's data.

    Pydantic adds steps that are not in the data (union member tags such as ``int`` or
    ``list[str]``, validator names); only steps that index into the user's data are kept,
    so the path matches the file. A last step that is not in the data is a key only for a
    ``missing`` error; otherwise it is a union member's tag.

    Returns:
        The cleaned path, the value found there, and whether a value exists there.
    """
    path: list[Any] = []
    node = raw
    found = True
    for index, step in enumerate(loc):
        if isinstance(node, Mapping) and isinstance(step, str) and step in node:
            path.append(step)
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            path.append(step)
            node = node[step]
        elif missing and index == len(loc) - 1 and isinstance(node, Mapping) and isinstance(step, str) \
                and not _is_tag(node, step):
            path.append(step)
            found = False
        # else: a union tag or validator step, not part of the user's path
    if found:
        return tuple(path), node, True
    return tuple(path), error_input, False


def _is_tag(node: Any, step: Any) -> bool:
    # A discriminated union reports the tag value as a location step.
    return isinstance(node, Mapping) and node.get("kind") == step


def _describe(error: Mapping[str, Any], value: Any) -> tuple[str, str | None]:
    """Turn one pydantic error into a message and an 'allowed' text."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required key is missing", None
    if kind == "extra_forbidden":
        return "unknown key", None
    if isinstance(value, SecretValue) and kind.endswith("_type"):
        return "is a secret (`secure:`), but this key is not a secret; write it in plain text", None
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false", "true, false"
    if kind in ("literal_error", "enum"):
        return "not an allowed value", str(ctx.get("expected", ""))
    if kind == "string_type":
        message = "must be a string"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            message += '; quote it in YAML (e.g. "1.10"), or YAML reads it as a number'
        return message, None
    if kind == "union_tag_invalid":
        return "unknown kind", str(ctx.get("expected_tags", ""))
    if kind == "union_tag_not_found":
        return "`kind` is missing", str(ctx.get("expected_tags", "")) or None
    return describe_validation_error(error)
