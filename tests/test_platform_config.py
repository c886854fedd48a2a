"""Bad platform input exits 2 with file, line, key path, value and what is allowed, before anything is registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplane.components.platform.resolve import resolve, spec_problems
from mlplane.components.platform.spec import KubeflowSpec, check_email
from mlplane.infra.cli import main
from mlplane.infra.load import load_stack_file
from mlplane.infra.config.stack import StackConfig
from mlplane.core.errors import InputError

BASE = """config:
  mlplane:cluster:
    kind: local
  mlplane:kubeflow:
    release: "26.03"
{kubeflow}
  mlplane:auth:
    dex:
      users:
        - email: user@example.com
          generate_password: true
{auth}
"""


def stack(tmp_path: Path, kubeflow: str = "", auth: str = "", text: str | None = None) -> Path:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(text if text is not None else BASE.format(kubeflow=kubeflow, auth=auth), encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_stack_file(path, display=path.name)
    return str(caught.value)


def exits_2(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Render through the CLI: exit 2, nothing written, the message on stderr."""
    out = tmp_path / "out"
    assert main(["render", "--config-file", str(path), "--out", str(out)]) == 2
    assert not out.exists(), "bad input must not write a render"
    return capsys.readouterr().err


PIPELINES_OFF = "    components:\n      pipelines: {enabled: false}\n"


def test_a_valid_platform_loads(tmp_path: Path) -> None:
    config = load_stack_file(stack(tmp_path, PIPELINES_OFF), display="Pulumi.t.yaml")
    assert config.kubeflow is not None and config.kubeflow.release == "26.03"


def test_unknown_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = stack(tmp_path, text=BASE.format(kubeflow="", auth="").replace('release: "26.03"', 'release: "1.9"'))
    message = exits_2(path, tmp_path, capsys)
    assert "Pulumi.t.yaml:5: mlplane:kubeflow.release: not an allowed value (got '1.9'; allowed: '1.8.1' or '26.03')" \
        in message


def test_unquoted_release_is_explained(tmp_path: Path) -> None:
    path = stack(tmp_path, text=BASE.format(kubeflow="", auth="").replace('release: "26.03"', "release: 26.03"))
    message = error_of(path)
    assert 'mlplane:kubeflow.release: must be a string; quote it in YAML (release: "26.03")' in message
    assert "got 26.03" in message


def test_a_version_that_is_not_a_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = stack(tmp_path, "    components:\n      katib: {version: latest}\n")
    message = exits_2(path, tmp_path, capsys)
    assert "Pulumi.t.yaml:7: mlplane:kubeflow.components.katib.version: must be a pinned version like 1.19.4" \
        in message
    assert "got 'latest'" in message


def test_kserve_serverless_without_knative(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = stack(tmp_path, PIPELINES_OFF + "      knative_serving: {enabled: false}\n")
    message = exits_2(path, tmp_path, capsys)
    assert ("mlplane:kubeflow.components.kserve.deployment_mode: KServe in serverless mode needs Knative Serving, "
            "which is disabled (got 'serverless'; allowed: enable components.knative_serving, or deployment_mode: raw)"
            ) in message


def test_kserve_raw_needs_no_knative(tmp_path: Path) -> None:
    path = stack(tmp_path, PIPELINES_OFF + "      knative_serving: {enabled: false}\n      kserve: {deployment_mode: raw}\n")
    assert load_stack_file(path).kubeflow is not None


@pytest.mark.skipif("storage" not in StackConfig.model_fields, reason="mlplane:storage is not in this build yet")
def test_pipelines_without_an_artifact_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = exits_2(stack(tmp_path), tmp_path, capsys)
    assert ("mlplane:kubeflow.components.pipelines.enabled: Kubeflow Pipelines needs an artifact store, and "
            "mlplane:storage declares none (got True; allowed: declare an artifact store under mlplane:storage, "
            "or set components.pipelines.enabled: false)") in message


def test_a_user_without_a_password_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Offline the unset hash is an unknown secret (as a `secure:` value is offline) and a note
    # says so; the engine refuses (tests/test_secrets_command.py).
    path = stack(tmp_path, PIPELINES_OFF, "        - email: alice@example.com\n")
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "1 required secret(s) not set (mlplane:auth.dex.users[1].password_hash)" in err
    assert f"mlplane secrets --config-file {path}" in err  # the file given, not Pulumi.t.yaml of the project


def test_a_plain_text_password_hash_is_refused(tmp_path: Path) -> None:
    path = stack(tmp_path, PIPELINES_OFF, "        - email: alice@example.com\n          password_hash: $2y$12$abc\n")
    message = error_of(path)
    assert "mlplane:auth.dex.users[1].password_hash: is a credential written in plain text" in message
    assert "$2y$12$abc" not in message


def test_an_invalid_email(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = stack(tmp_path, PIPELINES_OFF, "        - email: alice.example.com\n          generate_password: true\n")
    message = exits_2(path, tmp_path, capsys)
    assert ("Pulumi.t.yaml:14: mlplane:auth.dex.users[1].email: must be an e-mail address like alice@example.com "
            "(got 'alice.example.com')") in message


def test_profile_owner_must_be_a_user(tmp_path: Path) -> None:
    message = error_of(stack(tmp_path, PIPELINES_OFF + "    profiles:\n      - {name: team-a, owner: eve@example.com}\n"))
    assert "mlplane:kubeflow.profiles[0].owner: not a user of mlplane:auth.dex.users (got 'eve@example.com'; " \
           "allowed: user@example.com)" in message


def test_nobody_can_log_in(tmp_path: Path) -> None:
    text = BASE.format(kubeflow=PIPELINES_OFF, auth="").split("  mlplane:auth:")[0]
    message = error_of(stack(tmp_path, text=text))
    assert "mlplane:auth.dex: Dex is installed but nobody can log in" in message


def test_overrides_that_do_not_fit_the_installer(tmp_path: Path) -> None:
    path = stack(tmp_path, PIPELINES_OFF + "      katib: {namespace: tuning, values: {a: 1}}\n"
                 "      istio: {values: {pilot: {}}}\n")
    message = error_of(path)
    assert "mlplane:kubeflow.components.katib.namespace: Katib comes from kubeflow/manifests" in message
    assert "mlplane:kubeflow.components.katib.values: Katib is a kustomize directory" in message
    assert "mlplane:kubeflow.components.istio.values.pilot: Istio installs several charts; values are given per " \
           "chart role (got 'pilot'; allowed: base, cni, istiod, gateway)" in message


def test_model_registry_is_not_in_release_1_8_1(tmp_path: Path) -> None:
    path = stack(tmp_path, text=BASE.format(kubeflow=PIPELINES_OFF + "      model_registry: {enabled: true}\n",
                                            auth="").replace('"26.03"', '"1.8.1"'))
    assert "mlplane:kubeflow.components.model_registry.enabled: Model Registry is not part of release 1.8.1" \
        in error_of(path)


def test_acme_needs_an_email_and_a_host(tmp_path: Path) -> None:
    message = error_of(stack(tmp_path, PIPELINES_OFF + "    issuer: {kind: acme}\n"))
    assert "mlplane:kubeflow.issuer.email: an ACME issuer needs an account e-mail" in message
    assert "mlplane:kubeflow.issuer.kind: an ACME certificate needs a public host name" in message


def test_every_rule_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = stack(tmp_path, PIPELINES_OFF + "      knative_serving: {enabled: false}\n    issuer: {kind: acme}\n",
                 "        - email: alice@example.com\n          password_hash: {secure: v1:abc}\n"
                 "          generate_password: true\n")
    lines = error_of(path).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "mlplane:auth.dex.users[1].generate_password", "mlplane:kubeflow.components.kserve.deployment_mode",
        "mlplane:kubeflow.issuer.email", "mlplane:kubeflow.issuer.kind"]


def test_components_whose_dependency_is_off() -> None:
    spec = KubeflowSpec.model_validate({"components": {"profiles": {"enabled": False}}})
    problems = {(p.path, p.message.split(" needs ")[0]) for p in spec_problems(spec)}
    for key, title in (("notebooks", "Notebooks (controller, Jupyter web app, PodDefaults)"),
                       ("pipelines", "Kubeflow Pipelines"), ("central_dashboard", "Central dashboard")):
        assert (("components", key, "enabled"), title) in problems


def test_existing_istio_satisfies_its_dependents() -> None:
    spec = KubeflowSpec.model_validate({"components": {"istio": {"existing": True, "traffic_redirection": "cni"}}})
    assert list(spec_problems(spec)) == []
    resolved = resolve(spec)
    assert resolved["istio"].available and not resolved["istio"].enabled


@pytest.mark.parametrize("value", ["a@b.co", "first.last+tag@sub.example.org"])
def test_emails_accepted(value: str) -> None:
    assert check_email(value) == value


@pytest.mark.parametrize("value", ["", "a@b", "@b.co", "a b@c.de", "a@-b.co"])
def test_emails_refused(value: str) -> None:
    with pytest.raises(ValueError):
        check_email(value)
