"""Seeded faults: a real control plane (in ``unshare -rn``) must report each one, by cause.

One plan carries every fault, so one control plane judges them all (about a minute, most of
it the provider's 31 s of retries for the custom resource without a CRD). The cluster is a GKE
one with a GPU node pool, so the pods built from custom resources' templates (cr_pods.py) are
placed on, or kept off, an accelerator pool by the real scheduler.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.verify.changes import ALLOWED
from tests.verify_support import k8s_object, processes_under, run_plan

NS, DEPLOY, SVC = "kubernetes:core/v1:Namespace", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"
CM, VWC = "kubernetes:core/v1:ConfigMap", "kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration"
CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def urn(kind_type: str, name: str) -> str:
    return k8s_object(kind_type, name, {}).urn


def namespace(name: str, labels: dict[str, str] | None = None) -> Any:
    return k8s_object(NS, name, {"apiVersion": "v1", "kind": "Namespace",
                                 "metadata": {"name": name, "labels": labels or {}}})


def deployment(name: str, ns: str, deps: tuple[str, ...], node_selector: dict[str, str] | None = None,
               labels: dict[str, str] | None = None) -> Any:
    labels = labels or {"app": name}
    pod: dict[str, Any] = {"containers": [{"name": "main", "image": "registry.example/app:1.0@sha256:" + "0" * 64}]}
    if node_selector:
        pod["nodeSelector"] = node_selector
    return k8s_object(DEPLOY, name, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": pod}}}, deps)


def configmap(name: str, ns: str, deps: tuple[str, ...], **extra: Any) -> Any:
    return k8s_object(CM, name, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
                                 "data": {"k": "v"}, **extra}, deps)


def crd(group: str, kind: str, plural: str) -> Any:
    """A CRD that keeps any field (the seeded custom resources are judged by their pods, not their schema)."""
    return k8s_object(CRD, plural, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})


GPU = {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
A100 = {"mlplane.dev/accelerator-pool": "a100"}
IMAGE = "registry.example/app:1.0@sha256:" + "0" * 64


#: A pod template that Pod Security "restricted" admits.
RESTRICTED_POD = {"spec": {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "pytorch", "image": IMAGE, "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}


def notebook(name: str, pod: dict[str, Any]) -> Any:
    """A Notebook in ``seed`` whose template is ``pod`` plus one container asking for ``GPU``."""
    return k8s_object("kubernetes:kubeflow.org/v1:Notebook", name, {
        "apiVersion": "kubeflow.org/v1", "kind": "Notebook", "metadata": {"name": name, "namespace": "seed"},
        "spec": {"template": {"spec": {**pod, "containers": [{"name": name, "image": IMAGE, "resources": GPU}]}}}},
        (urn(NS, "seed"), urn(CRD, "notebooks")))


def custom_resource_pods() -> list[Any]:
    """A GPU pool, a GPU InferenceService that belongs on it, and two Notebooks that cannot be placed."""
    return [
        k8s_object("gcp:container/nodePool:NodePool", "a100", {
            "name": "a100", "nodeConfig": {"labels": A100, "guestAccelerators": [{"type": "nvidia-tesla-a100",
                                                                                  "count": 1}]}}),
        crd("serving.kserve.io", "InferenceService", "inferenceservices"), crd("kubeflow.org", "Notebook", "notebooks"),
        k8s_object("kubernetes:serving.kserve.io/v1:InferenceService", "gpu-serve", {
            "apiVersion": "serving.kserve.io/v1", "kind": "InferenceService",
            "metadata": {"name": "gpu-serve", "namespace": "seed",
                         "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"}},
            "spec": {"predictor": {"nodeSelector": A100, "tolerations": [GPU_TOLERATION], "minReplicas": 1,
                                   "containers": [{"name": "kserve-container", "image": IMAGE, "resources": GPU}]}}},
            (urn(NS, "seed"), urn(CRD, "inferenceservices"))),
        # 7. A custom resource's pod whose pool has no node; one that lacks the GPU taint's toleration.
        notebook("ghost-notebook", {"nodeSelector": {"mlplane.dev/accelerator-pool": "ghost"},
                                    "tolerations": [GPU_TOLERATION]}),
        notebook("untolerated", {"nodeSelector": A100}),
        # 8. A PyTorchJob in a restricted namespace: its template complies, the Training Operator's
        # init-pytorch container on the worker (no securityContext) does not.
        crd("kubeflow.org", "PyTorchJob", "pytorchjobs"),
        k8s_object("kubernetes:kubeflow.org/v1:PyTorchJob", "ddp", {
            "apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"name": "ddp", "namespace": "seed-restricted"},
            "spec": {"pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": RESTRICTED_POD},
                "Worker": {"replicas": 1, "restartPolicy": "OnFailure", "template": RESTRICTED_POD}}}},
            (urn(NS, "seed-restricted"), urn(CRD, "pytorchjobs"))),
    ]


def seeded_plan() -> Plan:
    """Every seeded fault, plus controls that must not be reported."""
    seed, restricted, hooked = urn(NS, "seed"), urn(NS, "seed-restricted"), urn(NS, "hooked")
    resources = [
        namespace("seed"), namespace("hooked", {"hooked": "yes"}),
        # 1. Pod Security: a restricted namespace, a pod without seccompProfile.
        namespace("seed-restricted", {"pod-security.kubernetes.io/enforce": "restricted"}),
        deployment("no-seccomp", "seed-restricted", (restricted,)),
        # 2. An immutable field changed: a forced DeploymentPatch that moves the selector.
        deployment("app", "seed", (seed,)),
        k8s_object("kubernetes:apps/v1:DeploymentPatch", "app-selector", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "app", "namespace": "seed", "annotations": {"pulumi.com/patchForce": "true"}},
            "spec": {"selector": {"matchLabels": {"app": "other"}},
                     "template": {"metadata": {"labels": {"app": "other"}}}}}, (urn(DEPLOY, "app"),)),
        # 3. A custom resource without its CRD; and one whose CRD is in the plan but not an ancestor.
        k8s_object("kubernetes:example.com/v1:Widget", "widget", {
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "seed"}}, (seed,)),
        k8s_object(CRD, "gadgets", {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.example.org"},
            "spec": {"group": "example.org", "scope": "Namespaced",
                     "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}),
        k8s_object("kubernetes:example.org/v1:Gadget", "gadget", {
            "apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "seed"}}, (seed,)),
        # 4. A pod whose pool has no node.
        deployment("ghost-pool", "seed", (seed,), node_selector={"mlplane.dev/accelerator-pool": "ghost"}),
        # 5. A webhook-gated object without the webhook's server as an ancestor (and two controls).
        deployment("hook-server", "seed", (seed,), labels={"app": "hook"}),
        k8s_object(SVC, "hook", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hook", "namespace": "seed"},
                                 "spec": {"selector": {"app": "hook"}, "ports": [{"port": 443}]}}, (seed,)),
        k8s_object(VWC, "seed-hook", {
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "seed-hook"},
            "webhooks": [{"name": "check.seed.example", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                          "failurePolicy": "Fail", "namespaceSelector": {"matchLabels": {"hooked": "yes"}},
                          "clientConfig": {"service": {"namespace": "seed", "name": "hook", "path": "/check"}},
                          "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                     "resources": ["configmaps"]}]}]}),
        configmap("gated", "hooked", (hooked,)),
        configmap("waits", "hooked", (hooked, urn(DEPLOY, "hook-server"))),
        configmap("elsewhere", "seed", (seed,)),
        # 6. A forced NodePatch replaces the atomic spec.taints list: the taint set by another manager goes.
        k8s_object("kubernetes:core/v1:Node", "seed-node", {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "seed-node"},
            "spec": {"taints": [{"key": "dedicated", "value": "ops", "effect": "NoSchedule"}]}}),
        k8s_object("kubernetes:core/v1:NodePatch", "seed-node-patch", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "seed-node", "annotations": {"pulumi.com/patchForce": "true"},
                         "labels": {"mlplane.dev/accelerator-pool": "seed"}},
            "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]}},
            (urn("kubernetes:core/v1:Node", "seed-node"),)),
        # Harness changes and warnings: a placeholder secret; a field the API does not know.
        k8s_object("kubernetes:core/v1:Secret", "creds", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "seed"},
            "data": {"password": "[secret]"}}, (seed,)),
        configmap("typo", "seed", (seed,), dta={"k": "v"}),
        *custom_resource_pods(),
    ]
    return Plan(project="mlplane", stack="seed", resources=tuple(resources))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("seed")
    return run_plan(seeded_plan(), tmp, kind="gke"), tmp


@pytest.fixture(scope="module")
def report(run: tuple[dict[str, Any], Path]) -> dict[str, Any]:
    return run[0]


def problems(report: dict[str, Any], group: str) -> dict[str, str]:
    return {p["subject"]: p["message"] for p in report["problems"] if p["group"] == group}


def test_pod_security_refusal_of_the_replicaset_controller_is_reported(report: dict[str, Any]) -> None:
    found = problems(report, "cannot-create-pods")
    message = found["Deployment seed-restricted/no-seccomp"]
    assert 'violates PodSecurity "restricted:latest"' in message and "seccompProfile" in message
    assert not any("seed/" in key for key in found)  # the baseline namespace's pods are created


def test_immutable_field_change_is_refused_in_the_servers_words(report: dict[str, Any]) -> None:
    assert "field is immutable" in problems(report, "refused")["app-selector"]


def test_custom_resource_without_crd_is_refused_after_the_providers_retries(report: dict[str, Any]) -> None:
    assert problems(report, "refused")["widget"] == 'no matches for kind "Widget" in version "example.com/v1"'
    crds = problems(report, "crd-not-ancestor")
    assert "no CustomResourceDefinition in the plan" in crds["widget"]
    assert crds["gadget"] == "its CRD gadgets is not an ancestor"
    assert "gadget" not in problems(report, "refused")  # the provider's retries outlast the CRD's registration


def test_pod_whose_pool_has_no_node_does_not_schedule(report: dict[str, Any]) -> None:
    found = {k: v for k, v in problems(report, "unscheduled").items() if k.startswith("seed/ghost-pool-")}
    assert len(found) == 1
    assert "didn't match Pod's node affinity/selector" in next(iter(found.values()))


def test_webhook_gated_object_without_its_server_as_ancestor(report: dict[str, Any]) -> None:
    found = problems(report, "webhook-not-awaited")
    assert set(found) == {"gated"}  # "waits" has the server as ancestor; "elsewhere" is not selected
    assert "check.seed.example" in found["gated"] and "failurePolicy Fail" in found["gated"]


def test_forced_patch_dropping_a_taint_another_manager_set(report: dict[str, Any]) -> None:
    dropped = [(p["subject"], p["message"]) for p in report["problems"] if p["group"] == "patch-dropped"]
    assert ("seed-node-patch", 'its apply removed spec.taints: {"effect": "NoSchedule", "key": "dedicated", '
            '"value": "ops"} (set by pulumi-kubernetes)') in dropped
    assert {subject for subject, _ in dropped} == {"seed-node-patch"}


def test_no_seeded_fault_is_blamed_on_the_harness(report: dict[str, Any]) -> None:
    assert [p for p in report["problems"] if p["limit"]] == []
    assert report["planProblems"] == len(report["problems"])


def test_changes_are_exactly_the_allow_listed_ones(report: dict[str, Any]) -> None:
    changes = [(c["kind"], c["target"]) for c in report["changes"]]
    assert {kind for kind, _ in changes} <= set(ALLOWED)
    built = [target for kind, target in changes if kind == "cr-child-created"]
    assert sorted(t for t in built if not t.startswith("Pod seed/gpu-serve-predictor-")) == [
        "Pod seed-restricted/ddp-master-0", "Pod seed/ghost-notebook-0", "Pod seed/untolerated-0"]
    assert len(built) == 4  # and the InferenceService's pod, named by generateName
    assert sorted(c for c in changes if c[0] != "cr-child-created") == sorted([
        ("secret-filled", "creds"), ("webhook-held-back", "seed-hook"), ("node-created", "cpu-1"),
        ("node-created", "cpu-2"), ("node-created", "cpu-3"), ("node-created", "gke-a100-1")])


def test_gpu_inference_service_pod_is_placed_on_its_gpu_pool(report: dict[str, Any]) -> None:
    """The pod KServe would make from the InferenceService's predictor lands on the a100 pool, and nothing else."""
    [row] = [r for r in report["builtPods"] if r["standsFor"] == "InferenceService seed/gpu-serve"]
    assert row["created"] and row["approximate"] == [] and row["pod"].startswith("seed/gpu-serve-predictor-")
    assert all(a["source"] for a in row["additions"])
    assert report["placed"].get("a100") == 1
    assert not [p for p in report["problems"] if "gpu-serve" in p["subject"]]


def test_pytorchjob_worker_refused_by_pod_security_for_the_operators_init_container(report: dict[str, Any]) -> None:
    found = problems(report, "cannot-create-pods")
    message = found["PyTorchJob seed-restricted/ddp (its controller's Pod, built here, approximate)"]
    assert 'pods "ddp-worker-0" is forbidden: violates PodSecurity "restricted:latest"' in message
    assert 'container "init-pytorch"' in message


def test_custom_resources_pods_without_a_pool_or_a_toleration_are_reported(report: dict[str, Any]) -> None:
    found = problems(report, "unscheduled")
    ghost = found["seed/ghost-notebook-0 (built from Notebook seed/ghost-notebook)"]
    assert "didn't match Pod's node affinity/selector" in ghost
    untolerated = found["seed/untolerated-0 (built from Notebook seed/untolerated)"]
    assert "node(s) had untolerated taint" in untolerated  # the a100 node's nvidia.com/gpu taint


def test_unknown_field_is_a_warning_and_what_strict_validation_refuses(report: dict[str, Any]) -> None:
    warnings = [w["message"] for w in report["warnings"] if w["subject"] == "typo"]
    assert 'unknown field "dta"' in warnings
    assert any(w.startswith("strict field validation would refuse it:") and 'unknown field "dta"' in w
               for w in warnings)


def test_counts(report: dict[str, Any]) -> None:
    counts = report["counts"]
    assert counts["objects"] == sum(1 for r in seeded_plan() if r.type.startswith("kubernetes:"))
    assert counts["heldBack"] == 1 and counts["refused"] == 2 and counts["notAttempted"] == 0
    assert counts["applied"] == counts["objects"] - 3
    assert counts["pods"] >= 3 and counts["placed"] >= 2 and report["mode"] == "full cycle"
    assert counts["crPods"] == 4 and counts["crPodsApproximate"] == 1  # the PyTorchJob's master: env not built


def test_the_state_folder_is_gone_and_no_process_is_left(run: tuple[dict[str, Any], Path]) -> None:
    _, tmp = run
    assert processes_under(tmp) == []
    assert sorted(p.name for p in tmp.iterdir()) == ["plan.json"]


def test_admission_only_reports_pod_security_in_the_api_servers_words(tmp_path: Path) -> None:
    """Without a controller manager, the workload's admission warning is the verdict its controller would meet."""
    restricted, warned = urn(NS, "seed-restricted"), urn(NS, "seed-warned")
    plan = Plan(project="mlplane", stack="seed", resources=(
        namespace("seed-restricted", {"pod-security.kubernetes.io/enforce": "restricted"}),
        deployment("no-seccomp", "seed-restricted", (restricted,)),
        # Enforced baseline, warned restricted: the same pod is admitted, with a warning only.
        namespace("seed-warned", {"pod-security.kubernetes.io/enforce": "baseline",
                                  "pod-security.kubernetes.io/warn": "restricted"}),
        deployment("warned", "seed-warned", (warned,))))
    report = run_plan(plan, tmp_path, admission_only=True)
    assert report["mode"] == "admission only" and report["counts"]["pods"] == 0
    found = problems(report, "cannot-create-pods")
    assert set(found) == {"Deployment seed-restricted/no-seccomp"}
    message = found["Deployment seed-restricted/no-seccomp"]
    assert message.startswith('would violate PodSecurity "restricted:latest"') and "seccompProfile" in message
    assert any(w["subject"] == "warned" and w["message"].startswith('would violate PodSecurity "restricted:latest"')
               for w in report["warnings"])
