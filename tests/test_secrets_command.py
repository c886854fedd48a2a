"""``mlplane secrets``: every stack's secrets listed, set or not; ``--set`` through the Pulumi CLI.

The shipped stack files carry no ``secure:`` values; the engine path refuses an unset
required secret with the message ``mlplane secrets`` gives.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mlplane.infra.cli import main
from mlplane.infra.config.secrets import secret_slots
from mlplane.infra.config.stackfile import read_stack_document
from mlplane.infra.engine_config import load_engine_config
from mlplane.core.errors import InputError

from .conftest import ROOT, STACKS
from .test_engine_config import in_engine

#: The required secrets of each shipped stack (key paths), as its file declares them.
REQUIRED = {
    "dev": [],
    "onprem": [f"mlplane:auth.dex.users[{i}].password_hash" for i in range(3)],
    "gke": ["mlplane:auth.dex.connector.client_secret"],
    "eks": ["mlplane:auth.dex.users[0].password_hash"],
    "aks": ["mlplane:auth.dex.users[0].password_hash"],
}


def test_every_stack_is_covered() -> None:
    assert sorted(REQUIRED) == sorted(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_files_carry_no_secure_values(stack: str) -> None:
    # A fake `secure:` value cannot be decrypted by a real `pulumi`; the files declare, users set.
    document = read_stack_document(ROOT / f"Pulumi.{stack}.yaml")
    assert all(slot.is_set is False for slot in secret_slots(document.config))
    assert "secure:" not in "".join(line.split("#", 1)[0] for line in
                                    (ROOT / f"Pulumi.{stack}.yaml").read_text().splitlines())


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_lists_what_each_stack_needs(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "--stack", stack]) == 0
    out = capsys.readouterr().out
    required = REQUIRED[stack]
    assert out.startswith(f"Secrets of stack {stack} (Pulumi.{stack}.yaml): {len(required)} required, "
                          f"{len(required)} not set\n")
    for key in required:
        assert f"  not set  required  {key}: " in out
        assert f"  pulumi config set --stack {stack} --secret --path '{key}'\n" in out
    if not required:
        assert "pulumi config set" not in out


def test_onprem_names_whose_hash_each_secret_is(capsys: pytest.CaptureFixture[str]) -> None:
    main(["secrets", "--stack", "onprem"])
    out = capsys.readouterr().out
    assert "users[1].password_hash: bcrypt hash of the password, as a secret (bob@acme.example)" in out


def test_a_set_secret_is_listed_as_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # What `pulumi config set --secret --path 'mlplane:auth.dex.users[0].password_hash'` writes.
    text = (ROOT / "Pulumi.onprem.yaml").read_text().replace(
        "        - email: alice@acme.example\n",
        "        - email: alice@acme.example\n          password_hash:\n            secure: v1:AAAA\n")
    path = tmp_path / "Pulumi.onprem.yaml"
    path.write_text(text)
    assert main(["secrets", "--config-file", str(path)]) == 0
    out = capsys.readouterr().out
    assert ": 3 required, 2 not set" in out
    assert "  set      required  mlplane:auth.dex.users[0].password_hash" in out
    assert "--path 'mlplane:auth.dex.users[0].password_hash'" not in out
    assert "--path 'mlplane:auth.dex.users[1].password_hash'" in out


def test_generated_secrets_are_optional() -> None:
    slots = secret_slots({"mlplane:auth": {"dex": {"users": [{"email": "a@b.example", "generate_password": True}]},
                                           "oauth2_proxy": {"cookie_expire": "1h"}}})
    assert [(s.key, s.required) for s in slots] == [
        ("mlplane:auth.dex.users[0].password_hash", False),
        ("mlplane:auth.oauth2_proxy.client_secret", False),
        ("mlplane:auth.oauth2_proxy.cookie_secret", False),
    ]


# --------------------------------------------------------------------------- the engine path

def _engine_values(stack: str) -> dict[str, str]:
    document = read_stack_document(ROOT / f"Pulumi.{stack}.yaml")
    return {key: json.dumps(value) for key, value in document.config.items()}


@pytest.mark.parametrize("stack", [s for s in STACKS if REQUIRED[s]])
def test_the_engine_refuses_an_unset_required_secret_with_the_same_commands(
        stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InputError) as caught:
        in_engine(stack, _engine_values(stack), [], load_engine_config)
    message = str(caught.value)
    main(["secrets", "--stack", stack])
    listed = capsys.readouterr().out
    for key in REQUIRED[stack]:
        command = f"pulumi config set --stack {stack} --secret --path '{key}'"
        assert f"Pulumi.{stack}.yaml:" in message and f": {key}: secret not set: " in message
        assert command in message and command in listed
    assert f"`mlplane secrets --stack {stack}` lists every secret of the stack" in message


def test_the_engine_does_not_echo_an_email_of_a_secret_key() -> None:
    # With one hash set, the engine marks all of mlplane:auth secret: its e-mails are not echoed.
    values = _engine_values("onprem")
    auth = json.loads(values["mlplane:auth"])
    auth["dex"]["users"][0]["password_hash"] = "$2y$12$" + "x" * 53
    values["mlplane:auth"] = json.dumps(auth)
    with pytest.raises(InputError) as caught:
        in_engine("onprem", values, ["mlplane:auth"], load_engine_config)
    message = str(caught.value)
    assert "users[1].password_hash: secret not set" in message
    assert "acme.example" not in message and "users[0]" not in message


# --------------------------------------------------------------------------- --set

def _fake_pulumi(folder: Path) -> Path:
    """A `pulumi` that records its arguments and standard input, one JSON line per call."""
    log = folder / "calls.jsonl"
    script = folder / "pulumi"
    script.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps({{'args': sys.argv[1:], 'stdin': sys.stdin.read()}}) + '\\n')\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


def test_set_prompts_without_echo_and_pipes_each_value_to_pulumi(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    log = _fake_pulumi(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    answers = iter(["$2y$12$first-hash", "", "$2y$12$third-hash"])
    prompts: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or next(answers))
    assert main(["secrets", "--stack", "onprem", "--set"]) == 0
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls == [
        {"args": ["config", "set", "--stack", "onprem", "--secret", "--path",
                  "mlplane:auth.dex.users[0].password_hash"], "stdin": "$2y$12$first-hash\n"},
        {"args": ["config", "set", "--stack", "onprem", "--secret", "--path",
                  "mlplane:auth.dex.users[2].password_hash"], "stdin": "$2y$12$third-hash\n"},
    ]
    assert prompts[1].startswith("mlplane:auth.dex.users[1].password_hash (bob@acme.example)")
    captured = capsys.readouterr()
    for value in ("first-hash", "third-hash"):
        assert value not in captured.out and value not in captured.err
    assert "skipped mlplane:auth.dex.users[1].password_hash" in captured.err


def test_set_without_the_pulumi_cli_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("must not prompt without pulumi"))
    assert main(["secrets", "--stack", "gke", "--set"]) == 2
    assert "--set: the Pulumi CLI is not on PATH" in capsys.readouterr().err


def test_a_stack_file_outside_the_project_gets_commands_for_that_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """With ``--config-file``, the commands shown write that file (as ``--set`` does), not the
    project's ``Pulumi.<stack>.yaml``; the render's note and fetch hint name it too."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no fetched sources: the hint shows
    path = tmp_path / "gke.yaml"
    path.write_text((ROOT / "Pulumi.gke.yaml").read_text())
    assert main(["secrets", "--config-file", str(path)]) == 0
    out = capsys.readouterr().out
    assert (f"  pulumi config set --config-file {path} --stack gke --secret --path "
            "'mlplane:auth.dex.connector.client_secret'\n") in out
    assert f"`mlplane secrets --config-file {path} --set`" in out
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert f"`mlplane secrets --config-file {path}` says how to set them" in err
    assert f"`mlplane sources fetch --config-file {path}`" in err
    assert f"`mlplane preview --config-file {path} --save`" in err
    assert "--stack gke" not in err
