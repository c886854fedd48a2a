"""The verify harness's pure parts: selectors, webhook rules, placeholders, the provider's apply rules."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlplane.components.admission import Request, Webhook, matches, selector_matches
from mlplane.infra.offline.verify.apply import field_manager, is_patch, patch_force
from mlplane.infra.offline.verify.command import child_argv
from mlplane.infra.offline.verify.fill import FILLER, fill
from mlplane.infra.offline.verify.report import attribute


def test_label_selectors_as_the_api_server_evaluates_them() -> None:
    labels = {"istio-injection": "enabled", "team": "nlp"}
    assert selector_matches(None, labels) and selector_matches({}, {})
    assert selector_matches({"matchLabels": {"team": "nlp"}}, labels)
    assert not selector_matches({"matchLabels": {"team": "vision"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "control-plane", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["nlp"]}]},
                                labels)
    assert selector_matches({"matchExpressions": [{"key": "team", "operator": "In", "values": ["nlp", "x"]}],
                             "matchLabels": {"istio-injection": "enabled"}}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "absent", "operator": "Exists"}]}, labels)


def _hook(*rules: dict) -> Webhook:
    return Webhook(configuration=0, name="h", failure_policy="Fail", exact=False, rules=rules,
                   namespace_selector=None, object_selector=None, service=None)


def test_webhook_rules_match_operation_group_resource_and_scope() -> None:
    """The verify harness judges webhook-gated objects with components.admission (one implementation)."""
    runtime = Request(group="serving.kserve.io", version="v1alpha1", resource="clusterservingruntimes",
                      namespace="", labels={}, namespace_labels={})
    rule = {"operations": ["CREATE"], "apiGroups": ["serving.kserve.io"], "apiVersions": ["v1alpha1"],
            "resources": ["clusterservingruntimes"], "scope": "Cluster"}
    assert matches(_hook(rule), runtime)
    assert not matches(_hook({**rule, "scope": "Namespaced"}), runtime)
    assert not matches(_hook({**rule, "operations": ["UPDATE"]}), runtime)
    configmap = Request(group="", version="v1", resource="configmaps", namespace="a", labels={}, namespace_labels={})
    wildcard = {"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}
    assert matches(_hook(wildcard), configmap)
    assert not matches(_hook({**wildcard, "resources": ["pods/exec"]}), configmap)  # a subresource


def test_placeholders_are_filled_base64_only_under_a_secrets_data() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "data": {"a": "[secret]"}, "stringData": {"b": "[secret]"}}
    filled, changes = fill(secret, "s")
    assert filled["data"]["a"] == "bWxwbGFuZS12ZXJpZnktcGxhY2Vob2xkZXI=" and filled["stringData"]["b"] == FILLER
    assert [c.detail.split(":")[0] for c in changes] == ["data.a", "stringData.b"]
    config = {"kind": "ConfigMap", "data": {"a": "[unknown]"}, "metadata": {"annotations": {"x": "[secret]"}}}
    filled, changes = fill(config, "c")
    assert filled["data"]["a"] == FILLER and filled["metadata"]["annotations"]["x"] == FILLER and len(changes) == 2
    assert fill({"kind": "ConfigMap", "data": {"a": "plain"}}, "c") == ({"kind": "ConfigMap", "data": {"a": "plain"}},
                                                                          [])


def test_the_providers_apply_rules() -> None:
    assert is_patch("kubernetes:core/v1:NodePatch") and not is_patch("kubernetes:core/v1:Node")
    forced = {"metadata": {"annotations": {"pulumi.com/patchForce": "true"}}}
    assert patch_force(forced) and not patch_force({"metadata": {}}) and patch_force({}, enable_patch_force=True)
    one, two = field_manager("urn:a", {}), field_manager("urn:b", {})
    assert one.startswith("pulumi-kubernetes-") and one != two and one == field_manager("urn:a", {})
    named = {"metadata": {"annotations": {"pulumi.com/patchFieldManager": "ops"}}}
    assert field_manager("urn:a", named) == "ops"


def test_only_the_harness_own_words_attribute_a_problem_to_a_limit() -> None:
    assert attribute('Internal error occurred: failed calling webhook "x": no endpoints available for service "y"') \
        == "no-webhook-server"
    assert attribute("Waiting for a volume to be created either by the external provisioner 'x'") \
        == "no-storage-provisioner"
    assert attribute('violates PodSecurity "restricted:latest": seccompProfile') is None
    assert attribute("no persistent volumes available for this claim and no storage class is set") is None


def test_the_isolated_child_repeats_the_command_line(tmp_path: Path) -> None:
    args = argparse.Namespace(stack=None, config_file=Path("Pulumi.x.yaml"), sources=Path("src"), k8s_bin=None,
                              format="json", fail_on_problem=True, admission_only=False)
    argv = child_argv(args)
    assert argv[:3] == ["verify", "--config-file", str(Path("Pulumi.x.yaml").absolute())]
    assert argv[3:] == ["--sources", str(Path("src").absolute()), "--format", "json", "--fail-on-problem"]
