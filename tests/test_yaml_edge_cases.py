"""Odd and hostile YAML through the whole CLI: exit 0 or a clear exit 2, never a traceback.

tests/test_stackfile.py checks the reader itself; these run ``mlplane render`` on the
file and also check that a refused file writes nothing and names the file, line and key.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from mlplane.infra.cli import main
from mlplane.infra.config.stackfile import MAX_FILE_BYTES

LOCAL = "config:\n  mlplane:cluster:\n    kind: local\n"


def render(tmp_path: Path, content: str | bytes, name: str = "Pulumi.edge.yaml") -> tuple[int, str, Path, str]:
    """Render a stack file with this content; returns (exit code, stderr, out folder, file as named)."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["render", "--config-file", str(path), "--out", str(out)])
    assert "Traceback" not in stderr.getvalue() + stdout.getvalue()
    return code, stderr.getvalue(), out, str(path)


def refused(tmp_path: Path, content: str | bytes, name: str = "Pulumi.edge.yaml") -> str:
    """Render, expect exit 2 with nothing written; returns the message without the file name."""
    code, err, out, file = render(tmp_path, content, name)
    assert code == 2, err
    assert not out.exists()
    assert err.startswith(f"error: {file}"), err
    return err.replace(file, "FILE")


def rendered(tmp_path: Path, content: str | bytes) -> dict:
    code, err, out, _ = render(tmp_path, content)
    assert code == 0, err
    return json.loads((out / "plan.json").read_text())


def provider_inputs(plan: dict) -> dict:
    return next(r for r in plan["resources"] if r["type"] == "pulumi:providers:kubernetes")["inputs"]


# --- anchors, aliases, merge keys ----------------------------------------------------------

def test_merge_keys_and_anchors_are_understood(tmp_path: Path) -> None:
    plan = rendered(tmp_path, "config:\n  mlplane:cluster:\n    <<: {kind: local, context: from-merge}\n"
                              "    workload_namespace: ml\n")
    assert provider_inputs(plan)["context"] == "from-merge"


def test_a_key_beside_a_merge_overrides_it(tmp_path: Path) -> None:
    plan = rendered(tmp_path, "config:\n  mlplane:cluster:\n    <<: {kind: gke, context: merged}\n"
                              "    kind: local\n")
    assert provider_inputs(plan)["context"] == "merged"


def test_an_anchor_reused_in_the_wrong_section_is_refused_with_its_line(tmp_path: Path) -> None:
    message = refused(tmp_path, "config:\n  mlplane:cluster: &c {kind: local}\n  mlplane:storage:\n    <<: *c\n")
    assert "FILE:3: mlplane:storage.kind: unknown key (got 'local'; allowed: protect, classes, volumes, artifacts" \
        in message


def test_anchors_may_not_hide_in_unknown_top_level_keys(tmp_path: Path) -> None:
    message = refused(tmp_path, "defaults: &d {kind: local}\nconfig:\n  mlplane:cluster: *d\n")
    assert "FILE:1: defaults: unknown top-level key" in message


def test_alias_bomb_through_the_cli(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    message = refused(tmp_path, "config:\n  mlplane:cluster:\n" + "".join(f"    {line}\n" for line in lines))
    assert "mlplane:cluster" in message and "too many values" in message


@pytest.mark.parametrize("content", ["config:\n  mlplane:cluster: &a [*a]\n",
                                     "config:\n  mlplane:cluster: &a {kind: local, self: *a}\n"])
def test_recursive_aliases_are_refused(tmp_path: Path, content: str) -> None:
    assert "FILE:2: mlplane:cluster" in refused(tmp_path, content)


def test_deep_nesting_is_refused_not_a_crash(tmp_path: Path) -> None:
    assert "invalid YAML" in refused(tmp_path, "config:\n  mlplane:cluster: " + "[" * 5000 + "]" * 5000 + "\n")


# --- duplicates, sizes, encodings -------------------------------------------------------------

def test_duplicate_keys_deep_inside_a_section(tmp_path: Path) -> None:
    message = refused(tmp_path, LOCAL + "  mlplane:storage:\n    classes:\n      - name: a\n        kind: local-path\n"
                                        "        name: b\n")
    assert "FILE:8: invalid YAML: found duplicate key \"name\"" in message


def test_file_over_the_size_limit_through_the_cli(tmp_path: Path) -> None:
    message = refused(tmp_path, LOCAL + "# " + "x" * MAX_FILE_BYTES + "\n")
    assert "the stack file is too large" in message and f"at most {MAX_FILE_BYTES} bytes" in message


def test_a_very_long_name_is_refused_and_shown_shortened(tmp_path: Path) -> None:
    message = refused(tmp_path, LOCAL + f"    workload_namespace: {'n' * 500_000}\n")
    assert "FILE:4: mlplane:cluster.workload_namespace: must be a DNS-1123 label" in message
    assert len(message) < 1000  # the value is cut short, not echoed whole


def test_a_very_long_free_text_value_is_no_crash(tmp_path: Path) -> None:
    code, err, _, _ = render(tmp_path, LOCAL + f"    context: {'c' * 500_000}\n")
    assert code in (0, 2), err


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    plan = rendered(tmp_path, b"\xef\xbb\xbf" + LOCAL.encode())
    assert plan["stack"] == "edge"


@pytest.mark.parametrize("content", [LOCAL.encode("utf-16"), LOCAL.encode("utf-32"), b"config:\n  a: \xc3\x28\n",
                                     b"config:\n  mlplane:cluster: {kind: \xed\xa0\x80}\n"])
def test_non_utf8_files_are_refused(tmp_path: Path, content: bytes) -> None:
    assert "the stack file is not UTF-8 text (got 'byte 0x" in refused(tmp_path, content)


@pytest.mark.parametrize("byte", [b"\x00", b"\x07", b"\x1b"])
def test_control_characters_are_refused(tmp_path: Path, byte: bytes) -> None:
    assert "invalid YAML" in refused(tmp_path, b"config:\n  mlplane:cluster: {kind: loc" + byte + b"al}\n")


def test_tabs_for_indentation_name_the_line(tmp_path: Path) -> None:
    assert "FILE:2: invalid YAML: found character '\\t' that cannot start any token" in \
        refused(tmp_path, "config:\n\tmlplane:cluster: {kind: local}\n")


# --- the shape of the document ----------------------------------------------------------------

@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n", "config:\n", "config: {}\n"])
def test_empty_files_say_what_is_missing(tmp_path: Path, content: str) -> None:
    assert "FILE: mlplane:cluster: required key is missing: The cluster the plan targets" in refused(tmp_path, content)


@pytest.mark.parametrize(("content", "got"), [("- kind: local\n", "CommentedSeq"), ("just text\n", "str"),
                                              ("42\n", "int")])
def test_a_document_that_is_not_a_mapping(tmp_path: Path, content: str, got: str) -> None:
    assert f"FILE: a stack file must be a YAML mapping (got '{got}'" in refused(tmp_path, content)


def test_several_documents_are_refused(tmp_path: Path) -> None:
    assert "FILE:4: invalid YAML: but found another document" in refused(tmp_path, LOCAL + "---\n" + LOCAL)


def test_config_that_is_a_list(tmp_path: Path) -> None:
    assert "FILE:1: config: must be a mapping of `namespace:key` to values" in refused(tmp_path, "config: [a]\n")


@pytest.mark.parametrize("key", ["1", "true", "~", "[a, b]"])
def test_keys_that_are_not_strings(tmp_path: Path, key: str) -> None:
    assert "FILE:2: mlplane:cluster: keys must be strings" in \
        refused(tmp_path, f"config:\n  mlplane:cluster: {{kind: local, {key}: x}}\n")


def test_python_tags_are_never_constructed(tmp_path: Path) -> None:
    # The round-trip loader keeps tags as data; nothing is imported or called.
    marker = tmp_path / "constructed"
    content = (f"config:\n  mlplane:cluster:\n    kind: local\n"
               f"    context: !!python/object/apply:pathlib.Path.touch [{str(marker)!r}]\n")
    code, err, _, _ = render(tmp_path, content)
    assert code in (0, 2), err
    assert not marker.exists()


# --- wrong types at each section, null sections, secure: where not allowed -------------------

SECTIONS = ("cluster", "accelerators", "storage", "kubeflow", "auth", "pipelines", "serving")


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("value", ["a-string", "42", "[1, 2]", "true", "{kind: local, bogus: 1}"])
def test_wrong_type_at_each_section(tmp_path: Path, section: str, value: str) -> None:
    body = LOCAL if section != "cluster" else "config:\n"
    if section == "cluster" and value.startswith("{"):
        value = "{kind: local, bogus: 1}"
    message = refused(tmp_path, body + f"  mlplane:{section}: {value}\n")
    assert f"mlplane:{section}" in message and "(got " in message


@pytest.mark.parametrize("section", ["accelerators", "storage", "kubeflow", "serving"])
def test_null_optional_sections_mean_none(tmp_path: Path, section: str) -> None:
    rendered(tmp_path, LOCAL + f"  mlplane:{section}:\n")


@pytest.mark.parametrize("section", ["cluster", "auth", "pipelines"])
def test_null_sections_that_need_a_value_are_refused_clearly(tmp_path: Path, section: str) -> None:
    body = LOCAL if section != "cluster" else "config:\n"
    message = refused(tmp_path, body + f"  mlplane:{section}:\n")
    assert f"mlplane:{section}: " in message and "(got None" in message
    # In YAML's words (a mapping, a list), not pydantic's "valid dictionary or instance of".
    assert "must be a mapping" in message or "must be a list" in message
    assert "Input should" not in message and "instance of" not in message


@pytest.mark.parametrize("where", [
    "  mlplane:cluster:\n    secure: v1:SECRETCIPHER\n",
    "  mlplane:cluster:\n    kind: {secure: v1:SECRETCIPHER}\n",
    "  mlplane:cluster:\n    kind: local\n    workload_namespace: {secure: v1:SECRETCIPHER}\n",
    "  mlplane:cluster: {kind: local}\n  mlplane:pipelines:\n    - secure: v1:SECRETCIPHER\n",
    "  mlplane:cluster: {kind: local}\n  mlplane:kubeflow:\n    release: {secure: v1:SECRETCIPHER}\n",
    "  mlplane:cluster: {kind: local}\n  mlplane:storage:\n    classes:\n      - {name: a, kind: local-path}\n"
    "    volumes:\n      - {name: models, size: 1Gi, storage_class: a}\n  mlplane:pipelines:\n"
    "    - {name: m, source: 'mlplane.pipelines.mnist:mnist_pipeline', params: {train_steps: {secure: v1:SECRETCIPHER}}}\n",
])
def test_secure_entries_where_no_secret_belongs(tmp_path: Path, where: str) -> None:
    message = refused(tmp_path, "config:\n" + where)
    assert "SECRETCIPHER" not in message
    assert "[secret]" in message


def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "Pulumi.dir.yaml"
    folder.mkdir()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        assert main(["render", "--config-file", str(folder), "--out", str(tmp_path / "out")]) == 2
    assert "cannot read the stack file" in stderr.getvalue() and not (tmp_path / "out").exists()
