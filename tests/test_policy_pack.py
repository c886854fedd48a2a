"""The Pulumi policy pack without the CLI: its policies called as the engine calls them.

Properties go through pulumi_policy's own ``unknown_checking_proxy`` (read-only Mapping
and Sequence proxies), as in a real preview.
"""

from __future__ import annotations

from typing import Any

import pytest

pulumi_policy = pytest.importorskip("pulumi_policy")
from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy  # noqa: E402

from mlplane.policy.pack import ENFORCEMENT, PACK_NAME, policies  # noqa: E402
from mlplane.policy.registry import ALL_RULES  # noqa: E402

from .test_policy_rules import good_pod, workload  # noqa: E402

URN = "urn:pulumi:dev::mlplane::mlplane:serving:WebApp$kubernetes:apps/v1:Deployment::app"
CHART_URN = "urn:pulumi:dev::mlplane::mlplane:platform:Istio$kubernetes:helm.sh/v4:Chart$kubernetes:apps/v1:Deployment::x"


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def by_name() -> dict[str, Any]:
    return {p.name: p for p in policies()}


def run_resource(name: str, type_: str, props: dict[str, Any], urn: str = URN, protect: bool = False,
                 config: dict[str, Any] | None = None, logical: str = "app") -> list[str]:
    policy = by_name()[name]
    assert isinstance(policy, ResourceValidationPolicy)
    reported: list[str] = []
    args = ResourceValidationArgs(type_, unknown_checking_proxy(props), urn, logical, options(protect), None, config)
    policy.validate(args, lambda message, urn=None: reported.append(message))
    return reported


def test_pack_has_one_policy_per_rule_and_is_mandatory() -> None:
    made = policies()
    assert [p.name for p in made] == [r.name for r in ALL_RULES]
    assert all(p.description for p in made)
    assert ENFORCEMENT is EnforcementLevel.MANDATORY and PACK_NAME == "mlplane"
    assert isinstance(by_name()["namespace-guardrails"], StackValidationPolicy)
    assert by_name()["stateful-resources-protected"].config_schema is not None


def test_compliant_deployment_reports_nothing_under_any_policy() -> None:
    for policy in policies():
        if isinstance(policy, ResourceValidationPolicy):
            assert run_resource(policy.name, "kubernetes:apps/v1:Deployment", workload(good_pod())) == []


def test_violations_reach_report_violation() -> None:
    pod = good_pod()
    pod["containers"][0]["image"] = "nginx:latest"
    pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    pod["volumes"] = [{"name": "h", "hostPath": {"path": "/var/run/docker.sock"}}]
    props = workload(pod)
    deployment = "kubernetes:apps/v1:Deployment"
    assert any("allowPrivilegeEscalation" in m for m in run_resource("pod-security-restricted", deployment, props))
    assert any("latest" in m for m in run_resource("images-pinned", deployment, props))
    assert any("docker.sock" in m for m in run_resource("no-host-path", deployment, props))


def test_charts_objects_are_not_judged_by_the_pack() -> None:
    pod = good_pod()
    pod["containers"][0]["image"] = "nginx"
    assert run_resource("images-pinned", "kubernetes:apps/v1:Deployment", workload(pod), urn=URN)
    assert run_resource("images-pinned", "kubernetes:apps/v1:Deployment", workload(pod), urn=CHART_URN) == []


def test_stateful_policy_uses_protect_and_its_config() -> None:
    pvc = "kubernetes:core/v1:PersistentVolumeClaim"
    assert run_resource("stateful-resources-protected", pvc, {}, protect=True) == []
    assert run_resource("stateful-resources-protected", pvc, {}, protect=False)
    assert run_resource("stateful-resources-protected", pvc, {}, protect=False, logical="scratch-claim",
                        config={"unprotected": ["scratch-*"]}) == []


def test_unknown_values_raise_the_sdks_unknown_error() -> None:
    # The engine turns this into an advisory "can't run during preview" note, never a pass.
    pod = good_pod()
    pod["containers"][0]["image"] = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi's unknown-string sentinel
    with pytest.raises(UnknownValueError):
        run_resource("images-pinned", "kubernetes:apps/v1:Deployment", workload(pod))


def _stack_resource(type_: str, props: dict[str, Any], urn: str) -> PolicyResource:
    return PolicyResource(type_, unknown_checking_proxy(props), urn, urn.rsplit("::", 1)[-1], options(), None, None,
                          [], {})


def test_stack_policy_reports_unguarded_namespaces_with_their_urn() -> None:
    ns_urn = "urn:pulumi:dev::mlplane::kubernetes:core/v1:Namespace::team-ns"
    np_urn = "urn:pulumi:dev::mlplane::kubernetes:networking.k8s.io/v1:NetworkPolicy::team-deny"
    namespace = {"metadata": {"name": "team", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    policy = by_name()["namespace-guardrails"]
    reported: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append((message, urn))

    policy.validate(StackValidationArgs([_stack_resource("kubernetes:core/v1:Namespace", namespace, ns_urn)]), report)
    assert [urn for _, urn in reported] == [ns_urn]
    reported.clear()
    guarded = [_stack_resource("kubernetes:core/v1:Namespace", namespace, ns_urn),
               _stack_resource("kubernetes:networking.k8s.io/v1:NetworkPolicy",
                               {"metadata": {"name": "deny", "namespace": "team"}, "spec": {}}, np_urn)]
    policy.validate(StackValidationArgs(guarded), report)
    assert reported == []


def test_the_pack_reports_a_published_credential_in_an_upstream_directory() -> None:
    """The one rule that judges charts' and directories' objects: a published value is reported, not masked."""
    urn = ("urn:pulumi:dev::mlplane::mlplane:platform:KubeflowApps$kubernetes:kustomize/v2:Directory"
           "$kubernetes:core/v1:Secret::platform-apps-pipelines-pipelines:kubeflow/mlpipeline-minio-artifact")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mlpipeline-minio-artifact"},
              "stringData": {"accesskey": "minio", "secretkey": "minio123"}}
    assert len(run_resource("no-published-credentials", "kubernetes:core/v1:Secret", secret, urn=urn)) == 2
    generated = {**secret, "stringData": {"accesskey": "AK1x", "secretkey": "g3nerated"}}
    assert run_resource("no-published-credentials", "kubernetes:core/v1:Secret", generated, urn=urn) == []
    # Every other rule still leaves upstream objects alone.
    assert run_resource("images-pinned", "kubernetes:apps/v1:Deployment",
                        workload({"containers": [{"name": "c", "image": "x"}]}), urn=CHART_URN) == []
