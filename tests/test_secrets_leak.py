"""No secret value leaves a render: every stack, every secret set to a canary, every output searched.

Each stack file is loaded the way ``pulumi preview`` loads it (the engine-config path:
``secure:`` entries decrypted, their keys marked secret), with every ``secure:`` entry
decrypted to a distinct random canary, and with more secrets added where the config takes
them (a Dex user's password hash, an upstream connector's client secret, oauth2-proxy's
client and cookie secrets), so that stacks without ``secure:`` entries are covered too.
The generated passwords (pulumi-random's ``result`` and ``bcryptHash``) are canaries as
well. Then the CLI renders, previews and diffs the stack, and plan.json, every manifest,
stdout, stderr and the log are searched for every canary: as is, JSON-escaped,
URL-quoted, hex, base64 (standard and URL-safe, at every 3-byte alignment, since a
Kubernetes Secret's ``data`` is base64), as its SHA-256, and inside every base64-looking
string once decoded; and nothing bcrypt-shaped may appear at all (a bcrypt hash of a
generated password would be salted, so it is found by its shape).

So that the test cannot pass because a secret never reached a resource, the recording
monitor's wire traffic is inspected too: every canary must be sent to some resource, and
only ever inside a secret wrapper.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import string
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import rpc

import mlplane.infra.cli as cli
from mlplane.components.base import OFFLINE_SECRET_PLACEHOLDER, SECRET_MASK, SecretValue
from mlplane.infra.cli import main
from mlplane.infra.config import StackConfig
from mlplane.infra.config.stackfile import read_stack_document
from mlplane.infra.config.secrets import secret_slots, unset_required
from mlplane.infra.engine_config import load_engine_config
from mlplane.core.errors import InputError
from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.recorder import RecordingMonitor

from .conftest import ROOT, STACKS
from .test_engine_config import in_engine

# --------------------------------------------------------------------------- canaries

_BCRYPT_ALPHABET = "./" + string.ascii_letters + string.digits
#: A bcrypt hash's shape; any match in an output is a hash that left a secret.
BCRYPT_SHAPE = re.compile(r"\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}")
#: Strings worth trying to decode as base64 (long enough to hide a canary).
_BASE64_SHAPE = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")


def token(length: int = 32) -> str:
    """Letters and digits, like pulumi-random's passwords with special=False."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def bcrypt_like() -> str:
    """A string shaped like a bcrypt hash (what Dex's password_hash holds)."""
    return "$2y$12$" + "".join(secrets.choice(_BCRYPT_ALPHABET) for _ in range(53))


def base64_like() -> str:
    """32 random bytes in base64, padding and + / included (oauth2-proxy's cookie secret)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def awkward() -> str:
    """Quotes, backslash, slash, HTML characters and non-ASCII: every escaping differs."""
    return f"{token(12)}\"\\/ö<&>'é{token(12)}"


@dataclass
class Canaries:
    """Every secret value set for one stack, by a label that says where it went."""

    values: dict[str, str] = field(default_factory=dict)

    def new(self, label: str, make: Callable[[], str] = token) -> str:
        value = make()
        self.values[label] = value
        return value


def encodings(value: str) -> dict[str, str]:
    """The forms a secret could take in text: each one long enough to be unambiguous."""
    raw = value.encode("utf-8")
    forms = {
        "plain": value,
        "json-escaped": json.dumps(value)[1:-1],
        "json-escaped (unicode)": json.dumps(value, ensure_ascii=False)[1:-1],
        "url-quoted": urllib.parse.quote(value, safe=""),
        "hex": raw.hex(),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    for offset in range(3):
        # Embedded in a larger base64 blob, the canary's bytes start at any offset mod 3;
        # the first and last 4-character groups depend on the neighbours, so drop them.
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        inner = encoded[4 if offset else 0:-4]
        forms[f"base64@{offset}"] = inner
        forms[f"base64url@{offset}"] = inner.replace("+", "-").replace("/", "_")
    return forms


def _decoded_base64(text: str) -> Iterator[str]:
    for match in _BASE64_SHAPE.finditer(text):
        chunk = match.group(0)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                yield decode(chunk + "=" * (-len(chunk) % 4)).decode("utf-8", errors="replace")
            except ValueError:
                continue


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def find_leaks(where: str, text: str, canaries: Canaries, parsed: Any = None) -> list[str]:
    """Every canary (in any of its encodings) and every bcrypt-shaped string in ``text``.

    ``parsed`` is the text's data (JSON or YAML), whose strings are searched once
    unescaped; every base64-looking run in the text or those strings is searched decoded.
    """
    values = list(_strings(parsed))
    decoded = [d for source in (text, *values) for d in _decoded_base64(source)]
    found = []
    for label, value in canaries.values.items():
        found += [f"{where}: {label} ({form})" for form, encoded in encodings(value).items() if encoded in text]
        if any(value in v for v in values):
            found.append(f"{where}: {label} (in a value of the parsed document)")
        if any(value in d for d in decoded):
            found.append(f"{where}: {label} (base64-decoded)")
    found += [f"{where}: a bcrypt hash {m.group(0)[:7]}..." for m in BCRYPT_SHAPE.finditer(text)]
    return sorted(set(found))


# --------------------------------------------------------------------------- the stacks

def _decrypted(node: Any, path: str, canaries: Canaries, stack: str) -> Any:
    """The engine's view of a document value: each ``secure:`` entry decrypted (to a canary)."""
    if isinstance(node, SecretValue):
        # Password hashes look like bcrypt hashes; anything else gets escaping-hostile text.
        return canaries.new(f"{stack}: secure {path}", bcrypt_like if "hash" in path else awkward)
    if isinstance(node, dict):
        return {key: _decrypted(item, f"{path}.{key}", canaries, stack) for key, item in node.items()}
    if isinstance(node, list):
        return [_decrypted(item, f"{path}[{i}]", canaries, stack) for i, item in enumerate(node)]
    return node


def _add_secrets(config: dict[str, Any], stack: str, canaries: Canaries) -> None:
    """Put a secret into every secret field of ``mlplane:auth`` that the stack leaves free."""
    # Without the platform, mlplane:auth reaches nothing: add it at its defaults.
    config.setdefault("mlplane:kubeflow", {})
    auth = config.setdefault("mlplane:auth", {})
    dex = auth.setdefault("dex", {})
    dex.setdefault("users", []).append({
        "email": "leak-check@example.com",
        "password_hash": canaries.new(f"{stack}: added dex.users[-1].password_hash", bcrypt_like),
    })
    if "connector" not in dex and (config["mlplane:kubeflow"].get("ingress") or {}).get("host"):
        # An upstream provider needs the public host; only stacks with one can have it.
        dex["connector"] = {"id": "leak-check", "name": "Leak check", "issuer": "https://sso.example.com",
                            "client_id": "mlplane",
                            "client_secret": canaries.new(f"{stack}: added dex.connector.client_secret", awkward)}
        # An upstream provider's accounts are named (an open one needs any_account: true).
        auth.setdefault("oauth2_proxy", {})["email_domains"] = ["example.com"]
    # Every other stack keeps oauth2-proxy's generated secrets, so both ways are covered.
    if STACKS.index(stack) % 2 == 1:
        proxy = auth.setdefault("oauth2_proxy", {})
        proxy.setdefault("client_secret", canaries.new(f"{stack}: added oauth2_proxy.client_secret"))
        proxy.setdefault("cookie_secret", canaries.new(f"{stack}: added oauth2_proxy.cookie_secret", base64_like))


def engine_values(stack: str, canaries: Canaries, *, add: bool = True) -> tuple[dict[str, Any], list[str]]:
    """The stack's config as the engine hands it over, with canaries; and the secret keys."""
    document = read_stack_document(ROOT / f"Pulumi.{stack}.yaml")
    config = {key: _decrypted(value, key, canaries, stack) for key, value in document.config.items()}
    # The stack files carry no secrets; a user sets the required ones before `pulumi up`.
    for slot in unset_required(secret_slots(config)):
        node: Any = config
        for step in slot.path[:-1]:
            node = node[step]
        node[slot.path[-1]] = canaries.new(f"{stack}: set {slot.key}", bcrypt_like if "hash" in slot.key else awkward)
    if add:
        _add_secrets(config, stack, canaries)
    # The engine marks every key that holds a decrypted value as secret.
    escaped = [json.dumps(value)[1:-1] for value in canaries.values.values()]
    secret_keys = [key for key, value in config.items() if any(e in json.dumps(value) for e in escaped)]
    return config, secret_keys


def load_as_engine(stack: str, config: dict[str, Any], secret_keys: list[str]) -> StackConfig:
    """Validate through the engine's path (``load_engine_config``), keys marked secret."""
    return in_engine(stack, {key: json.dumps(value) for key, value in config.items()}, secret_keys,
                     load_engine_config)


# --------------------------------------------------------------------------- the watch on the wire

@dataclass
class Wire:
    """What the recording monitor was sent: strings inside secret wrappers, and all others."""

    secret: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    generated: int = 0

    def walk(self, value: struct_pb2.Value, in_secret: bool) -> None:
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            (self.secret if in_secret else self.plain).append(value.string_value)
        elif kind == "list_value":
            for item in value.list_value.values:
                self.walk(item, in_secret)
        elif kind == "struct_value":
            self.walk_struct(value.struct_value, in_secret)

    def walk_struct(self, struct: struct_pb2.Struct, in_secret: bool) -> None:
        fields = struct.fields
        signature = fields[rpc._special_sig_key].string_value if rpc._special_sig_key in fields else None  # noqa: SLF001
        if signature == rpc._special_secret_sig or (  # noqa: SLF001
                signature == rpc._special_output_value_sig and fields["secret"].bool_value):  # noqa: SLF001
            in_secret = True
        for key, item in fields.items():
            if key != rpc._special_sig_key:  # noqa: SLF001
                self.walk(item, in_secret)


def watch(monkeypatch: pytest.MonkeyPatch, stack: str, canaries: Canaries) -> Wire:
    """Record what the monitor is sent, and make generated passwords canaries."""
    wire = Wire()
    register = RecordingMonitor.RegisterResource

    def spying(self: RecordingMonitor, request: Any) -> Any:
        wire.walk_struct(request.object, False)
        response = register(self, request)
        # The offline stand-ins of generated secrets (RandomPassword's result, bcryptHash).
        for key, value in response.object.fields.items():
            if value.string_value == OFFLINE_SECRET_PLACEHOLDER:
                make = bcrypt_like if key == "bcryptHash" else token
                value.string_value = canaries.new(f"{stack}: generated {request.name}.{key}", make)
                wire.generated += 1
        return response

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", spying)
    return wire


# --------------------------------------------------------------------------- the CLI run

@dataclass
class Outputs:
    """Everything a user or CI sees of one stack: files and printed text, by name."""

    texts: dict[str, tuple[str, Any]] = field(default_factory=dict)

    def add(self, name: str, text: str, parsed: Any = None) -> None:
        self.texts[name] = (text, parsed)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str], outputs: Outputs, expect: int = 0) -> None:
    code = main(argv)
    captured = capsys.readouterr()
    name = " ".join(a if not a.startswith("/") else Path(a).name for a in argv)
    assert code == expect, f"mlplane {name} exited {code}: {captured.err}"
    outputs.add(f"`mlplane {name}` stdout", captured.out, _maybe_json(captured.out))
    outputs.add(f"`mlplane {name}` stderr", captured.err)


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def render_everything(stack: str, config: StackConfig, tmp: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> Outputs:
    """Render, preview and diff one stack through the CLI; collect every output."""
    monkeypatch.setattr(cli, "load_stack_file", lambda *args, **kwargs: config)
    outputs = Outputs()
    plans: list[Plan] = []
    render = cli._render

    def rendering(cfg: StackConfig, sources: Path | None) -> Plan:
        if not plans:
            plans.append(render(cfg, sources))
        return plans[0]  # preview shows the same plan: render once, print it four ways

    monkeypatch.setattr(cli, "_render", rendering)
    out = tmp / "out"
    _run(["render", "--stack", stack, "--out", str(out)], capsys, outputs)
    plan_text = (out / "plan.json").read_text(encoding="utf-8")
    outputs.add("plan.json", plan_text, json.loads(plan_text))
    manifests = sorted((out / "manifests").rglob("*.yaml"))
    assert manifests, "the render wrote no manifests"
    for path in manifests:
        text = path.read_text(encoding="utf-8")
        outputs.add(f"manifests/{path.relative_to(out / 'manifests')}", text, yaml.safe_load(text))

    empty = tmp / "empty.json"
    empty.write_text(Plan(project=plans[0].project, stack=stack).to_json_text(), encoding="utf-8")
    for fmt in ("text", "markdown", "json"):
        _run(["preview", "--stack", stack, "--against", str(empty), "--format", fmt], capsys, outputs)
        _run(["diff", str(empty), str(out / "plan.json"), "--format", fmt], capsys, outputs)
        _run(["diff", str(out / "plan.json"), str(empty), "--format", fmt], capsys, outputs)
    return outputs


# --------------------------------------------------------------------------- the tests

@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_leaves_the_render(stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    canaries = Canaries()
    config_values, secret_keys = engine_values(stack, canaries)
    config = load_as_engine(stack, config_values, secret_keys)
    set_in_config = dict(canaries.values)
    assert set_in_config, f"{stack}: no secret was set"
    wire = watch(monkeypatch, stack, canaries)

    outputs = render_everything(stack, config, tmp_path, capsys, monkeypatch)
    outputs.add("log", caplog.text)

    leaks = [leak for name, (text, parsed) in outputs.texts.items()
             for leak in find_leaks(name, text, canaries, parsed)]
    assert not leaks, "secret values leaked:\n" + "\n".join(leaks)

    # Not vacuous: each secret went to a resource, only ever wrapped as a secret ...
    sent = {label for label, value in canaries.values.items() if any(value in s for s in wire.secret)}
    unsent = [label for label in set_in_config if label not in sent]
    assert not unsent, f"{stack}: these secrets reached no resource: {unsent}"
    # (a generated password is used as itself or as its bcrypt hash: one of the two)
    generators = {label.rsplit(".", 1)[0] for label in canaries.values if label not in set_in_config}
    unused = [g for g in generators if not any(label.startswith(f"{g}.") for label in sent)]
    # The object store's keys reach resources only through the pipelines directory's transform,
    # which runs where the directory is expanded (tests/test_credentials.py; there an unknown
    # output is recorded as [secret], never resolved): unexpanded, they reach none.
    through_transform = {f"{stack}: generated platform-apps-credentials-kfp-object-store-{key}"
                         for key in ("accesskey", "secretkey")}
    assert not [g for g in unused if g not in through_transform], \
        f"{stack}: these generated passwords reached no resource: {unused}"
    unwrapped = [label for label, value in canaries.values.items() if any(value in s for s in wire.plain)]
    assert not unwrapped, f"{stack}: sent to a resource outside a secret: {unwrapped}"
    # ... every secret was a canary (no placeholder stood in) ...
    assert not any(OFFLINE_SECRET_PLACEHOLDER in s for s in wire.secret + wire.plain)
    # ... and the plan shows that they went somewhere.
    assert f'"{SECRET_MASK}"' in outputs.texts["plan.json"][0]


def test_generated_passwords_are_covered() -> None:
    """Some stack generates passwords, so the generated canaries above are not vacuous."""
    generating = [stack for stack in STACKS
                  if "generate_password" in (ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")]
    assert generating, "no stack generates a password; the generated-secret check would test nothing"


def _leak_report(text: str, canaries: Canaries) -> list[str]:
    return find_leaks("output", text, canaries)


def test_invalid_config_with_secrets_exits_2_without_printing_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stack = "onprem" if "onprem" in STACKS else STACKS[0]
    canaries = Canaries()
    config, secret_keys = engine_values(stack, canaries)
    config["mlplane:kubeflow"] = {**config["mlplane:kubeflow"], "ingress": {"host": "Not A Host"}}
    config["mlplane:auth"]["oauth2_proxy"] = {**config["mlplane:auth"].get("oauth2_proxy", {}),
                                              "cookie_expire": "forever"}

    def loader(*args: Any, **kwargs: Any) -> StackConfig:
        return load_as_engine(stack, config, secret_keys)

    monkeypatch.setattr(cli, "load_stack_file", loader)
    out = tmp_path / "out"
    assert main(["render", "--stack", stack, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "mlplane:kubeflow.ingress.host" in captured.err and "oauth2_proxy.cookie_expire" in captured.err
    assert "Traceback" not in captured.err and not out.exists()
    assert not _leak_report(captured.out + captured.err, canaries)


def _engine_error(stack: str, config: dict[str, Any], secret_keys: list[str]) -> str:
    with pytest.raises(InputError) as info:
        load_as_engine(stack, config, secret_keys)
    return str(info.value)


def test_a_decrypted_secret_where_plain_text_belongs_is_not_echoed() -> None:
    """The engine only marks whole keys secret: no value of such a key is echoed in an error."""
    stack = "dev" if "dev" in STACKS else STACKS[0]
    canaries = Canaries()
    config, _ = engine_values(stack, canaries, add=False)
    user = {"email": canaries.new("email", awkward), "generate_password": True}
    config["mlplane:auth"] = {"dex": {"users": [user]},
                              "oauth2_proxy": {"cookie_expire": canaries.new("cookie_expire"),
                                               "cookie_secret": canaries.new("cookie_secret"),
                                               "typo_secret": canaries.new("an unknown key's value")}}
    message = _engine_error(stack, config, ["mlplane:auth"])
    assert not _leak_report(message, canaries), message
    assert "dex.users[0].email" in message and "oauth2_proxy.cookie_expire" in message
    assert "typo_secret: unknown key" in message and f"got {SECRET_MASK}" in message


def test_a_secure_entry_where_plain_text_belongs_is_refused_on_the_engine_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``username: {secure: ...}`` decrypts to a plain string; it must not pass as plain text."""
    stack = "dev"
    (tmp_path / "Pulumi.yaml").write_text("name: mlplane\n", encoding="utf-8")
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  mlplane:auth:\n    dex:\n      users:\n        - email: user@example.com\n"
        "          username:\n            secure: v1:c2VjcmV0\n          generate_password: true\n",
        encoding="utf-8")
    monkeypatch.setattr("pulumi.get_root_directory", lambda: str(tmp_path))
    canaries = Canaries()
    config, _ = engine_values(stack, canaries, add=False)
    config["mlplane:auth"] = {"dex": {"users": [{"email": "user@example.com", "generate_password": True,
                                                 "username": canaries.new("username")}]}}
    message = _engine_error(stack, config, ["mlplane:auth"])
    assert "mlplane:auth.dex.users[0].username: is a secret" in message
    assert not _leak_report(message, canaries), message


def _stack_file_with(tmp_path: Path, replace: Callable[[str], str]) -> Path:
    """A copy of the dev stack file, edited; it names nothing relative, so it works from tmp."""
    text = replace((ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "Pulumi.leak.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_plain_text_credential_is_refused_without_echoing_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    canaries = Canaries()
    password_hash = canaries.new("a plain-text password hash", bcrypt_like)
    client_secret = canaries.new("a plain-text cookie secret", base64_like)
    path = _stack_file_with(tmp_path, lambda text: text.replace(
        "          generate_password: true\n",
        f"          password_hash: '{password_hash}'\n"
        f"    oauth2_proxy:\n      cookie_secret: '{client_secret}'\n"))
    out = tmp_path / "out"
    assert main(["render", "--config-file", str(path), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "dex.users[0].password_hash: is a credential written in plain text" in captured.err
    assert "oauth2_proxy.cookie_secret: is a credential written in plain text" in captured.err
    assert f"got {SECRET_MASK}" in captured.err and not out.exists()
    assert not _leak_report(captured.out + captured.err, canaries), captured.err


def test_a_secure_entry_where_plain_text_belongs_is_refused_offline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ciphertext = "v1:" + token(40)
    canaries = Canaries({"ciphertext": ciphertext})
    path = _stack_file_with(tmp_path, lambda text: text.replace(
        "    context: kind-mlplane\n", f"    context:\n      secure: {ciphertext}\n"))
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "mlplane:cluster.context: is a secret (`secure:`), but this key is not a secret" in captured.err
    assert not _leak_report(captured.out + captured.err, canaries), captured.err


def test_the_search_finds_every_form_of_a_secret() -> None:
    """The detector itself: each way a secret could be written out is found."""
    value = awkward()
    canaries = Canaries({"canary": value})
    raw = value.encode("utf-8")
    blob = base64.b64encode(b"user:" + raw + b"\n").decode("ascii")  # embedded at an offset
    texts = {
        "plain": f"a: {value}",
        "json": json.dumps({"a": value}),
        "yaml": yaml.safe_dump({"a": value}, allow_unicode=False, width=20),
        "secret data": yaml.safe_dump({"data": {"a": blob}}),
        "url-safe": base64.urlsafe_b64encode(b"xx" + raw).decode("ascii"),
        "hex": raw.hex(),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    for name, text in texts.items():
        parsed = yaml.safe_load(text) if name in ("yaml", "secret data", "json") else None
        assert find_leaks(name, text, canaries, parsed), f"{name}: not found in {text!r}"
    assert find_leaks("hash", f"hash: {bcrypt_like()}", Canaries())
    assert not find_leaks("clean", json.dumps({"a": SECRET_MASK, "b": token()}), canaries)


def test_plain_credentials_in_helm_values_are_refused_and_never_echoed(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Helm values go into the plan and state as written: a credential there is refused, masked in the error."""
    import yaml as _yaml

    from mlplane.infra.cli import main as cli_main

    secret = "Zx9TopSecretValue_4f7a2b"
    document = _yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["mlplane:kubeflow"]["components"]["kserve"] = {
        "deployment_mode": "raw", "values": {"controller": {"storage": {"secretAccessKey": secret}}}}
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(_yaml.safe_dump(document, sort_keys=False))
    assert cli_main(["render", "--config-file", str(stack), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "components.kserve.values: holds a credential in plain text at controller.storage.secretAccessKey" in (
        captured.err)
    assert secret not in captured.err + captured.out and not (tmp_path / "out").exists()
    # An unknown key holding a password: the error shows the mapping, masked.
    document["config"]["mlplane:kubeflow"]["components"]["kserve"] = {"deployment_mode": "raw"}
    document["config"]["mlplane:kubeflow"]["components"]["dashboard"] = {"values": {"password": secret}}
    stack.write_text(_yaml.safe_dump(document, sort_keys=False))
    assert cli_main(["render", "--config-file", str(stack), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "components.dashboard" in captured.err and "[secret]" in captured.err and secret not in captured.err
