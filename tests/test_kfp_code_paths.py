"""KFP's UI is no open proxy and its API runs no caller's code, on both release trains.

KFP's UI server forwards ``<base>/apis/v1beta1/_proxy/<URL>`` (and ``v2beta1``) to any URL,
from its own pod (kubeflow/pipelines 2.0.5 and 2.16.0 ``frontend/server/proxy-middleware.ts``).
Every logged-in user reaches the UI through the gateway, so without this each user could
make the UI fetch the cloud metadata endpoint or SeaweedFS's unauthenticated filer. KFP's
API forwards ``CreateVisualizationV1`` to a server that runs the request's Python, authorized
only when it names a namespace and then by ``create visualizations``, which viewers hold
(``backend/src/apiserver/server/visualization_server.go``). The verdicts come from the access
evaluator (Istio's AuthorizationPolicy semantics) over the expanded plans, the policies as
the cluster would hold them after mlplane's transform (``components/platform/kfp_config.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from mlplane.components.platform.kfp_config import UI_PROXY_PATHS, VISUALIZATION_PATHS, narrow_allow
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


def _verdict(objects: list[dict[str, Any]], path: str, principal: str, headers: dict[str, str],
             workload: str = "ml-pipeline-ui") -> bool:
    cluster = build(objects)
    target = cluster.workload("kubeflow", workload)
    assert target is not None
    context = authz.Context(peer=Peer(principal=principal), http=Http(path=path, headers=headers, method="POST"))
    return bool(authz.local(cluster, target, context))


def _ui_verdict(objects: list[dict[str, Any]], path: str, principal: str, headers: dict[str, str]) -> bool:
    return _verdict(objects, path, principal, headers)


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


@needs_upstream
@pytest.mark.usefixtures("expansion_scratch")
@pytest.mark.parametrize("train", RELEASES)
def test_no_caller_reaches_the_visualization_service_and_the_rest_of_the_api_stays(train: str) -> None:
    objects = [r.inputs for r in expanded(train).plan if r.is_kubernetes_object]
    pod = "cluster.local/ns/team-vision/sa/default-editor"  # a profile's pod: upstream's header-less rule
    ui = "cluster.local/ns/kubeflow/sa/ml-pipeline-ui"  # a user's request through the UI
    viewer = {"kubeflow-userid": "view-contributor@acme.example"}
    refused = [(pod, "/api.VisualizationService/CreateVisualizationV1", {}),  # gRPC, no namespace: no authz
               (ui, "/apis/v1beta1/visualizations/team-vision", viewer),
               (ui, "/pipeline/apis/v1beta1/visualizations/team-vision", viewer)]
    kept = [(pod, "/api.RunService/ListRunsV1", {}), (pod, "/apis/v2beta1/runs", {}),
            (ui, "/apis/v1beta1/runs", viewer), (ui, "/apis/v2beta1/pipelines", viewer)]
    for principal, path, headers in refused:
        assert not _verdict(objects, path, principal, headers, "ml-pipeline"), (train, principal, path)
    for principal, path, headers in kept:
        assert _verdict(objects, path, principal, headers, "ml-pipeline"), (train, principal, path)


def test_every_rule_of_the_ui_policy_excludes_the_proxy_and_nothing_else_changes() -> None:
    policy = {"apiVersion": "security.istio.io/v1beta1", "kind": "AuthorizationPolicy",
              "metadata": {"name": "ml-pipeline-ui", "namespace": "kubeflow"},
              "spec": {"selector": {"matchLabels": {"app": "ml-pipeline-ui"}}, "rules": [
                  {"from": [{"source": {"namespaces": ["istio-system"]}}]},
                  {"to": [{"operation": {"methods": ["GET"], "notPaths": ["/x"]}}]},
                  {}]}}
    closed = narrow_allow(policy)
    assert closed is not None and closed["spec"]["selector"] == policy["spec"]["selector"]
    rules = closed["spec"]["rules"]
    assert rules[0]["from"] == policy["spec"]["rules"][0]["from"]
    assert [op["operation"]["notPaths"] for rule in rules for op in rule["to"]] == [
        list(UI_PROXY_PATHS), ["/x", *UI_PROXY_PATHS], list(UI_PROXY_PATHS)]
    assert rules[1]["to"][0]["operation"]["methods"] == ["GET"]
    assert narrow_allow(closed) == closed  # applying it twice adds nothing
    # Other objects, a DENY and an ALLOW without rules (which denies everything) are left alone.
    assert narrow_allow({**policy, "metadata": {"name": "ml-pipeline-persistenceagent"}}) is None
    api = narrow_allow({**policy, "metadata": {"name": "ml-pipeline", "namespace": "kubeflow"}})
    assert api is not None and api["spec"]["rules"][0]["to"] == [{"operation": {"notPaths": list(VISUALIZATION_PATHS)}}]
    assert narrow_allow({**policy, "spec": {**policy["spec"], "action": "DENY"}}) is None
    assert narrow_allow({**policy, "spec": {"selector": policy["spec"]["selector"]}}) is None
