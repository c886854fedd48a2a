"""The recording mock runtime keeps every option of every registration, secrets masked."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from mlplane.components.base import SecretValue
from mlplane.components.namespace import PlatformNamespace, PlatformNamespaceArgs
from mlplane.core.errors import OfflineUnsupportedError


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:test:Box", name, None, opts)
        self.register_outputs({})


def test_options_are_recorded(record) -> None:
    def program() -> None:
        provider = k8s.Provider("k8s", context="kind-x")
        box = Box("box")
        ns = k8s.core.v1.Namespace("ns", metadata={"name": "ml"}, opts=pulumi.ResourceOptions(provider=provider))
        k8s.core.v1.PersistentVolumeClaim(
            "box-data",
            metadata={"name": "data", "namespace": "ml"},
            spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            opts=pulumi.ResourceOptions(
                parent=box, provider=provider, depends_on=[ns], protect=True, retain_on_delete=True,
                delete_before_replace=True, replace_on_changes=["spec.storageClassName"],
                ignore_changes=["metadata.annotations"], aliases=[pulumi.Alias(name="old-data")],
            ),
        )

    plan = record(program, "t")
    data = plan.named("box-data")
    assert data.urn == "urn:pulumi:t::mlplane::mlplane:test:Box$kubernetes:core/v1:PersistentVolumeClaim::box-data"
    assert data.parent == plan.named("box").urn
    assert data.provider == "urn:pulumi:t::mlplane::pulumi:providers:kubernetes::k8s"
    assert plan.named("ns").urn in data.dependencies
    assert (data.protect, data.retain_on_delete, data.delete_before_replace) == (True, True, True)
    assert data.replace_on_changes == ("spec.storageClassName",)
    assert data.ignore_changes == ("metadata.annotations",)
    assert data.aliases == (
        "urn:pulumi:t::mlplane::mlplane:test:Box$kubernetes:core/v1:PersistentVolumeClaim::old-data",
    )
    assert data.inputs["spec"]["resources"]["requests"]["storage"] == "1Gi"
    top = plan.named("ns")
    assert top.urn == "urn:pulumi:t::mlplane::kubernetes:core/v1:Namespace::ns"


def test_secrets_are_masked_in_inputs(record) -> None:
    def program() -> None:
        k8s.core.v1.Secret("s", metadata={"name": "s", "namespace": "ml"},
                           string_data={"password": SecretValue("hunter2").as_output()})
        k8s.core.v1.ConfigMap("c", metadata={"name": "c", "namespace": "ml"},
                              data={"plain": "visible", "token": pulumi.Output.secret("s3cr3t")})

    plan = record(program)
    assert plan.named("c").inputs["data"] == {"plain": "visible", "token": "[secret]"}
    assert "[secret]" in str(plan.named("s").inputs["stringData"])
    assert "hunter2" not in plan.to_json_text() and "s3cr3t" not in plan.to_json_text()


def test_numbers_keep_their_type(record) -> None:
    def program() -> None:
        k8s.core.v1.Service("svc", metadata={"name": "svc", "namespace": "ml"},
                            spec={"ports": [{"port": 80, "targetPort": 5000}]})

    assert record(program).named("svc").inputs["spec"]["ports"] == [{"port": 80, "targetPort": 5000}]


def test_provider_function_calls_are_refused(record) -> None:
    def program() -> None:
        pulumi.runtime.invoke("gcp:organizations/getProject:getProject", {})

    with pytest.raises(OfflineUnsupportedError, match="getProject"):
        record(program)


def test_duplicate_urns_are_refused(record) -> None:
    def program() -> None:
        Box("same")
        Box("same")

    with pytest.raises(Exception, match="same"):
        record(program)


def test_runs_are_isolated(record) -> None:
    first = record(lambda: Box("one"))
    second = record(lambda: Box("two"))
    assert [r.name for r in second if r.type == "mlplane:test:Box"] == ["two"]
    assert len(first) == len(second) == 2  # the stack and the box


def test_platform_namespace_objects(record) -> None:
    plan = record(lambda: PlatformNamespace(
        "apps", PlatformNamespaceArgs(namespace="apps", allow_ingress_from=("istio-system",))))
    ns = plan.named("apps-ns").inputs
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    deny = plan.named("apps-default-deny").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    allow = plan.named("apps-allow-internal").inputs["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}}} in allow
    assert plan.named("apps-ns").urn in plan.named("apps-default-deny").dependencies
