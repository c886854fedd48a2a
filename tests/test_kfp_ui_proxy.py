"""KFP's UI is no open proxy: its ``/_proxy/<URL>`` routes are refused, on both release trains.

KFP's UI server forwards ``<base>/apis/v1beta1/_proxy/<URL>`` (and ``v2beta1``) to any URL,
from its own pod (kubeflow/pipelines 2.0.5 and 2.16.0 ``frontend/server/proxy-middleware.ts``).
Every logged-in user reaches the UI through the gateway, so without this each user could
make the UI fetch the cloud metadata endpoint or SeaweedFS's unauthenticated filer. The
verdicts come from the access evaluator (Istio's AuthorizationPolicy semantics) over the
expanded plans, the policy as the cluster would hold it after mlplane's transform.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlplane.components.platform.kfp_config import UI_PROXY_PATHS, close_ui_proxy
from mlplane.policy.access import authz
from mlplane.policy.access.cluster import build
from mlplane.policy.access.request import Http, Peer

from .expansion import RELEASES, expanded, needs_upstream

GATEWAY = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
#: What a user would send through the gateway (the UI sees the ``/pipeline`` base path).
PROXIED = ("/pipeline/apis/v1beta1/_proxy/http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F",
           "/pipeline/apis/v2beta1/_proxy/http%3A%2F%2Fseaweedfs.kubeflow%3A8888%2Fbuckets%2F",
           "/apis/v1beta1/_proxy/http%3A%2F%2Fml-pipeline-visualizationserver%3A8888%2F")
#: The UI's own pages and API calls, which must stay reachable.
ORDINARY = ("/pipeline/", "/pipeline/apis/v1beta1/runs?page_size=10", "/pipeline/apis/v2beta1/pipelines",
            "/pipeline/artifacts/get?source=minio&bucket=mlpipeline&key=x&namespace=team-vision",
            "/pipeline/apis/v1beta1/proxy-not/x")


def _ui_verdict(objects: list[dict[str, Any]], path: str, principal: str, headers: dict[str, str]) -> bool:
    cluster = build(objects)
    ui = cluster.workload("kubeflow", "ml-pipeline-ui")
    assert ui is not None
    context = authz.Context(peer=Peer(principal=principal), http=Http(path=path, headers=headers))
    return bool(authz.local(cluster, ui, context))


@needs_upstream
@pytest.mark.usefixtures("expansion_scratch")
@pytest.mark.parametrize("train", RELEASES)
def test_the_ui_proxy_is_refused_to_users_and_the_ui_itself_is_not(train: str) -> None:
    objects = [r.inputs for r in expanded(train).plan if r.is_kubernetes_object]
    user = {"kubeflow-userid": "b-only@acme.example"}
    for path in PROXIED:
        assert not _ui_verdict(objects, path, GATEWAY, user), (train, path)
    for path in ORDINARY:
        assert _ui_verdict(objects, path, GATEWAY, user), (train, path)
    if train == "26.03":  # upstream's second rule: a header-less caller with a token, by RBAC
        token = {"authorization": "Bearer x"}
        assert not _ui_verdict(objects, PROXIED[0], "cluster.local/ns/kubeflow/sa/x", token)
        assert _ui_verdict(objects, ORDINARY[1], "cluster.local/ns/kubeflow/sa/x", token)


def test_every_rule_of_the_ui_policy_excludes_the_proxy_and_nothing_else_changes() -> None:
    policy = {"apiVersion": "security.istio.io/v1beta1", "kind": "AuthorizationPolicy",
              "metadata": {"name": "ml-pipeline-ui", "namespace": "kubeflow"},
              "spec": {"selector": {"matchLabels": {"app": "ml-pipeline-ui"}}, "rules": [
                  {"from": [{"source": {"namespaces": ["istio-system"]}}]},
                  {"to": [{"operation": {"methods": ["GET"], "notPaths": ["/x"]}}]},
                  {}]}}
    closed = close_ui_proxy(policy)
    assert closed is not None and closed["spec"]["selector"] == policy["spec"]["selector"]
    rules = closed["spec"]["rules"]
    assert rules[0]["from"] == policy["spec"]["rules"][0]["from"]
    assert [op["operation"]["notPaths"] for rule in rules for op in rule["to"]] == [
        list(UI_PROXY_PATHS), ["/x", *UI_PROXY_PATHS], list(UI_PROXY_PATHS)]
    assert rules[1]["to"][0]["operation"]["methods"] == ["GET"]
    assert close_ui_proxy(closed) == closed  # applying it twice adds nothing
    # Other objects, a DENY and an ALLOW without rules (which denies everything) are left alone.
    assert close_ui_proxy({**policy, "metadata": {"name": "ml-pipeline"}}) is None
    assert close_ui_proxy({**policy, "spec": {**policy["spec"], "action": "DENY"}}) is None
    assert close_ui_proxy({**policy, "spec": {"selector": policy["spec"]["selector"]}}) is None
