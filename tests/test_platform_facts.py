"""What the platform layer tells later layers (serving, pipelines): PlatformFacts."""

from __future__ import annotations

from mlplane.infra.layers.platform import PlatformFacts
from mlplane.infra.offline.runner import run_offline
from mlplane.infra.program import build

from .conftest import load_stack


def facts_of(stack: str) -> PlatformFacts:
    built = []
    run_offline(lambda: built.append(build(load_stack(stack))), stack=stack)
    return built[0].platform


def test_onprem_facts() -> None:
    facts = facts_of("onprem")
    assert facts.release == "26.03"
    assert facts.gateway is not None
    assert (facts.gateway.gateway, facts.gateway.service, facts.gateway.namespace) == (
        "kubeflow/kubeflow-gateway", "istio-ingressgateway", "istio-system")
    assert facts.gateway.url == "https://kubeflow.onprem.acme.example"
    assert facts.issuer == "mlplane-platform-ca"  # self-signed: the platform CA signs hosts' certificates
    assert (facts.kserve.enabled, facts.kserve.mode) == (True, "serverless")
    assert facts.auth is not None and facts.auth.user_header == "kubeflow-userid"
    assert facts.auth.issuer == "http://dex.auth.svc.cluster.local:5556/dex"
    assert facts.profile_namespaces == ("team-vision", "team-nlp")
    assert {"pipelines", "kserve", "katib", "model_registry"} <= set(facts.installed)
    assert {"kubeflow", "workloads", "ns-istio-system", "profile-team-vision"} <= set(facts.namespaces)


def test_dev_facts() -> None:
    facts = facts_of("dev")
    assert facts.gateway is not None and facts.gateway.host is None and facts.gateway.url is None
    assert (facts.kserve.enabled, facts.kserve.mode) == (True, "raw")
    assert "knative_serving" not in facts.installed and "katib" not in facts.installed
    assert facts.profile_namespaces == ("kubeflow-user-example-com",)


def test_gke_facts() -> None:
    facts = facts_of("gke")
    assert facts.issuer == "mlplane-acme"
    assert facts.gateway is not None and facts.gateway.url == "https://kubeflow.ml.acme.example"
