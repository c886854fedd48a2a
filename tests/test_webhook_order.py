"""Objects an admission webhook must answer for are created only after the webhook's server is ready.

The matching is the API server's (components/admission.py, kubernetes/apiserver v0.36.3);
"after" is the engine's (infra/offline/ancestry.py, docs/ordering.md). Judged here:
unit cases of the matching, mlplane's Helm post-renderer as Helm runs it (stdin to
stdout), every shipped stack's expanded plan, a seeded fault, and the real API server
refusing a gated object while its webhook's Service has no endpoints.
"""

from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.components.admission import Facts, gated, matches, servers, webhooks_of
from mlplane.components.depends_on import COMMAND, DEPENDS_ON, annotate
from mlplane.infra.offline.expand.engine import ExpandOptions
from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.infra.offline.render import render_expanded
from mlplane.infra.offline.webhooks import ungated

from . import controlplane
from .conftest import STACKS, load_stack
from .expansion import RELEASES, expanded, expansion_cache, sources_folder

pytestmark = pytest.mark.usefixtures("expansion_scratch")


def _webhook(rules: list[dict[str, Any]], **hook: Any) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "v"}, "webhooks": [{
                "name": "v.example.com", "rules": rules,
                "clientConfig": {"service": {"namespace": "sys", "name": "hook"}}, **hook}]}


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hook", "namespace": "sys"},
           "spec": {"selector": {"app": "hook"}}}
SERVER = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hook", "namespace": "sys"},
          "spec": {"selector": {"matchLabels": {"app": "hook"}},
                   "template": {"metadata": {"labels": {"app": "hook"}}, "spec": {"containers": []}}}}
WIDGET_RULE = {"apiGroups": ["example.com"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
               "resources": ["widgets"]}


def _widget(name: str = "w", namespace: str | None = "ml", labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels or {}}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "example.com/v2", "kind": "Widget", "metadata": metadata}


def _matched(hook: dict[str, Any], *objects: dict[str, Any]) -> list[str]:
    found = [hook, *objects]
    facts = Facts(found)
    return [found[i]["metadata"]["name"] for i, _ in gated(found, facts)]


@pytest.mark.parametrize(("rule", "expected"), [
    (WIDGET_RULE, ["w"]),  # another version of the same resource: matchPolicy Equivalent
    ({**WIDGET_RULE, "operations": ["UPDATE"]}, []),
    ({**WIDGET_RULE, "resources": ["*"]}, ["w"]),
    ({**WIDGET_RULE, "resources": ["*/*"]}, ["w"]),
    ({**WIDGET_RULE, "resources": ["widgets/status"]}, []),
    ({**WIDGET_RULE, "apiGroups": ["*"]}, ["w"]),
    ({**WIDGET_RULE, "scope": "Cluster"}, []),
    ({**WIDGET_RULE, "scope": "Namespaced"}, ["w"]),
])
def test_rules_match_as_the_api_server_does(rule: dict[str, Any], expected: list[str]) -> None:
    assert _matched(_webhook([rule]), _widget()) == expected


def test_exact_match_policy_wants_the_version() -> None:
    assert _matched(_webhook([WIDGET_RULE], matchPolicy="Exact"), _widget()) == []


def test_selectors_failure_policy_and_exempt_kinds() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml", "labels": {"team": "a"}}}
    by_team = _webhook([WIDGET_RULE], namespaceSelector={"matchLabels": {"team": "a"}})
    assert _matched(by_team, namespace, _widget()) == ["w"]
    assert _matched(by_team, _widget()) == []  # a namespace the objects do not declare: unknown labels
    by_name = _webhook([WIDGET_RULE], namespaceSelector={"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["ml"]}]})
    assert _matched(by_name, _widget()) == ["w"]
    labelled = _webhook([WIDGET_RULE], objectSelector={"matchExpressions": [{"key": "skip", "operator": "DoesNotExist"}]})
    assert _matched(labelled, _widget(labels={"skip": "1"}), _widget("v")) == ["v"]
    assert _matched(_webhook([WIDGET_RULE], failurePolicy="Ignore"), _widget()) == []
    everything = _webhook([{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*"]}])
    assert "v" not in _matched(everything, _widget())  # the configuration itself is exempt
    # A cluster-scoped object passes any namespaceSelector; a Namespace is judged by its own labels.
    cluster = _webhook([{**WIDGET_RULE, "resources": ["*"], "apiGroups": ["*"]}],
                       namespaceSelector={"matchLabels": {"team": "b"}})
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    assert _matched(cluster, role, namespace) == ["r"]


def test_the_server_is_the_workload_behind_the_service() -> None:
    objects = [_webhook([WIDGET_RULE]), SERVICE, SERVER, {**SERVER, "metadata": {"name": "other", "namespace": "x"}}]
    facts = Facts(objects)
    hook = webhooks_of(objects)[0]
    assert matches(hook, facts.request(_widget()))
    assert servers(hook, objects, facts) == [2]


def test_the_post_renderer_orders_gated_objects_after_the_server() -> None:
    kept = _widget("kept")
    kept["metadata"]["annotations"] = {DEPENDS_ON: "/namespaces/ml/ConfigMap/c"}
    objects = [_webhook([WIDGET_RULE]), SERVICE, SERVER, _widget(), kept, _widget("free", labels={})]
    objects[5]["apiVersion"] = "other.example.com/v1"
    result = annotate(copy.deepcopy(objects), "sys")
    assert result[3]["metadata"]["annotations"] == {DEPENDS_ON: "apps/namespaces/sys/Deployment/hook"}
    assert result[4]["metadata"]["annotations"][DEPENDS_ON] == \
        "/namespaces/ml/ConfigMap/c,apps/namespaces/sys/Deployment/hook"
    assert [result[i] for i in (0, 1, 2, 5)] == [objects[i] for i in (0, 1, 2, 5)]
    # As Helm runs it: manifests on stdin, the release namespace as an argument (objects without one get it).
    server = copy.deepcopy(SERVER)
    del server["metadata"]["namespace"]
    service = copy.deepcopy(SERVICE)
    del service["metadata"]["namespace"]
    stream = yaml.safe_dump_all([_webhook([WIDGET_RULE]), service, server, _widget()])
    script = Path(sys.executable).parent / COMMAND
    out = subprocess.run([str(script), "--namespace", "sys"], input=stream, capture_output=True, text=True,
                         check=True).stdout
    widget = list(yaml.safe_load_all(out))[3]
    assert widget["metadata"]["annotations"][DEPENDS_ON] == "apps/namespaces/sys/Deployment/hook"
    # Documents it does not change pass as Helm wrote them (no YAML 1.1 round trip of `on`, `0644`).
    untouched = "---\n# Source: c.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: on\n  b: 0644\n"
    assert subprocess.run([str(script)], input=untouched, capture_output=True, text=True,
                          check=True).stdout == untouched


def _expanded_stack(stack: str) -> Plan:
    options = ExpandOptions(roots=(sources_folder(),), cache=expansion_cache(), explicit=(sources_folder(),))
    return render_expanded(load_stack(stack), options).plan


TRAINER = "platform-apps-training-controller"
#: The ClusterTrainingRuntimes of 26.03's Trainer directory, which its own webhook
#: (``validator.clustertrainingruntime.trainer.kubeflow.org``) gates.
TRAINING_RUNTIMES_2603 = ("deepspeed-distributed", "mlx-distributed", "torch-distributed", "torchtune-llama3.2-1b",
                          "torchtune-llama3.2-3b", "torchtune-qwen2.5-1.5b")


def _named(plan: Plan, name: str) -> PlanResource:
    return next(r for r in plan if r.name == name)


def _residue(plan: Plan) -> set[tuple[str, str]]:
    by_urn = plan.by_urn()
    found = ungated(plan)
    assert {u.reason for u in found} <= {"not an ancestor"}, found
    return {(by_urn[u.object].name, u.webhook.name) for u in found}


@pytest.mark.parametrize("release", RELEASES)
def test_onprem_gated_objects_wait_for_their_webhook_server(release: str) -> None:
    plan = expanded(release).plan
    by_urn = plan.by_urn()
    runtimes = [r for r in plan if r.type.endswith(":ClusterServingRuntime")]
    assert len(runtimes) >= 11
    for runtime in runtimes:  # the kserve chart's, through the post-renderer
        assert "platform-apps-kserve-controller:kubeflow/kserve-controller-manager" in \
            {by_urn[d].name for d in runtime.dependencies}
    if release == "26.03":  # the Trainer's and Knative's directories, through the kustomize plugin
        for runtime in TRAINING_RUNTIMES_2603:
            assert f"{TRAINER}:kubeflow/kubeflow-trainer-controller-manager" in \
                {by_urn[d].name for d in _named(plan, f"{TRAINER}:kubeflow/{runtime}").dependencies}
        certs = _named(plan, "platform-knative-serving:knative-serving/routing-serving-certs")
        assert "platform-knative-serving:knative-serving/webhook" in {by_urn[d].name for d in certs.dependencies}
    assert _residue(plan) == set()


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "onprem"])
def test_every_other_stack_orders_its_gated_objects(stack: str) -> None:
    plan = _expanded_stack(stack)
    assert _residue(plan) == set()


def test_a_gated_object_without_its_server_as_ancestor_is_reported() -> None:
    plan = expanded("1.8.1").plan
    runtime = next(r for r in plan if r.type.endswith(":ClusterServingRuntime"))
    seeded = Plan(project=plan.project, stack=plan.stack, resources=tuple(
        dataclasses.replace(r, dependencies=()) if r.urn == runtime.urn else r for r in plan))
    assert {u.object for u in ungated(seeded)} == {runtime.urn}


def test_a_directory_child_without_its_server_as_ancestor_is_reported() -> None:
    # Seeded: one ClusterTrainingRuntime loses the dependency the kustomize plugin gave it.
    plan = expanded("26.03").plan
    runtime = _named(plan, f"{TRAINER}:kubeflow/torch-distributed")
    server = _named(plan, f"{TRAINER}:kubeflow/kubeflow-trainer-controller-manager")
    assert server.urn in runtime.dependencies
    seeded = Plan(project=plan.project, stack=plan.stack, resources=tuple(
        dataclasses.replace(r, dependencies=tuple(d for d in r.dependencies if d != server.urn))
        if r.urn == runtime.urn else r for r in plan))
    assert {(u.object, u.webhook.name, u.reason) for u in ungated(seeded)} == \
        {(runtime.urn, "validator.clustertrainingruntime.trainer.kubeflow.org", "not an ancestor")}


def test_the_api_server_refuses_a_gated_object_while_its_server_has_no_endpoints() -> None:
    # What pulumi-kubernetes meets when it creates a ClusterServingRuntime before KServe's
    # webhook server is up: an InternalError, which its create retries do not cover
    # (provider/pkg/await/await.go retries only NotFound and NoMatch).
    plan = expanded("26.03").plan
    objects = [r.inputs for r in plan if r.is_kubernetes_object]

    def one(kind: str, name: str) -> dict[str, Any]:
        return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)

    crd = one("CustomResourceDefinition", "clusterservingruntimes.serving.kserve.io")
    hook = copy.deepcopy(one("ValidatingWebhookConfiguration", "clusterservingruntime.serving.kserve.io"))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}}
    service = one("Service", "kserve-webhook-server-service")
    runtime = next(o for o in objects if o["kind"] == "ClusterServingRuntime")
    output = controlplane.run("""
kubectl apply --server-side -f $FILES/setup.yaml >/dev/null
kubectl wait --for=condition=Established crd --all --timeout=30s >/dev/null
kubectl create -f $FILES/runtime.yaml 2>&1 | sed 's/^/create: /'
""", {"setup.yaml": [namespace, crd, service, hook], "runtime.yaml": runtime}, components="apiserver", timeout=60)
    assert "create: Error from server (InternalError)" in output, output
    assert 'failed calling webhook "clusterservingruntime.kserve-webhook-server.validator"' in output, output
    assert "no endpoints available for service" in output, output
