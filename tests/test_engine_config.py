"""The Pulumi engine's path: config from the engine validates exactly as offline."""

from __future__ import annotations

import contextvars
import json
from pathlib import Path

import pytest
from pulumi.runtime.config import set_all_config

from mlplane.infra.config.secrets import secret_slots, unset_required
from mlplane.infra.config.stackfile import read_stack_document
from mlplane.infra.engine_config import engine_config_values, load_engine_config
from mlplane.core.errors import InputError

from .conftest import ROOT, load_stack


def engine_view(stack: str) -> dict[str, str]:
    """What the engine hands the program: every key, structured values as JSON text."""
    document = read_stack_document(ROOT / f"Pulumi.{stack}.yaml")

    def plain(value: object) -> object:
        if hasattr(value, "reveal"):
            return "decrypted-by-the-engine"
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    config = {key: plain(value) for key, value in document.config.items()}
    # The stack files carry no secrets: the user has set the required ones (`mlplane secrets --set`).
    for slot in unset_required(secret_slots(config)):
        node = config
        for step in slot.path[:-1]:
            node = node[step]
        node[slot.path[-1]] = "decrypted-by-the-engine"
    return {key: json.dumps(value) for key, value in config.items()}


def in_engine(stack: str, values: dict[str, str], secret_keys: list[str], function):  # type: ignore[no-untyped-def]
    def run():  # type: ignore[no-untyped-def]
        set_all_config(values, secret_keys)
        import pulumi.runtime.settings as settings

        settings.SETTINGS.stack = stack
        settings.SETTINGS.project = "mlplane"
        settings.SETTINGS.root_directory = str(ROOT)  # the engine runs the program in the project's folder
        return function()

    return contextvars.Context().run(run)


@pytest.mark.parametrize("stack", ["dev", "gke"])
def test_engine_config_equals_the_offline_config(stack: str) -> None:
    values = engine_view(stack)
    secret = [key for key, text in values.items() if "decrypted-by-the-engine" in text]
    config = in_engine(stack, values, secret, load_engine_config)
    offline = load_stack(stack)
    assert config.model_dump(mode="json") == offline.model_dump(mode="json")
    assert config.source.stack == stack and config.source.file == Path(f"Pulumi.{stack}.yaml")


def test_engine_values_are_decoded_and_secret_keys_marked() -> None:
    values, secret = in_engine("dev", {"mlplane:cluster": '{"kind": "local"}', "kubernetes:context": "x"},
                               ["mlplane:cluster"], engine_config_values)
    assert values == {"mlplane:cluster": {"kind": "local"}, "kubernetes:context": "x"}
    assert secret == frozenset({"mlplane:cluster"})


def test_plain_text_credentials_are_refused_unless_the_engine_marks_them_secret() -> None:
    values = engine_view("gke")
    with pytest.raises(InputError, match="credential written in plain text"):
        in_engine("gke", values, [], load_engine_config)


def test_bad_engine_config_names_the_stack_file() -> None:
    with pytest.raises(InputError, match=r"^Pulumi\.dev\.yaml: mlplane:cluster\.kind: unknown kind"):
        in_engine("dev", {"mlplane:cluster": '{"kind": "nope"}'}, [], load_engine_config)
