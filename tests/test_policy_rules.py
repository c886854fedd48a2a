"""The policy pack's rules as pure functions: each with passing and failing inputs."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mlplane.components.pod_security import ComputeResources, container, pod_spec
from mlplane.policy.exceptions import EXEMPTIONS, waived
from mlplane.policy.registry import ALL_RULES, RESOURCE_RULES
from mlplane.policy.rules import exposure, host_path, images, namespaces, pod_security, resources, stateful
from mlplane.policy.rules.base import Resource, ResourceContext
from mlplane.policy.rules.pods import containers, pod_templates
from mlplane.policy.scope import ancestor_types, in_scope

CTX = ResourceContext()
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DAEMONSET = "kubernetes:apps/v1:DaemonSet"


def good_pod() -> dict[str, Any]:
    """A pod spec as mlplane's own helpers build it (restricted, sized, pinned)."""
    return pod_spec([container("main", "registry.example/app:1.2.3", ComputeResources())],
                    init_containers=[container("init", "busybox:1.36", ComputeResources())])


def workload(pod: dict[str, Any], name: str = "app", kind: str = "Deployment") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "ml"},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}}


def test_rule_names_are_unique_and_stable() -> None:
    names = [rule.name for rule in ALL_RULES]
    assert len(names) == len(set(names))
    assert set(names) == {"pod-security-restricted", "resources-requests-limits", "images-pinned", "no-host-path",
                          "no-external-services", "stateful-resources-protected", "namespace-guardrails",
                          "no-published-credentials"}


# --- where pods are -----------------------------------------------------------------

POD_PATHS = {
    "kubernetes:core/v1:Pod": ({"spec": "POD"}, "spec"),
    "kubernetes:batch/v1:Job": ({"spec": {"template": {"spec": "POD"}}}, "spec.template.spec"),
    "kubernetes:apps/v1:StatefulSet": ({"spec": {"template": {"spec": "POD"}}}, "spec.template.spec"),
    "kubernetes:apps/v1:ReplicaSet": ({"spec": {"template": {"spec": "POD"}}}, "spec.template.spec"),
    "kubernetes:batch/v1:CronJob": ({"spec": {"jobTemplate": {"spec": {"template": {"spec": "POD"}}}}},
                                    "spec.jobTemplate.spec.template.spec"),
    "kubernetes:kubeflow.org/v1:PyTorchJob": (
        {"spec": {"pytorchReplicaSpecs": {"Master": {"template": {"spec": "POD"}}}}},
        "spec.pytorchReplicaSpecs.Master.template.spec"),
    "kubernetes:trainer.kubeflow.org/v1alpha1:TrainingRuntime": (
        {"spec": {"template": {"spec": {"replicatedJobs": [{"template": {"spec": {"template": {"spec": "POD"}}}}]}}}},
        "spec.template.spec.replicatedJobs[0].template.spec.template.spec"),
    "kubernetes:serving.kserve.io/v1beta1:InferenceService": ({"spec": {"predictor": "POD"}}, "spec.predictor"),
}


def _fill(value: Any, pod: dict[str, Any]) -> Any:
    if value == "POD":
        return pod
    if isinstance(value, dict):
        return {k: _fill(v, pod) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, pod) for v in value]
    return value


@pytest.mark.parametrize("type_", sorted(POD_PATHS))
def test_pod_templates_are_found_in_every_workload_kind(type_: str) -> None:
    shape, path = POD_PATHS[type_]
    templates = pod_templates(type_, _fill(shape, good_pod()))
    assert [t.path for t in templates] == [path]
    assert [c.name for c in templates[0].containers] == ["init", "main"]
    assert [c.init for c in templates[0].containers] == [True, False]


def test_kserve_framework_container_counts_as_a_container() -> None:
    predictor = {**good_pod(), "containers": [], "model": {"modelFormat": {"name": "tensorflow"}}}
    found = containers("kubernetes:serving.kserve.io/v1beta1:InferenceService", {"spec": {"predictor": predictor}})
    assert [c.path for c in found] == ["spec.predictor.initContainers[0]", "spec.predictor.model"]


def test_objects_without_pods_have_no_templates() -> None:
    assert pod_templates("kubernetes:core/v1:Service", {"spec": {"template": {"spec": good_pod()}}}) == []
    assert pod_templates("aws:s3/bucket:Bucket", {"spec": {"template": {"spec": good_pod()}}}) == []


# --- pod-security-restricted --------------------------------------------------------


def test_restricted_pod_passes() -> None:
    assert pod_security.check(DEPLOYMENT, workload(good_pod()), CTX) == []


@pytest.mark.parametrize(("change", "check_id"), [
    (lambda p: p["securityContext"].pop("runAsNonRoot") and p["containers"][0]["securityContext"].pop("runAsNonRoot"),
     "runAsNonRoot"),
    (lambda p: p["containers"][0]["securityContext"].update(runAsNonRoot=False), "runAsNonRoot"),
    (lambda p: p["securityContext"].update(runAsUser=0), "runAsUser"),
    (lambda p: p["initContainers"][0]["securityContext"].pop("allowPrivilegeEscalation"), "allowPrivilegeEscalation"),
    (lambda p: p["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True), "allowPrivilegeEscalation"),
    (lambda p: p["containers"][0]["securityContext"].update(seccompProfile={"type": "Unconfined"}), "seccompProfile"),
    (lambda p: p["securityContext"].pop("seccompProfile") and p["containers"][0]["securityContext"].pop(
        "seccompProfile"), "seccompProfile"),
    (lambda p: p["containers"][0]["securityContext"].update(capabilities={"drop": ["NET_RAW"]}), "capabilities"),
    (lambda p: p["containers"][0]["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]), "capabilities"),
    (lambda p: p["containers"][0]["securityContext"].update(privileged=True), "privileged"),
    (lambda p: p.update(hostNetwork=True), "hostNamespaces"),
    (lambda p: p["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}]), "hostPorts"),
    (lambda p: p.update(volumes=[{"name": "n", "nfs": {"server": "x", "path": "/"}}]), "volumeTypes"),
])
def test_each_missing_restricted_field_is_reported(change: Any, check_id: str) -> None:
    pod = good_pod()
    change(pod)
    found = pod_security.problems(DEPLOYMENT, workload(pod))
    assert check_id in {c for c, _ in found}
    assert pod_security.check(DEPLOYMENT, workload(pod), CTX)


def test_container_level_settings_satisfy_restricted_without_pod_level() -> None:
    pod = good_pod()
    del pod["securityContext"]
    assert pod_security.check(DEPLOYMENT, workload(pod), CTX) == []


def test_pod_level_seccomp_covers_containers_and_localhost_is_allowed() -> None:
    pod = good_pod()
    for c in (*pod["containers"], *pod["initContainers"]):
        del c["securityContext"]["seccompProfile"]
    pod["securityContext"]["seccompProfile"] = {"type": "Localhost", "localhostProfile": "p.json"}
    assert pod_security.check(DEPLOYMENT, workload(pod), CTX) == []


def test_exception_waives_only_its_checks_on_its_object() -> None:
    pod = good_pod()
    for c in (*pod["containers"], *pod["initContainers"]):
        del c["securityContext"]["runAsNonRoot"]
    del pod["securityContext"]["runAsNonRoot"]
    plugin = workload(pod, "intel-gpu-plugin-pool-a", "DaemonSet")
    assert pod_security.check(DAEMONSET, plugin, CTX) == []
    # Same object as a Deployment, or under another name: not covered.
    assert pod_security.check(DEPLOYMENT, plugin, CTX)
    assert pod_security.check(DAEMONSET, workload(pod, "my-plugin", "DaemonSet"), CTX)
    # A check the exception does not waive is still reported.
    pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    assert pod_security.check(DAEMONSET, workload(pod, "intel-gpu-plugin-pool-a", "DaemonSet"), CTX)


def test_every_exemption_has_a_reason_and_waives_something() -> None:
    for exemption in EXEMPTIONS:
        assert exemption.reason.strip() and exemption.waives
        assert exemption.policy in {rule.name for rule in ALL_RULES}
    assert waived("no-host-path", DEPLOYMENT, workload(good_pod(), "amd-gpu-device-plugin")) == frozenset()


# --- resources-requests-limits ------------------------------------------------------


def test_sized_containers_pass() -> None:
    assert resources.check(DEPLOYMENT, workload(good_pod()), CTX) == []


@pytest.mark.parametrize("missing", [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"),
                                     ("limits", "memory")])
@pytest.mark.parametrize("which", ["containers", "initContainers"])
def test_each_missing_request_or_limit_is_reported(missing: tuple[str, str], which: str) -> None:
    pod = good_pod()
    del pod[which][0]["resources"][missing[0]][missing[1]]
    found = resources.check(DEPLOYMENT, workload(pod), CTX)
    assert len(found) == 1 and f"{missing[0]}.{missing[1]}" in found[0] and which in found[0]


def test_request_above_limit_is_reported() -> None:
    pod = good_pod()
    pod["containers"][0]["resources"]["requests"]["memory"] = "4Gi"
    assert "requests.memory exceeds limits.memory" in resources.check(DEPLOYMENT, workload(pod), CTX)[0]


# --- images-pinned ------------------------------------------------------------------


@pytest.mark.parametrize("image", ["nginx:1.27", "ghcr.io/a/b:v2", "localhost:5000/app:3",
                                   "repo/app@sha256:" + "a" * 64])
def test_pinned_images_pass(image: str) -> None:
    pod = good_pod()
    pod["containers"][0]["image"] = image
    assert images.check(DEPLOYMENT, workload(pod), CTX) == []


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "localhost:5000/app", "gcr.io/x/y:latest", ""])
def test_unpinned_images_fail(image: str) -> None:
    pod = good_pod()
    pod["initContainers"][0]["image"] = image
    found = images.check(DEPLOYMENT, workload(pod), CTX)
    assert len(found) == 1 and "initContainers[0]" in found[0]


def test_allow_unpinned_annotation_is_the_only_way_out() -> None:
    pod = good_pod()
    pod["containers"][0]["image"] = "gcr.io/kubeflow-examples/mnist/deploy-service:latest"
    job = {"metadata": {"name": "s", "annotations": {images.ALLOW_UNPINNED_ANNOTATION: "true"}},
           "spec": {"template": {"spec": pod}}}
    assert images.check("kubernetes:batch/v1:Job", job, CTX) == []
    job["metadata"]["annotations"][images.ALLOW_UNPINNED_ANNOTATION] = "false"
    assert images.check("kubernetes:batch/v1:Job", job, CTX)


def test_trainjob_trainer_image_is_checked() -> None:
    props = {"spec": {"trainer": {"image": "pytorch/pytorch:latest"}}}
    assert images.check("kubernetes:trainer.kubeflow.org/v1alpha1:TrainJob", props, CTX)
    props["spec"]["trainer"]["image"] = "pytorch/pytorch:2.5.1"
    assert images.check("kubernetes:trainer.kubeflow.org/v1alpha1:TrainJob", props, CTX) == []


# --- no-host-path -------------------------------------------------------------------


def test_host_path_volume_fails_and_other_volumes_pass() -> None:
    pod = good_pod()
    pod["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "d"}}]
    assert host_path.check(DEPLOYMENT, workload(pod), CTX) == []
    pod["volumes"].append({"name": "root", "hostPath": {"path": "/"}})
    assert host_path.check(DEPLOYMENT, workload(pod), CTX) == ["spec.template.spec: volume 'root' mounts host path '/'"]


def test_host_path_exception_allows_only_its_paths() -> None:
    pod = good_pod()
    pod["volumes"] = [{"name": "plugins", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}},
                      {"name": "sys", "hostPath": {"path": "/sys"}}]
    plugin = workload(pod, "amd-gpu-device-plugin", "DaemonSet")
    assert host_path.check(DAEMONSET, plugin, CTX) == []
    pod["volumes"].append({"name": "etc", "hostPath": {"path": "/etc"}})
    assert host_path.check(DAEMONSET, plugin, CTX) == ["spec.template.spec: volume 'etc' mounts host path '/etc'"]


def test_host_path_persistent_volume_fails() -> None:
    pv = {"spec": {"hostPath": {"path": "/data"}, "capacity": {"storage": "1Gi"}}}
    assert host_path.check("kubernetes:core/v1:PersistentVolume", pv, CTX)
    pv["spec"] = {"csi": {"driver": "x", "volumeHandle": "y"}}
    assert host_path.check("kubernetes:core/v1:PersistentVolume", pv, CTX) == []


# --- no-external-services -----------------------------------------------------------

SERVICE = "kubernetes:core/v1:Service"


@pytest.mark.parametrize("service_type", [None, "ClusterIP", "ExternalName"])
def test_internal_services_pass(service_type: str | None) -> None:
    spec = {"type": service_type} if service_type else {}
    assert exposure.check(SERVICE, {"metadata": {"name": "s"}, "spec": spec}, CTX) == []


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_external_services_need_the_opt_in(service_type: str) -> None:
    service = {"metadata": {"name": "s"}, "spec": {"type": service_type}}
    assert exposure.check(SERVICE, service, CTX)
    service["metadata"]["annotations"] = {exposure.EXPOSURE_OPT_IN: "  "}
    assert exposure.check(SERVICE, service, CTX), "a blank reason is no opt-in"
    service["metadata"]["annotations"] = {exposure.EXPOSURE_OPT_IN: "partner VPN reaches it on a NodePort"}
    assert exposure.check(SERVICE, service, CTX) == []


# --- stateful-resources-protected ---------------------------------------------------

PVC = "kubernetes:core/v1:PersistentVolumeClaim"


@pytest.mark.parametrize("type_", [PVC, "gcp:storage/bucket:Bucket", "aws:s3/bucket:Bucket",
                                   "azure-native:storage:StorageAccount", "kubernetes:apps/v1:StatefulSet"])
def test_stateful_resources_need_protect_and_retain(type_: str) -> None:
    assert stateful.check(type_, {}, ResourceContext(protect=True, retain_on_delete=True)) == []
    assert "protect" in stateful.check(type_, {}, ResourceContext(protect=False, retain_on_delete=True))[0]
    assert "retainOnDelete" in stateful.check(type_, {}, ResourceContext(protect=True, retain_on_delete=False))[0]


def test_retain_on_delete_unseen_is_not_a_violation_but_protect_is_checked() -> None:
    assert stateful.check(PVC, {}, ResourceContext(protect=True, retain_on_delete=None)) == []
    assert stateful.check(PVC, {}, ResourceContext(protect=False, retain_on_delete=None))


def test_stack_opt_out_by_policy_config() -> None:
    context = ResourceContext(name="scratch-claim", protect=False, retain_on_delete=False,
                              config={"unprotected": ["scratch-*"]})
    assert stateful.check(PVC, {}, context) == []
    other = ResourceContext(name="models-claim", config={"unprotected": ["scratch-*"]})
    assert stateful.check(PVC, {}, other)


def test_stateless_resources_are_not_judged() -> None:
    assert stateful.check("kubernetes:core/v1:ConfigMap", {}, ResourceContext(protect=False)) == []


# --- namespace-guardrails -----------------------------------------------------------


def ns(name: str, level: str | None = "restricted") -> Resource:
    labels = {"pod-security.kubernetes.io/enforce": level} if level else {}
    return Resource("kubernetes:core/v1:Namespace", f"urn:ns:{name}", f"{name}-ns",
                    {"metadata": {"name": name, "labels": labels}})


def netpol(namespace: str) -> Resource:
    return Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"urn:np:{namespace}", f"{namespace}-np",
                    {"metadata": {"name": "default-deny", "namespace": namespace}, "spec": {"podSelector": {}}})


def test_guarded_namespace_passes() -> None:
    assert namespaces.check([ns("ml"), netpol("ml")]) == []


def test_namespace_without_enforce_label_or_policy_fails() -> None:
    found = namespaces.check([ns("bare", None), ns("open"), netpol("elsewhere"), ns("typo", "strict")])
    assert sorted(urn for urn, _ in found) == ["urn:ns:bare", "urn:ns:bare", "urn:ns:open", "urn:ns:typo",
                                               "urn:ns:typo"]


# --- scope --------------------------------------------------------------------------


def test_objects_of_charts_are_out_of_scope() -> None:
    chart_child = ("urn:pulumi:dev::mlplane::mlplane:platform:Istio$kubernetes:helm.sh/v4:Chart"
                   "$kubernetes:apps/v1:DaemonSet::istio-cni-node")
    own = "urn:pulumi:dev::mlplane::mlplane:accelerators:DeviceEnablement$kubernetes:apps/v1:DaemonSet::devices-amd"
    assert ancestor_types(chart_child) == ["mlplane:platform:Istio", "kubernetes:helm.sh/v4:Chart"]
    assert not in_scope(chart_child)
    assert in_scope(own)
    assert in_scope("urn:pulumi:dev::mlplane::kubernetes:core/v1:Namespace::ns")


def test_rules_do_not_modify_their_input() -> None:
    pod = good_pod()
    pod["volumes"] = [{"name": "h", "hostPath": {"path": "/x"}}]
    props = workload(pod)
    before = copy.deepcopy(props)
    for rule in RESOURCE_RULES:
        assert list(rule.check(DEPLOYMENT, props, CTX))[0:0] == []
    assert props == before


def test_the_pack_reads_the_marker_the_pipeline_components_write() -> None:
    # Kept as two constants so the pack does not import pulumi_kubernetes to start.
    from mlplane.components.pipeline.container_step import ALLOW_UNPINNED_ANNOTATION

    assert images.ALLOW_UNPINNED_ANNOTATION == ALLOW_UNPINNED_ANNOTATION


# --- Argo Workflows: each template's pod judged like a Job's ------------------------

WORKFLOW = "kubernetes:argoproj.io/v1alpha1:Workflow"


def good_workflow(allow_unpinned: bool = False, image: str | None = None) -> dict[str, Any]:
    """A run-time pipeline's Workflow as mlplane declares it (a GPU template with a sidecar,
    placed; a DAG; a condition), from the oracle's test pipeline."""
    from pathlib import Path

    from mlplane.components.pipeline.workflow_step import WorkflowStepArgs, workflow_manifest
    from mlplane.components.scheduling import Placement
    from mlplane.pipelines.kfp_v1 import load_kfp_v1_pipeline

    source = Path(__file__).resolve().parent / "data" / "pipelines" / "oracle" / "flow_gpu.py"
    [step] = load_kfp_v1_pipeline(source, "pipeline", {}, name="flow-gpu", display="flow_gpu.py").steps
    if image:  # the train step's image, as an image override would change it
        step = step.model_copy(update={"workflow": copy.deepcopy(step.workflow)})
        _template(step.workflow, "train")["container"]["image"] = image
    placement = Placement(pool="a100", resource_name="nvidia.com/gpu", count=1, node_selector={"pool": "a100"},
                          tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},))
    return workflow_manifest(WorkflowStepArgs(namespace="team", spec=step, version="v1",
                                              placements={"train": placement}, allow_unpinned_images=allow_unpinned))


def _template(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in workflow["spec"]["templates"] if t["name"] == name)


def _without_wait_limits(template: dict[str, Any]) -> str:
    """The template's podSpecPatch with the executor's wait container left without limits."""
    patch = json.loads(template["podSpecPatch"])
    for executor in patch["containers"]:
        if executor["name"] == "wait":
            executor["resources"].pop("limits")
    return json.dumps(patch)


def test_a_workflows_templates_are_pods() -> None:
    workflow = good_workflow()
    found = pod_templates(WORKFLOW, workflow)
    index = {t["name"]: i for i, t in enumerate(workflow["spec"]["templates"])}
    assert [t.path for t in found] == [f"spec.templates[{index['should-train']}]", f"spec.templates[{index['train']}]"]
    train = found[1]
    at = f"spec.templates[{index['train']}]"
    # Argo's executor containers (init, wait) count as the template's podSpecPatch sets them.
    assert [c.path for c in train.containers] == [f"{at}.container", f"{at}.sidecars[0]",
                                                  f"{at}.podSpecPatch.initContainers[0]",
                                                  f"{at}.podSpecPatch.containers[0]"]
    assert train.spec["nodeSelector"] == {"pool": "a100"}


def test_mlplanes_workflow_keeps_every_promise() -> None:
    workflow = good_workflow()
    for rule in RESOURCE_RULES:
        assert rule.check(WORKFLOW, workflow, CTX) == [], rule.name


@pytest.mark.parametrize(("kind", "base"), [("WorkflowTemplate", ()), ("ClusterWorkflowTemplate", ()),
                                            ("CronWorkflow", ("workflowSpec",))])
def test_other_argo_kinds_hold_templates_too(kind: str, base: tuple[str, ...]) -> None:
    spec = good_workflow()["spec"]
    for key in reversed(base):
        spec = {key: spec}
    props = {"metadata": {"name": "x"}, "spec": spec}
    bad = copy.deepcopy(props)
    inner = bad if not base else {"spec": bad["spec"]["workflowSpec"]}
    _template(inner, "train")["container"].pop("resources")
    assert resources.check(f"kubernetes:argoproj.io/v1alpha1:{kind}", props, CTX) == []
    assert resources.check(f"kubernetes:argoproj.io/v1alpha1:{kind}", bad, CTX)


@pytest.mark.parametrize(("change", "rule", "expected"), [
    (lambda w: _template(w, "train")["container"].pop("resources"), resources, "container ('train'"),
    (lambda w: _template(w, "train")["sidecars"][0]["resources"]["limits"].pop("memory"), resources,
     "sidecars[0] ('metrics'): resources must set limits.memory"),
    (lambda w: _template(w, "should-train")["container"]["resources"]["requests"].update(cpu="4"), resources,
     "requests.cpu exceeds limits.cpu"),
    (lambda w: _template(w, "train")["container"]["securityContext"].update(allowPrivilegeEscalation=True),
     pod_security, "allowPrivilegeEscalation must be false"),
    (lambda w: _template(w, "train")["sidecars"][0].pop("securityContext"), pod_security,
     "sidecars[0] ('metrics'): securityContext.allowPrivilegeEscalation"),
    (lambda w: _template(w, "train").pop("securityContext") and _template(w, "train")["container"][
        "securityContext"].pop("seccompProfile"), pod_security, "seccompProfile.type must be RuntimeDefault"),
    (lambda w: _template(w, "train")["securityContext"].update(runAsUser=0), pod_security, "runAsUser must not be 0"),
    (lambda w: w["spec"].update(hostNetwork=True), pod_security, "hostNetwork is not allowed"),
    (lambda w: _template(w, "train").update(volumes=[{"name": "n", "nfs": {"server": "x", "path": "/"}}]),
     pod_security, "volume 'n' is of type ['nfs']"),
    (lambda w: _template(w, "train").update(initContainers=[{"name": "setup", "image": "busybox:1.36.1"}]),
     resources, "initContainers[0] ('setup'): resources must set"),
    (lambda w: _template(w, "train")["container"].update(image="pytorch/pytorch:latest"), images,
     "image 'pytorch/pytorch:latest' uses the mutable tag 'latest'"),
    (lambda w: _template(w, "train")["sidecars"][0].update(image="busybox"), images, "image 'busybox' has no tag"),
    (lambda w: w["spec"].update(volumes=[{"name": "h", "hostPath": {"path": "/etc"}}]), host_path, "/etc"),
    (lambda w: _template(w, "train").update(podSpecPatch=_without_wait_limits(_template(w, "train"))), resources,
     "podSpecPatch.containers[0] ('wait'): resources must set limits"),
])
def test_a_bad_workflow_template_is_reported(change: Any, rule: Any, expected: str) -> None:
    workflow = good_workflow()
    change(workflow)
    found = rule.check(WORKFLOW, workflow, CTX)
    assert any(expected in message for message in found), found


def test_a_workflow_with_unpinned_images_allowed_says_so() -> None:
    workflow = good_workflow(allow_unpinned=True)
    assert images.ALLOW_UNPINNED_ANNOTATION not in workflow["metadata"]["annotations"]  # all pinned: no mark
    allowed = good_workflow(allow_unpinned=True, image="pytorch/pytorch:latest")
    assert allowed["metadata"]["annotations"][images.ALLOW_UNPINNED_ANNOTATION] == "true"
    assert images.check(WORKFLOW, allowed, CTX) == []
    refused = good_workflow(image="pytorch/pytorch:latest")
    assert images.ALLOW_UNPINNED_ANNOTATION not in refused["metadata"]["annotations"]
    assert images.check(WORKFLOW, refused, CTX)
    unpinned = good_workflow()
    _template(unpinned, "train")["container"]["image"] = "pytorch/pytorch:latest"
    assert images.check(WORKFLOW, unpinned, CTX)
    unpinned["metadata"]["annotations"][images.ALLOW_UNPINNED_ANNOTATION] = "true"
    assert images.check(WORKFLOW, unpinned, CTX) == []


def claim_workflow(release: str = "26.03") -> dict[str, Any]:
    """A Workflow with a VolumeOp and a ResourceOp inside a condition (Argo resource templates),
    as mlplane declares it on a release train."""
    from pathlib import Path

    from mlplane.components.pipeline.workflow_step import WorkflowStepArgs, workflow_manifest
    from mlplane.pipelines.kfp_v1 import load_kfp_v1_pipeline

    source = Path(__file__).resolve().parent / "data" / "pipelines" / "oracle" / "flow_claim_condition.py"
    [step] = load_kfp_v1_pipeline(source, "pipeline", {}, name="flow-claim-condition",
                                  display="flow_claim_condition.py").steps
    return workflow_manifest(WorkflowStepArgs(namespace="team", spec=step, version="v1", release=release))


@pytest.mark.parametrize(("release", "names"), [("1.8.1", ["init", "main"]), ("26.03", ["init", "wait", "main"])])
def test_a_resource_templates_pod_is_judged(release: str, names: list[str]) -> None:
    """A resource template runs a pod of Argo's executor alone: its containers are what the
    template's podSpecPatch gives them, and every rule passes mlplane's."""
    workflow = claim_workflow(release)
    index = {t["name"]: i for i, t in enumerate(workflow["spec"]["templates"])}
    found = {t.path: t for t in pod_templates(WORKFLOW, workflow)}
    scratch = found[f"spec.templates[{index['scratch']}]"]
    assert [c.name for c in scratch.containers] == names
    assert scratch.spec["securityContext"]["runAsNonRoot"] is True
    for rule in RESOURCE_RULES:
        assert rule.check(WORKFLOW, workflow, CTX) == [], rule.name


def _patch(template: dict[str, Any], edit: Any) -> None:
    import json

    patch = json.loads(template["podSpecPatch"])
    edit(patch)
    template["podSpecPatch"] = json.dumps(patch)


@pytest.mark.parametrize(("change", "rule", "expected"), [
    # No patch: Argo's main as Argo makes it (1.8.1: no requests, limits or security context); a
    # patch that leaves it out or does not parse is none.
    (lambda w: _template(w, "scratch").pop("podSpecPatch"), resources, ".resource ('scratch/main'): resources must set"),
    (lambda w: _template(w, "note").pop("podSpecPatch"), pod_security,
     ".resource ('note/main'): securityContext.allowPrivilegeEscalation must be false"),
    (lambda w: _patch(_template(w, "note"), lambda p: p["containers"].pop()), resources, "('note/main')"),
    (lambda w: _patch(_template(w, "note"), lambda p: p["initContainers"][0]["resources"]["limits"].pop("cpu")),
     resources, "podSpecPatch.initContainers[0] ('init'): resources must set limits.cpu"),
    (lambda w: _patch(_template(w, "scratch"), lambda p: p["containers"][0]["securityContext"]["capabilities"]
                      .update(drop=[])), pod_security, "podSpecPatch.containers[0] ('wait'): securityContext."
                                                       "capabilities.drop must contain ALL"),
    (lambda w: _template(w, "scratch")["securityContext"].update(runAsUser=0), pod_security,
     "podSpecPatch.initContainers[0] ('init'): runAsUser must not be 0"),
    (lambda w: _template(w, "scratch").update(podSpecPatch="{not: [yaml"), resources, "('scratch/main')"),
])
def test_a_bad_resource_template_is_reported(change: Any, rule: Any, expected: str) -> None:
    workflow = claim_workflow()
    change(workflow)
    found = rule.check(WORKFLOW, workflow, CTX)
    assert any(expected in message for message in found), found
