"""Errors that help: "did you mean", the accepted values, the functions a module offers; schema --out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlplane.infra.cli import main
from mlplane.core.suggest import close_matches, did_you_mean

from .conftest import ROOT

DEV = (ROOT / "Pulumi.dev.yaml").read_text()


def render_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    path = tmp_path / "Pulumi.s.yaml"
    path.write_text(text)
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
    return capsys.readouterr().err


def test_close_matches_ignore_case_and_keep_the_allowed_spelling() -> None:
    assert close_matches("Clases", ["protect", "classes", "volumes"]) == ["classes"]
    assert did_you_mean("zzz", ["dev", "gke"]) == ""
    assert did_you_mean("clustr", ["cluster", "auth"], prefix="mlplane:") == "; did you mean `mlplane:cluster`?"


def test_unknown_section_suggests_the_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_error(tmp_path, capsys, DEV.replace("  mlplane:pipelines:", "  mlplane:pipeline:"))
    assert "mlplane:pipeline: unknown key; did you mean `mlplane:pipelines`? (allowed: mlplane:cluster," in err


def test_unknown_nested_key_suggests_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_error(tmp_path, capsys, DEV.replace("        storage_class: mlplane-local\n",
                                                     "        storage_clas: mlplane-local\n", 1))
    assert ("mlplane:storage.volumes[0].storage_clas: unknown key; did you mean `storage_class`? (got "
            "'mlplane-local'; allowed: formerly, name, namespace, size, storage_class, access_modes, protect)") in err


def test_unknown_key_far_from_any_gets_no_suggestion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_error(tmp_path, capsys, DEV.replace("    release: \"26.03\"\n", "    release: \"26.03\"\n    zzz: 1\n"))
    assert "mlplane:kubeflow.zzz: unknown key (got 1; allowed: release, ingress, gateway," in err


def test_a_boolean_names_its_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_error(tmp_path, capsys, DEV.replace("          generate_password: true",
                                                     "          generate_password: sure"))
    assert ("mlplane:auth.dex.users[0].generate_password: must be true or false (got 'sure'; "
            "allowed: true, false)") in err


def test_an_enum_names_its_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_error(tmp_path, capsys, DEV.replace("kserve: {deployment_mode: raw}",
                                                     "kserve: {deployment_mode: rawmode}"))
    assert ("mlplane:kubeflow.components.kserve.deployment_mode: not an allowed value (got 'rawmode'; "
            "allowed: 'serverless' or 'raw')") in err


def test_unknown_stack_suggests_a_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--stack", "devv"]) == 2
    assert "--stack: unknown stack; did you mean `dev`? (got 'devv'; allowed: " in capsys.readouterr().err
    assert main(["render", "--stack", "gek"]) == 2
    assert "--stack: unknown stack; did you mean `gke` or `eks`? (got 'gek'; allowed: " in capsys.readouterr().err


def test_a_missing_native_function_lists_the_pipelines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = render_error(tmp_path, capsys, DEV.replace("mlplane.pipelines.mnist:mnist_pipeline", "mlplane.pipelines.mnist:mnist_pipelin"))
    assert ("the module defines no function 'mnist_pipelin' (allowed: did you mean `mnist_pipeline`? its pipeline "
            "functions: mnist_pipeline)") in err
    err = render_error(tmp_path, capsys, DEV.replace("mlplane.pipelines.mnist:mnist_pipeline", "mlplane.pipelines.mnist:train"))
    assert "the module defines no function 'train' (allowed: its pipeline functions: mnist_pipeline)" in err


def test_a_missing_kfp_v1_function_lists_the_pipelines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = ROOT / "pipelines" / "seed" / "mnist_pipeline.py"
    (tmp_path / "seed.py").write_bytes(source.read_bytes())
    text = DEV.replace("      source: mlplane.pipelines.mnist:mnist_pipeline\n",
                       "      source: seed.py:pipeline\n      kind: kfp-v1\n")
    text = text.split("      params:\n        serve_host")[0]
    err = render_error(tmp_path, capsys, text)
    assert ("the file defines no function 'pipeline' (allowed: did you mean `mnist_pipeline`? its pipeline "
            "functions: mnist_pipeline)") in err


def test_schema_out_creates_its_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # In a fresh clone .mlplane/ does not exist: `mlplane schema > .mlplane/stack-schema.json` fails there.
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    target = tmp_path / ".mlplane" / "nested" / "stack-schema.json"
    assert main(["schema", "--out", str(target)]) == 0
    assert target.read_text() == printed
    assert json.loads(printed)["title"].startswith("mlplane stack file")


def test_schema_out_where_it_cannot_write_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["schema", "--out", str(blocker / "schema.json")]) == 2
    assert "--out: cannot write the schema there" in capsys.readouterr().err
