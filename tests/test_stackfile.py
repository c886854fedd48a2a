"""Reading stack files: malformed, hostile and odd YAML fails with the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplane.components.base import SecretValue
from mlplane.infra.config.stackfile import MAX_FILE_BYTES, read_stack_document
from mlplane.core.errors import InputError


def read_error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_stack_document(path, display=path.name)
    return str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    assert read_error(tmp_path / "Pulumi.x.yaml") == "Pulumi.x.yaml: no such stack file"


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("config:\n  mlplane:cluster: [kind\n")
    assert read_error(path).startswith("s.yaml:3: invalid YAML")


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("config:\n  mlplane:cluster: {kind: local}\n  mlplane:cluster: {kind: gke}\n")
    assert "duplicate key" in read_error(path)


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"config:\n  mlplane:cluster: {kind: \xff}\n")
    assert "not UTF-8" in read_error(path)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("#" * (MAX_FILE_BYTES + 1))
    assert "too large" in read_error(path)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        prev = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([prev] * 10)}]")
    path = tmp_path / "s.yaml"
    path.write_text("config:\n  mlplane:cluster:\n" + "\n".join("    " + line for line in lines) + "\n")
    assert "too many values" in read_error(path)


def test_document_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- a\n- b\n")
    assert "must be a YAML mapping" in read_error(path)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("config: {}\nconfg: {}\n")
    assert read_error(path) == (
        "s.yaml:2: confg: unknown top-level key "
        "(allowed: config, secretsprovider, encryptedkey, encryptionsalt, environment)"
    )


def test_secure_entries_become_unknown_secrets(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("config:\n  mlplane:x:\n    token:\n      secure: v1:abcdef\n")
    document = read_stack_document(path)
    token = document.config["mlplane:x"]["token"]
    assert isinstance(token, SecretValue) and not token.known


def test_yaml_12_booleans_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("config:\n  mlplane:x: {a: yes, b: true, c: 010, d: '1.10'}\n")
    values = read_stack_document(path).config["mlplane:x"]
    assert values == {"a": "yes", "b": True, "c": 10, "d": "1.10"}
    assert type(values["b"]) is bool and type(values["c"]) is int


def test_empty_file_has_no_config(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("")
    assert read_stack_document(path).config == {}
