"""The upgrade-step table covers every component of both trains; the judgement of one change.

Each entry cites upstream; a component of either train without one fails here. The
judgement is checked on plans made from the release tables themselves: Trainer's
required stop at v2.3, a one-minor step that is fine, and downgrades left to their own
warning.
"""

from __future__ import annotations

import pytest

from mlplane.components.platform.releases import COMPONENT_KEYS, RELEASES
from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.report import format_markdown, format_text
from mlplane.infra.offline.upgrade_steps import UPGRADE_STEPS
from mlplane.infra.offline.upgrades import ComponentChange, judged

from .plans import component, plan


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_every_component_of_each_train_has_a_cited_upgrade_step(release: str) -> None:
    missing = [key for key in RELEASES[release].components if key not in UPGRADE_STEPS]
    assert missing == []
    assert set(UPGRADE_STEPS) == set(COMPONENT_KEYS)
    for step in UPGRADE_STEPS.values():
        assert step.source.startswith("https://") and "(" in step.source, step.key  # a URL and its repository path
        assert step.step


def _cert_manager(version: str):
    return component("kubernetes:helm.sh/v4:Chart", "platform-cert-manager-chart", chart="cert-manager",
                     version=version)


def test_trainer_must_go_through_2_3() -> None:
    def trainer(before: str, after: str) -> ComponentChange:
        return judged(ComponentChange("training", "Trainer", before, after, UPGRADE_STEPS["training"]))

    skipped = trainer("2.2.0", "2.4.1")
    assert skipped.between == ("2.3",) and "Trainer 2.2.0 → 2.4.1 skips 2.3, which upstream requires on the way" \
        in skipped.danger
    assert not trainer("2.2.0", "2.3.0").danger and not trainer("2.3.0", "2.4.1").danger


def test_one_minor_is_the_supported_step_and_downgrades_are_not_judged_here() -> None:
    up = diff_plans(plan(_cert_manager("v1.12.2")), plan(_cert_manager("v1.13.6")))
    assert up.components[0].line() == "cert-manager 1.12.2 → 1.13.6" and not up.components[0].danger
    down = diff_plans(plan(_cert_manager("v1.19.4")), plan(_cert_manager("v1.12.2")))
    assert not down.components[0].danger and down.warnings  # the downgrade warning says it


def test_the_summary_block_shows_in_text_and_markdown() -> None:
    diff = diff_plans(plan(_cert_manager("v1.12.2")), plan(_cert_manager("v1.19.4")))
    text = format_text(diff)
    assert "DANGER: 1 upgrade step skipped (marked !)." in text
    assert "! cert-manager 1.12.2 → 1.19.4: one minor version at a time, each at its latest patch " \
           "(https://cert-manager.io/docs/installation/upgrade/)" in text
    assert "DANGER: cert-manager 1.12.2 → 1.19.4 skips 6 minor versions (1.13, 1.14, 1.15, 1.16, 1.17, 1.18)" in text
    markdown = format_markdown(diff)
    assert "| :warning: cert-manager | 1.12.2 | 1.19.4 | [one minor version at a time, each at its latest patch]" \
           "(https://cert-manager.io/docs/installation/upgrade/) |" in markdown
    assert "- **upgrade step**: cert-manager 1.12.2 → 1.19.4 skips 6 minor versions" in markdown
    assert diff.to_json()["release"]["components"][0]["between"] == ["1.13", "1.14", "1.15", "1.16", "1.17", "1.18"]


def test_an_unknown_component_in_a_version_override_exits_2(tmp_path, capsys) -> None:
    import yaml

    from mlplane.infra.cli import main

    from .conftest import ROOT

    document = yaml.safe_load((ROOT / "Pulumi.onprem.yaml").read_text())
    document["config"]["mlplane:kubeflow"]["components"] = {"istoi": {"version": "1.18.7"}}
    path = tmp_path / "Pulumi.onprem.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:") and "mlplane:kubeflow.components.istoi: unknown key" in err
    assert "did you mean `istio`?" in err and "got {'version': '1.18.7'}" in err and "allowed: cert_manager, istio" in err
    assert not (tmp_path / "out").exists()
