"""Stack config: the repository's stacks load; bad input gets one clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from mlplane.components.base import SecretValue
from mlplane.infra.load import load_stack_file, validate_config
from mlplane.infra.config.cluster import GkeCluster, LocalCluster
from mlplane.infra.config.source import StackSource
from mlplane.core.errors import InputError

from .conftest import STACKS, load_stack


def write(tmp_path: Path, text: str, name: str = "Pulumi.t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_stack_file(path, display=path.name)
    return str(caught.value)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_of_the_repository_loads(stack: str) -> None:
    config = load_stack(stack)
    assert config.source.stack == stack


def test_dev_is_a_local_cluster_with_no_credentials() -> None:
    config = load_stack("dev")
    assert isinstance(config.cluster, LocalCluster)
    assert config.cluster.effective_context == "kind-mlplane"


def test_gke_context_follows_gcloud_convention() -> None:
    config = load_stack("gke")
    assert isinstance(config.cluster, GkeCluster)
    assert config.cluster.effective_context == "gke_acme-ml-platform_europe-west4_ml-platform"


def test_config_is_frozen() -> None:
    config = load_stack("dev")
    with pytest.raises(ValidationError, match="frozen"):
        config.cluster.context = "other"  # type: ignore[misc]


def test_unknown_key_names_file_line_path_value_and_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  mlplane:cluster:\n    kind: local\n    contxt: kind-x\n")
    message = error_of(path)
    assert message == (
        "Pulumi.t.yaml:4: mlplane:cluster.contxt: unknown key; did you mean `context`? "
        "(got 'kind-x'; allowed: context, kubeconfig, workload_namespace, kind)"
    )


def test_unknown_section_lists_the_sections(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  mlplane:cluster: {kind: local}\n  mlplane:clusters: {}\n")
    assert ("Pulumi.t.yaml:3: mlplane:clusters: unknown key; did you mean `mlplane:cluster`? "
            "(allowed: mlplane:cluster") in error_of(path)


def test_misspelt_namespace_is_not_silently_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  mlplane:cluster: {kind: local}\n  mlpalne:cluster: {}\n")
    assert "mlpalne:cluster: unknown config namespace; did you mean `mlplane:`?" in error_of(path)


def test_wrong_type_suggests_quoting(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  mlplane:cluster:\n    kind: gke\n    project: p\n    location: 1.5\n    name: c\n")
    message = error_of(path)
    assert "Pulumi.t.yaml:5: mlplane:cluster.location: must be a string" in message
    assert "got 1.5" in message


def test_unknown_kind_lists_kinds(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  mlplane:cluster:\n    kind: gcp\n")
    assert error_of(path) == (
        "Pulumi.t.yaml:3: mlplane:cluster.kind: unknown kind "
        "(got 'gcp'; allowed: 'local', 'selfhosted', 'gke', 'eks', 'aks')"
    )


def test_missing_required_value_says_what_it_is_for(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  mlplane:cluster:\n    kind: gke\n    location: x\n    name: c\n")
    assert "mlplane:cluster.project: required key is missing: Google Cloud project id" in error_of(path)


def test_missing_section(tmp_path: Path) -> None:
    path = write(tmp_path, "config: {}\n")
    assert "mlplane:cluster: required key is missing" in error_of(path)


def test_out_of_range_value(tmp_path: Path) -> None:
    path = write(tmp_path, f"config:\n  mlplane:cluster:\n    kind: local\n    workload_namespace: {'n' * 64}\n")
    message = error_of(path)
    assert "mlplane:cluster.workload_namespace: must be a DNS-1123 label" in message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  mlplane:cluster:\n    kind: local\n    a: 1\n    b: 2\n")
    assert len(error_of(path).splitlines()) == 2


def test_secure_entry_in_a_plain_field_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  mlplane:cluster:\n    kind: local\n    context: {secure: v1:c2VjcmV0}\n")
    message = error_of(path)
    assert "is a secret (`secure:`), but this key is not a secret" in message
    assert "v1:c2VjcmV0" not in message


def test_engine_values_validate_the_same_way() -> None:
    source = StackSource(stack="dev", file=Path("Pulumi.dev.yaml"), base_dir=Path("."))
    config = validate_config({"mlplane:cluster": {"kind": "local"}, "kubernetes:context": "x"}, source)
    assert config.cluster.kind == "local"
    with pytest.raises(InputError, match="Pulumi.dev.yaml: mlplane:cluster.kind: unknown kind"):
        validate_config({"mlplane:cluster": {"kind": "nope"}}, source)


def test_secret_value_never_shows_itself() -> None:
    secret = SecretValue("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret)
    assert "hunter2" not in json.dumps({"v": str(secret)})
