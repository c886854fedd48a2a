"""Mutation tests: each kind of isolation failure of issue 22's "Why", applied to a correct
miniature plan, must turn some required cell of the access matrix (the evaluator kills it).

The miniature plan is what the fixed platform looks like: the oauth2-proxy gate plus the
upstream 26.03 DENY of requests without a verified request principal, the gateway running
as the identity the profile controller names, STRICT mTLS, meshed profile namespaces with
default-deny NetworkPolicies, no token forwarding, no namespace-wide ALLOW.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from mlplane.policy.access.matrix import evaluate

SEC = "security.istio.io/v1beta1"
GW_SA = "istio-ingressgateway-service-account"
DEX = "http://dex.auth.svc.cluster.local:5556/dex"
GATE = {"matchLabels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}}


def _ns(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels)}}


def _ap(name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": SEC, "kind": "AuthorizationPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _deny_ingress(ns: str) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {}}, {"namespaceSelector": {"matchLabels": {
                         "kubernetes.io/metadata.name": "istio-system"}}}]}]}}


def correct_plan() -> list[dict[str, Any]]:
    mesh = ("extensionProviders:\n- name: oauth2-proxy\n  envoyExtAuthzHttp:\n    service: oauth2-proxy.oauth2-proxy.svc.cluster.local\n"
            "    port: 80\n    headersToUpstreamOnAllow: [authorization]\n")
    return [
        _ns("istio-system"), _ns("kubeflow", **{"istio-injection": "enabled"}),
        _ns("team-a", **{"istio-injection": "enabled"}), _ns("team-b", **{"istio-injection": "enabled"}),
        _deny_ingress("team-a"), _deny_ingress("team-b"),
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": {"name": "istio-sidecar-injector"}, "webhooks": [{"name": "namespace.sidecar-injector.istio.io",
          "namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}},
          "objectSelector": {"matchExpressions": [{"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}]}}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"}, "data": {"mesh": mesh}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
         "spec": {"template": {"metadata": {"labels": GATE["matchLabels"]}, "spec": {"serviceAccountName": GW_SA,
                  "containers": [{"name": "istio-proxy", "image": "istio/proxyv2:1.29.0", "ports": [{"containerPort": 80}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
         "spec": {"selector": GATE["matchLabels"], "ports": [{"port": 80, "targetPort": 80}]}},
        {"apiVersion": "networking.istio.io/v1beta1", "kind": "Gateway", "metadata": {"name": "kubeflow-gateway", "namespace": "kubeflow"},
         "spec": {"selector": {"istio": "ingressgateway"}, "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}},
        {"apiVersion": SEC, "kind": "PeerAuthentication", "metadata": {"name": "default", "namespace": "istio-system"},
         "spec": {"mtls": {"mode": "STRICT"}}},
        {"apiVersion": SEC, "kind": "RequestAuthentication", "metadata": {"name": "dex-jwt", "namespace": "istio-system"},
         "spec": {"selector": GATE, "jwtRules": [{"issuer": DEX, "forwardOriginalToken": False,
                  "outputClaimToHeaders": [{"header": "kubeflow-userid", "claim": "email"}]}]}},
        _ap("oauth2-proxy-gate", "istio-system", {"action": "CUSTOM", "provider": {"name": "oauth2-proxy"}, "selector": GATE,
            "rules": [{"to": [{"operation": {"notPaths": ["/dex/*", "/oauth2/*"]}}],
                       "when": [{"key": "request.headers[authorization]", "notValues": ["*"]}]}]}),
        _ap("deny-unauthenticated", "istio-system", {"action": "DENY", "selector": GATE, "rules": [
            {"from": [{"source": {"notRequestPrincipals": ["*"]}}], "to": [{"operation": {"notPaths": ["/dex/*", "/oauth2/*"]}}]}]}),
        _ap("ingress", "istio-system", {"action": "ALLOW", "selector": GATE, "rules": [{}]}),
        {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "team-a"}, "spec": {"owner": {"kind": "User", "name": "alice@acme.example"}}},
        {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "team-b"}, "spec": {"owner": {"kind": "User", "name": "bob@acme.example"}}},
    ]


def _edit(kind: str, name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(objects: list[dict[str, Any]]) -> None:
        for obj in objects:
            if obj.get("kind") == kind and obj["metadata"]["name"] == name:
                change(obj)
    return mutate


def _drop(kind: str, name: str) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(objects: list[dict[str, Any]]) -> None:
        objects[:] = [o for o in objects if not (o.get("kind") == kind and o["metadata"]["name"] == name)]
    return mutate


def _add(obj: dict[str, Any]) -> Callable[[list[dict[str, Any]]], None]:
    return lambda objects: objects.append(obj)


#: (kind of failure, mutation, the cell it must turn: (persona, target, allowed after mutation)).
MUTATIONS: dict[str, tuple[Callable[[list[dict[str, Any]]], None], tuple[str, str, bool]]] = {
    "login bypass (no DENY without a verified principal)":
        (_drop("AuthorizationPolicy", "deny-unauthenticated"), ("anonymous", "A's notebook", True)),
    "namespace-wide allow": (_add(_ap("allow-platform-peers", "team-a", {"action": "ALLOW", "rules": [
        {"from": [{"source": {"namespaces": ["istio-system", "kubeflow", "team-b"]}}]}]})), ("user of B only", "A's notebook", True)),
    "wrong gateway principal": (_edit("Deployment", "istio-ingressgateway", lambda o: o["spec"]["template"]["spec"].update(
        serviceAccountName="istio-ingressgateway")), ("owner of A", "A's notebook", False)),
    "authentication switched off": (lambda objs: [_drop("AuthorizationPolicy", n)(objs) for n in
                                                   ("oauth2-proxy-gate", "deny-unauthenticated")], ("anonymous", "A's TensorBoard", True)),
    "unmeshed namespace": (_edit("Namespace", "team-a", lambda o: o["metadata"]["labels"].pop("istio-injection")),
                           ("pod in B", "A's TensorBoard", False)),
    "NetworkPolicy opened to tenants": (_edit("NetworkPolicy", "default-deny", lambda o: o["spec"].update(ingress=[{}])),
                                        ("pod in B", "A's notebook", False)),
    "token forwarding": (_edit("RequestAuthentication", "dex-jwt", lambda o: o["spec"]["jwtRules"][0].update(forwardOriginalToken=True)),
                         ("pod in B", "A's notebook", True)),
    "mTLS permissive": (_edit("PeerAuthentication", "default", lambda o: o["spec"]["mtls"].update(mode="PERMISSIVE")),
                        ("pod in B", "A's notebook", False)),
    "CUSTOM provider missing from the mesh config": (_edit("ConfigMap", "istio", lambda o: o["data"].update(mesh="{}")),
                                                     ("owner of A", "A's notebook", False)),
}


def test_the_correct_plan_holds_its_cells() -> None:
    m = evaluate("mini", correct_plan())
    for persona, target in (("anonymous", "A's notebook"), ("anonymous", "A's TensorBoard"), ("user of B only", "A's notebook"),
                            ("pod in B", "A's notebook"), ("pod in B", "A's TensorBoard")):
        assert not m.cell(persona, target).verdict.allowed, (persona, target, m.cell(persona, target).verdict.reason)
    assert m.cell("owner of A", "A's notebook").verdict.allowed, m.cell("owner of A", "A's notebook").verdict.reason
    # KFAM's policy for a view contributor is the same as an editor's (bindings.go: one rule
    # per user, no path or method): upstream lets viewers open notebook servers.
    assert m.cell("view contributor of A", "A's notebook").verdict.allowed


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_mutation_is_killed(kind: str) -> None:
    mutate, (persona, target, expected) = MUTATIONS[kind]
    objects = copy.deepcopy(correct_plan())
    mutate(objects)
    cell = evaluate("mini", objects).cell(persona, target)
    assert cell.verdict.allowed is expected, f"{kind}: {persona} -> {target}: {cell.verdict.reason}"
