"""The CLI end to end: deterministic renders, diffs, baselines, and bad input (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlplane.infra.cli import main

from .conftest import ROOT, STACKS
from .plans import job, plan, pvc


@pytest.fixture(autouse=True)
def in_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.fixture
def isolated_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's stack files in a temporary project folder."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    for stack in STACKS:
        name = f"Pulumi.{stack}.yaml"
        (tmp_path / name).write_text((ROOT / name).read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def baseline_path(root: Path, stack: str) -> Path:
    """Where a project's stack keeps its baseline (StackSource.baseline: beside the stack file)."""
    return root / ".mlplane" / "baselines" / f"{stack}.json"


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_render_twice_is_byte_identical(tmp_path: Path) -> None:
    assert main(["render", "--stack", "dev", "--out", str(tmp_path / "a")]) == 0
    assert main(["render", "--stack", "dev", "--out", str(tmp_path / "b")]) == 0
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert first == second
    assert "plan.json" in first
    assert any(name.startswith("manifests/_cluster/Namespace-") for name in first)


def test_render_writes_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--out", str(tmp_path)]) == 0
    assert "Rendered stack dev" in capsys.readouterr().out
    document = json.loads((tmp_path / "plan.json").read_text())
    assert (document["version"], document["project"], document["stack"]) == (1, "mlplane", "dev")
    urns = [r["urn"] for r in document["resources"]]
    assert urns == sorted(urns)
    expected_keys = {"urn", "type", "name", "custom", "parent", "provider", "dependencies", "inputs", "protect",
                     "retainOnDelete", "deleteBeforeReplace", "replaceOnChanges", "ignoreChanges", "aliases"}
    assert all(set(r) == expected_keys for r in document["resources"])
    for manifest in (tmp_path / "manifests").rglob("*.yaml"):
        body = yaml.safe_load(manifest.read_text())
        assert body["apiVersion"] and body["kind"] and body["metadata"]["name"]
        folder = manifest.parent.name
        assert folder == "_cluster" or body["metadata"]["namespace"] == folder
        assert manifest.name == f"{body['kind']}-{body['metadata']['name']}.yaml"


def test_render_keeps_other_files_and_replaces_old_manifests(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    stale = tmp_path / "manifests" / "old" / "Job-stale.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("kind: Job\n")
    assert main(["render", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not stale.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".render-")]


def test_unknown_stack_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing like any stack's name: no suggestion.
    assert main(["render", "--stack", "zzz", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.zzz.yaml: --stack: unknown stack (got 'zzz'; allowed: " in err
    assert not (tmp_path / "out").exists()


def test_invalid_config_exits_2_and_keeps_the_previous_render(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["render", "--out", str(out)]) == 0
    before = tree(out)
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  mlplane:cluster:\n    kind: local\n    workload_namespace: Not_Valid\n")
    assert main(["render", "--config-file", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.bad.yaml:4: mlplane:cluster.workload_namespace: must be a DNS-1123 label" in err
    assert "got 'Not_Valid'" in err
    assert tree(out) == before


def test_config_file_renders_with_its_own_stack_name(tmp_path: Path) -> None:
    other = tmp_path / "Pulumi.laptop.yaml"
    other.write_text("config:\n  mlplane:cluster:\n    kind: local\n    context: k3d-x\n")
    assert main(["render", "--config-file", str(other), "--out", str(tmp_path / "o")]) == 0
    document = json.loads((tmp_path / "o" / "plan.json").read_text())
    assert document["stack"] == "laptop"
    provider = next(r for r in document["resources"] if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["context"] == "k3d-x"


def test_diff_of_a_changed_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The dev stack with only its workload namespace changed.
    dev = (ROOT / "Pulumi.dev.yaml").read_text()
    assert dev.count("    kind: local\n") == 1
    changed = tmp_path / "Pulumi.dev.yaml"
    changed.write_text(dev.replace("    kind: local\n", "    kind: local\n    workload_namespace: ml\n"))
    assert main(["render", "--out", str(tmp_path / "old")]) == 0
    assert main(["render", "--config-file", str(changed), "--out", str(tmp_path / "new")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new"), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    ops = {c["urn"].rsplit("::", 1)[1]: c["op"] for c in result["changes"]}
    assert {name: ops.get(name) for name in ("workloads-ns", "workloads-default-deny", "workloads-allow-internal")} \
        == dict.fromkeys(("workloads-ns", "workloads-default-deny", "workloads-allow-internal"), "replace")
    # Everything else that changes lived in the workload namespace (and moves with it) or
    # admits traffic from it; the platform is untouched.
    old = {r["urn"]: r for r in json.loads((tmp_path / "old" / "plan.json").read_text())["resources"]}
    others = [c for c in result["changes"] if not c["urn"].rsplit("::", 1)[1].startswith("workloads-")]
    assert all((old[c["urn"]]["inputs"].get("metadata") or {}).get("namespace") == "mlplane"
               or all("namespaceSelector" in path for path in c["paths"]) for c in others), others
    assert not [c for c in result["changes"] if "mlplane:platform:" in c["urn"]]
    total = len(json.loads((tmp_path / "new" / "plan.json").read_text())["resources"])
    assert result["summary"]["same"] == total - len(result["changes"])
    assert result["summary"]["create"] == result["summary"]["delete"] == 0


def test_fail_on_danger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(plan(pvc(), job()).to_json_text())
    new.write_text(plan(job()).to_json_text())
    assert main(["diff", str(old), str(new)]) == 0
    assert main(["diff", str(old), str(new), "--fail-on-danger"]) == 1
    assert main(["diff", str(new), str(new), "--fail-on-danger"]) == 0
    assert "DANGER" in capsys.readouterr().out


def test_unreadable_plan_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    assert main(["diff", str(bad), str(bad)]) == 2
    assert "not a plan file" in capsys.readouterr().err
    assert main(["diff", str(tmp_path / "missing.json"), str(bad)]) == 2


def test_preview_baseline_cycle(isolated_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview"]) == 0
    out = capsys.readouterr().out
    assert "No baseline for stack dev" in out and "pulumi:pulumi:Stack  mlplane-dev" in out
    assert main(["preview", "--save"]) == 0
    saved = baseline_path(isolated_root, "dev").read_text()
    assert main(["preview"]) == 0
    assert "0 to create, 0 to update, 0 to replace, 0 to delete" in capsys.readouterr().out
    (isolated_root / "Pulumi.dev.yaml").write_text("config:\n  mlplane:cluster: {kind: lokal}\n")
    assert main(["preview", "--save"]) == 2
    assert baseline_path(isolated_root, "dev").read_text() == saved


def test_a_stack_file_elsewhere_keeps_its_own_baseline(isolated_root: Path, tmp_path_factory: pytest.TempPathFactory,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # A copy of dev edited elsewhere must not overwrite the project's dev baseline.
    assert main(["preview", "--save"]) == 0
    saved = baseline_path(isolated_root, "dev").read_text()
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "Pulumi.dev.yaml"
    elsewhere.write_text((isolated_root / "Pulumi.dev.yaml").read_text().replace("size: 5Gi", "size: 6Gi"))
    capsys.readouterr()
    assert main(["preview", "--config-file", str(elsewhere)]) == 0
    assert f"mlplane preview --config-file {elsewhere} --save" in capsys.readouterr().out
    assert main(["preview", "--config-file", str(elsewhere), "--save"]) == 0
    assert baseline_path(isolated_root, "dev").read_text() == saved
    assert (elsewhere.parent / ".mlplane" / "baselines" / "dev.json").is_file()


def test_preview_markdown_for_pull_requests(isolated_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("### mlplane plan diff")


def test_schema_accepts_every_stack_and_describes_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    for stack in STACKS:
        jsonschema.validate(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"config": {"mlplane:cluster": {"kind": "local", "bogus": 1}}}, schema)
    undocumented = [
        f"{model}.{name}"
        for model, definition in schema["$defs"].items()
        for name, prop in definition.get("properties", {}).items()
        if "description" not in prop
    ]
    assert undocumented == []


def test_console_script_reports_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mlplane.infra.cli", "render", "--stack", "nope"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "unknown stack" in result.stderr

