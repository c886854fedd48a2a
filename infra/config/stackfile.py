"""Reading ``Pulumi.<stack>.yaml`` files offline, strictly and safely.

The Pulumi engine reads stack files itself; this module does the same job for the
offline render, where nothing may be guessed: duplicate keys, non-UTF-8 bytes, alias
bombs and oversized files are errors that name the file and line. ``secure:`` entries
cannot be decrypted without the stack's key, so they become unknown secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from mlplane.components.base import SecretValue
from mlplane.infra.config.paths import format_path
from mlplane.core.errors import InputError, Problem, input_error

#: Stack files are small; anything bigger is a mistake or an attack.
MAX_FILE_BYTES = 1024 * 1024
#: Upper bound of values after aliases are expanded (a "billion laughs" guard).
MAX_NODES = 200_000

#: Keys Pulumi itself allows at the top of a stack file.
TOP_LEVEL_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


@dataclass
class StackDocument:
    """A stack file's content as plain Python values, with the lines they came from.

    Attributes:
        path: The file.
        config: The ``config:`` map: ``{"mlplane:cluster": {...}, "kubernetes:context": ...}``.
        lines: 1-based line of every key path seen, keyed by ``(config key, *path)``.
    """

    path: Path
    config: dict[str, Any]
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        """The line of the deepest known prefix of ``path``."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def read_stack_document(path: Path, display: str | None = None) -> StackDocument:
    """Read and check a stack file's YAML, without interpreting mlplane's keys.

    Args:
        path: The stack file.
        display: How to name the file in messages (default: ``str(path)``).

    Returns:
        The document's config map and key lines.

    Raises:
        InputError: The file is missing, too large, not UTF-8, not valid YAML, has
            duplicate keys or unknown top-level keys, or is not a mapping.
    """
    name = display or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise input_error(name, "", "no such stack file", has_value=False) from None
    except OSError as exc:
        raise input_error(name, "", f"cannot read the stack file: {exc.strerror}", has_value=False) from None
    if len(data) > MAX_FILE_BYTES:
        raise input_error(name, "", "the stack file is too large", value=f"{len(data)} bytes",
                          allowed=f"at most {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise input_error(name, "", "the stack file is not UTF-8 text",
                          value=f"byte {data[exc.start]:#04x} at offset {exc.start}", allowed="UTF-8") from None

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise InputError(name, (Problem("", f"invalid YAML: {problem}", line=line),)) from None
    except (YAMLError, RecursionError, ValueError) as exc:
        raise InputError(name, (Problem("", f"invalid YAML: {type(exc).__name__}"),)) from None

    if root is None:
        root = CommentedMap()
    if not isinstance(root, CommentedMap):
        raise input_error(name, "", "a stack file must be a YAML mapping", value=type(root).__name__,
                          allowed="a mapping with a `config:` key")
    problems = [
        Problem(str(key), "unknown top-level key", allowed=", ".join(TOP_LEVEL_KEYS), line=_key_line(root, key))
        for key in root
        if key not in TOP_LEVEL_KEYS
    ]
    if problems:
        raise InputError(name, tuple(problems))

    config_node = root.get("config")
    if config_node is None:
        config_node = CommentedMap()
    if not isinstance(config_node, CommentedMap):
        raise input_error(name, "config", "must be a mapping of `namespace:key` to values",
                          value=type(config_node).__name__, line=_key_line(root, "config"))

    converter = _Converter(name)
    config: dict[str, Any] = {}
    for key, value in config_node.items():
        key_line = _key_line(config_node, key)
        if not isinstance(key, str):
            raise input_error(name, str(key), "config keys must be strings like `mlplane:cluster`",
                              value=key, line=key_line)
        converter.lines[(key,)] = key_line
        config[key] = converter.convert(value, (key,))
    return StackDocument(path=path, config=config, lines=converter.lines)


def _key_line(node: CommentedMap, key: Any) -> int | None:
    try:
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _item_line(node: CommentedSeq, index: int) -> int | None:
    try:
        return node.lc.item(index)[0] + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


class _Converter:
    """Turns ruamel's round-trip nodes into plain values, recording lines."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.nodes = 0
        self.lines: dict[tuple[Any, ...], int] = {}

    def convert(self, value: Any, path: tuple[Any, ...]) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise input_error(self.file, _dotted(path), "the stack file expands to too many values "
                              "(aliases that multiply?)", has_value=False,
                              allowed=f"at most {MAX_NODES} values", line=self.lines.get(path[:1]))
        if isinstance(value, Mapping):
            if _is_secure_entry(value):
                return SecretValue(None)
            out: dict[str, Any] = {}
            for key, item in value.items():
                line = _key_line(value, key) if isinstance(value, CommentedMap) else None
                if not isinstance(key, str):
                    raise input_error(self.file, _dotted(path), "keys must be strings", value=key, line=line)
                sub = (*path, key)
                if line is not None:
                    self.lines[sub] = line
                out[key] = self.convert(item, sub)
            return out
        if isinstance(value, list):
            items = []
            for index, item in enumerate(value):
                sub = (*path, index)
                line = _item_line(value, index) if isinstance(value, CommentedSeq) else None
                if line is not None:
                    self.lines[sub] = line
                items.append(self.convert(item, sub))
            return items
        return _plain_scalar(value)


def _is_secure_entry(value: Mapping[Any, Any]) -> bool:
    return len(value) == 1 and "secure" in value and isinstance(value["secure"], str)


def _plain_scalar(value: Any) -> Any:
    # ruamel wraps scalars to keep their formatting; validation wants the plain types.
    if value is None or isinstance(value, str) and type(value) is str:
        return value
    if isinstance(value, bool):
        return bool(value)
    if type(value).__name__ == "ScalarBoolean":
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    # Dates and tagged values: keep their text; the model will reject them if unfit.
    return str(value)


def _dotted(path: tuple[Any, ...]) -> str:
    return format_path(path)
