"""The builders of custom resources' pods (infra/offline/verify/cr_pods.py): pure, no control plane.

Each builder is checked against the controller's behaviour its docstring cites: what the user
wrote in the template is kept (nodeSelector, tolerations, resources), what the controller adds is
added and cited, and what cannot be cited marks the pod approximate.
"""

from __future__ import annotations

import json
from typing import Any

from mlplane.infra.offline.verify.cr_pods import (
    BUILT_FROM_ANNOTATION,
    BUILT_FROM_LABEL,
    build_pods,
    context_of,
    inference_service,
    notebook,
    pytorch_job,
    tensorboard,
    train_job,
)
from mlplane.infra.offline.verify.changes import ALLOWED
from mlplane.infra.offline.verify.report import Report, attribute

GPU_TEMPLATE = {"nodeSelector": {"mlplane.dev/accelerator-pool": "a100"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}


def configmap(name: str, data: dict[str, str], namespace: str = "kubeflow") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def isvc_config(version: str, mode: str = "Serverless") -> dict[str, Any]:
    return configmap("inferenceservice-config", {
        "deploy": json.dumps({"defaultDeploymentMode": mode}),
        "storageInitializer": json.dumps({"image": f"kserve/storage-initializer:{version}", "cpuRequest": "100m",
                                          "cpuLimit": "1", "memoryRequest": "100Mi", "memoryLimit": "1Gi"})})


RUNTIME = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ClusterServingRuntime",
           "metadata": {"name": "kserve-tensorflow-serving"},
           "spec": {"supportedModelFormats": [{"name": "tensorflow", "version": "2", "autoSelect": True}],
                    "containers": [{"name": "kserve-container", "image": "tensorflow/serving:2.6.2",
                                    "args": ["--model_name={{.Name}}", "--port=9000"],
                                    "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}]}}


def isvc(name: str = "mnist", mode: str | None = None, storage: str = "pvc://models/export/mnist",
         **pod: Any) -> dict[str, Any]:
    annotations = {"serving.kserve.io/deploymentMode": mode} if mode else {}
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": "serving", "annotations": annotations},
            "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 1, "labels": {"team": "vision"}, **pod,
                                   "model": {"modelFormat": {"name": "tensorflow"}, "storageUri": storage,
                                             "resources": {"limits": {"nvidia.com/gpu": "1"},
                                                           "requests": {"nvidia.com/gpu": "1"}},
                                             "securityContext": {"allowPrivilegeEscalation": False}}}}}


def nb(annotations: dict[str, str] | None = None, security: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {**GPU_TEMPLATE, "containers": [{"name": "lab", "image": "jupyter:1",
                                                            "env": [{"name": "NB_PREFIX", "value": "/old"}]}]}
    if security is not None:
        spec["securityContext"] = security
    return {"apiVersion": "kubeflow.org/v1", "kind": "Notebook",
            "metadata": {"name": "lab", "namespace": "team", "labels": {"access-ml-pipeline": "true"},
                         "annotations": {"notebooks.kubeflow.org/server-type": "jupyter", "team/owner": "a",
                                         **(annotations or {})}},
            "spec": {"template": {"spec": spec}}}


def test_notebook_pod_is_the_statefulsets_with_the_controllers_additions() -> None:
    [built] = notebook(nb(), context_of([]))
    pod = built.pod
    assert pod["metadata"]["name"] == "lab-0" and pod["metadata"]["namespace"] == "team"
    assert pod["metadata"]["labels"]["statefulset"] == "lab" and pod["metadata"]["labels"]["notebook-name"] == "lab"
    assert pod["metadata"]["labels"]["access-ml-pipeline"] == "true"  # the Notebook's labels, for PodDefaults
    assert "notebooks.kubeflow.org/server-type" not in pod["metadata"]["annotations"]
    assert pod["metadata"]["annotations"]["team/owner"] == "a"
    container = pod["spec"]["containers"][0]
    assert container["workingDir"] == "/home/jovyan" and container["ports"][0]["containerPort"] == 8888
    assert container["env"] == [{"name": "NB_PREFIX", "value": "/notebook/team/lab"}]
    assert pod["spec"]["securityContext"] == {"fsGroup": 100}
    assert pod["spec"]["nodeSelector"] == GPU_TEMPLATE["nodeSelector"]
    assert pod["spec"]["tolerations"] == GPU_TEMPLATE["tolerations"]
    assert built.approximate == [] and all("kubeflow/kubeflow v1.10.0" in a.source or "kubernetes" in a.source
                                           for a in built.additions)
    # A securityContext the user wrote is kept; a stopped notebook has no pod.
    [kept] = notebook(nb(security={"runAsUser": 1000}), context_of([]))
    assert kept.pod["spec"]["securityContext"] == {"runAsUser": 1000}
    assert notebook(nb({"kubeflow-resource-stopped": "2026-01-01T00:00:00Z"}), context_of([])) == []


def test_notebook_citation_follows_the_train() -> None:
    old = context_of([isvc_config("v0.11.2")])
    assert old.train == "1.8.1"
    [built] = notebook(nb(), old)
    assert any("kubeflow/kubeflow v1.8.0" in a.source for a in built.additions)
    controller = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "notebook-controller"},
                  "spec": {"template": {"spec": {"containers": [
                      {"name": "manager", "image": "docker.io/kubeflownotebookswg/notebook-controller:v1.8.0"}]}}}}
    assert context_of([controller]).train == "1.8.1"  # a 1.8.1 stack without KServe
    assert context_of([isvc_config("v0.16.0")]).train == "26.03"


def test_tensorboard_pod_mounts_the_logs_claim_and_says_what_it_cannot_build() -> None:
    board = {"apiVersion": "tensorboard.kubeflow.org/v1alpha1", "kind": "Tensorboard",
             "metadata": {"name": "runs", "namespace": "team", "labels": {"x": "y"}},
             "spec": {"logspath": "pvc://code-runs/logs/a"}}
    config = configmap("tensorboard-controller-config-abc", {"TENSORBOARD_IMAGE": "tensorflow/tensorflow:2.5.1",
                                                             "RWO_PVC_SCHEDULING": "True"})
    [built] = tensorboard(board, context_of([config]))
    spec = built.pod["spec"]
    assert built.pod["metadata"]["generateName"] == "runs-" and built.pod["metadata"]["labels"]["app"] == "runs"
    assert spec["volumes"] == [{"name": "tbpd", "persistentVolumeClaim": {"claimName": "code-runs"}}]
    assert spec["containers"][0]["volumeMounts"][0]["subPath"] == "logs/a"
    assert spec["containers"][0]["image"] == "tensorflow/tensorflow:2.5.1"
    assert any("RWO_PVC_SCHEDULING" in why for why in built.approximate)
    [plain] = tensorboard(board, context_of([configmap("tensorboard-controller-config-abc",
                                                       {"TENSORBOARD_IMAGE": "tf:1"})]))
    assert plain.approximate == []


def test_serverless_inference_service_on_2603_mounts_the_claim_and_adds_queue_proxy() -> None:
    context = context_of([isvc_config("v0.16.0"), RUNTIME,
                          configmap("config-deployment", {"queue-sidecar-image": "queue@sha256:1"}, "knative-serving")])
    [built] = inference_service(isvc(**GPU_TEMPLATE), context)
    spec = built.pod["spec"]
    assert [c["name"] for c in spec["containers"]] == ["kserve-container", "queue-proxy"]
    user, queue = spec["containers"]
    assert user["image"] == "tensorflow/serving:2.6.2" and user["args"][0] == "--model_name=mnist"
    assert user["resources"]["limits"] == {"nvidia.com/gpu": "1"}  # the model's resources over the runtime's
    assert queue["resources"]["requests"] == {"cpu": "25m"} and queue["image"] == "queue@sha256:1"
    assert queue["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "kserve-pvc-source", "persistentVolumeClaim": {"claimName": "models"}} in spec["volumes"]
    assert "initContainers" not in spec
    assert spec["nodeSelector"] == GPU_TEMPLATE["nodeSelector"] and spec["tolerations"] == GPU_TEMPLATE["tolerations"]
    assert "minReplicas" not in spec and "model" not in spec and "labels" not in spec
    labels = built.pod["metadata"]["labels"]
    assert labels["serving.kserve.io/inferenceservice"] == "mnist" and labels["component"] == "predictor"
    assert labels["team"] == "vision" and labels[BUILT_FROM_LABEL] == "InferenceService.serving.kserve.io"
    assert built.pod["metadata"]["annotations"][BUILT_FROM_ANNOTATION] == "InferenceService serving/mnist"
    assert built.pod["metadata"]["generateName"] == "mnist-predictor-00001-deployment-"
    assert built.approximate == []
    sources = " ".join(a.source for a in built.additions)
    assert "kserve/kserve v0.16.0" in sources and "knative/serving knative-v1.21.1" in sources


def test_inference_service_on_1181_gets_the_storage_initializer_and_raw_mode_no_queue_proxy() -> None:
    context = context_of([isvc_config("v0.11.2"), RUNTIME])
    [built] = inference_service(isvc(mode="RawDeployment"), context)
    spec = built.pod["spec"]
    assert [c["name"] for c in spec["containers"]] == ["kserve-container"]
    [init] = spec["initContainers"]
    assert init["name"] == "storage-initializer" and init["args"] == ["/mnt/pvc/export/mnist", "/mnt/models"]
    assert init["resources"]["requests"] == {"cpu": "100m", "memory": "100Mi"}
    assert init["securityContext"] == {"allowPrivilegeEscalation": False}  # the user container's, copied
    assert {v["name"] for v in spec["volumes"]} == {"kserve-provision-location", "kserve-pvc-source"}
    assert built.pod["metadata"]["generateName"] == "mnist-predictor-"
    assert any("kserve/kserve v0.11.2" in a.source for a in built.additions)


def test_what_cannot_be_cited_is_marked_approximate() -> None:
    context = context_of([isvc_config("v0.16.0")])  # no serving runtime in the plan
    [built] = inference_service(isvc(storage="gs://bucket/model"), context)
    assert any("no serving runtime" in why for why in built.approximate)
    assert any("gs://" in why for why in built.approximate)
    clash = {**RUNTIME, "spec": {**RUNTIME["spec"], "tolerations": [{"key": "a", "operator": "Exists"}]}}
    [merged] = inference_service(isvc(**GPU_TEMPLATE), context_of([isvc_config("v0.16.0"), clash]))
    assert any("tolerations" in why for why in merged.approximate)


def test_build_pods_expands_known_kinds_and_lists_those_it_cannot() -> None:
    job = {"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": {"name": "train", "namespace": "team"}}
    runtime = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "ClusterTrainingRuntime",
               "metadata": {"name": "torch"}}
    profile = {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "team"}}
    pods, skipped = build_pods([nb(), job, runtime, RUNTIME, isvc_config("v0.16.0"), profile])
    # The Profile's ServiceAccounts come before the pods that name them (the notebook runs as default-editor).
    assert [(p.stands_for, p.pod["kind"], p.pod["metadata"]["name"]) for p in pods] == [
        ("Profile team", "ServiceAccount", "default-editor"), ("Profile team", "ServiceAccount", "default-viewer"),
        ("Notebook team/lab", "Pod", "lab-0")]
    assert all(p.pod["metadata"]["namespace"] == "team" for p in pods)
    assert "updateServiceAccount" in pods[0].additions[0].source
    assert skipped == [("TFJob team/train", "no builder for this kind (infra/offline/verify/cr_pods.py)")]
    assert "cr-child-created" in ALLOWED


def test_a_missing_default_service_account_is_the_admission_only_limit() -> None:
    """Only the controller manager makes a namespace's "default" ServiceAccount; any other one missing is the plan's."""
    assert attribute('pods "x" is forbidden: error looking up service account mlplane/default: '
                     'serviceaccount "default" not found') == "no-controller-manager"
    assert attribute('pods "x" is forbidden: error looking up service account team/default-editor: '
                     'serviceaccount "default-editor" not found') is None


def test_the_text_report_lists_built_pods_with_their_citations() -> None:
    [built] = notebook(nb(), context_of([]))
    row = {"standsFor": built.stands_for, "pod": "team/lab-0", "created": True, "approximate": ["why"],
           "additions": [{"what": a.what, "source": a.source} for a in built.additions]}
    text = Report(stack="s", mode="full cycle", version="v1.36.2", built=[row]).to_text()
    assert "Pods built from custom resources' templates (1):" in text
    assert "  - Notebook team/lab: team/lab-0 [approximate: why]" in text
    assert "      + env NB_PREFIX (kubeflow/kubeflow v1.10.0 " in text


TEMPLATE = {"metadata": {"labels": {"app": "train"}}, "spec": {**GPU_TEMPLATE, "restartPolicy": "OnFailure",
                                                               "containers": [{"name": "pytorch", "image": "t:1"}]}}


def test_pytorchjob_pods_one_per_replica_and_workers_wait_for_the_master() -> None:
    job = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": "mnist", "namespace": "ml"},
           "spec": {"pytorchReplicaSpecs": {
               "Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": TEMPLATE},
               "Worker": {"replicas": 2, "restartPolicy": "ExitCode", "template": TEMPLATE}}}}
    pods = pytorch_job(job, context_of([isvc_config("v0.11.2")]))
    assert [p.pod["metadata"]["name"] for p in pods] == ["mnist-master-0", "mnist-worker-0", "mnist-worker-1"]
    master, worker = pods[0].pod, pods[1].pod
    assert master["metadata"]["labels"]["training.kubeflow.org/job-role"] == "master"
    assert "training.kubeflow.org/job-role" not in worker["metadata"]["labels"]
    assert worker["metadata"]["labels"]["training.kubeflow.org/replica-index"] == "0"
    assert "initContainers" not in master["spec"] and master["spec"]["restartPolicy"] == "OnFailure"
    [init] = worker["spec"]["initContainers"]
    assert init["name"] == "init-pytorch" and init["image"] == "alpine:3.10" and "securityContext" not in init
    assert init["resources"]["requests"] == {"cpu": "50m", "memory": "10Mi"}
    assert worker["spec"]["restartPolicy"] == "Never"  # ExitCode: the operator restarts, the kubelet does not
    assert worker["spec"]["nodeSelector"] == GPU_TEMPLATE["nodeSelector"]
    assert all(any("training-operator v1.7.0" in a.source for a in p.additions) for p in pods)
    assert all(p.approximate and "setPodEnv" in p.approximate[0] for p in pods)


def test_trainjob_pods_follow_numnodes_on_the_trainer_step_of_its_runtime() -> None:
    runtime = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainingRuntime",
               "metadata": {"name": "mnist", "namespace": "ml"},
               "spec": {"mlPolicy": {"numNodes": 2, "torch": {}}, "template": {"spec": {"replicatedJobs": [{
                   "name": "node", "replicas": 1, "template": {
                       "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
                       "spec": {"template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], "containers": [
                           {"name": "node", "image": "t:1"}]}}}}}]}}}}
    job = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob",
           "metadata": {"name": "mnist", "namespace": "ml"},
           "spec": {"runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "TrainingRuntime", "name": "mnist"},
                    "trainer": {"numNodes": 3}}}
    pods = train_job(job, context_of([runtime]))
    assert [p.pod["metadata"]["generateName"] for p in pods] == ["mnist-node-0-0-", "mnist-node-0-1-", "mnist-node-0-2-"]
    spec = pods[0].pod["spec"]
    assert spec["containers"][0]["ports"] == [{"containerPort": 29500}]
    assert spec["nodeSelector"] == GPU_TEMPLATE["nodeSelector"] and spec["tolerations"] == GPU_TEMPLATE["tolerations"]
    assert any("kubeflow/trainer v2.1.0" in a.source and "numNodes" in a.what for a in pods[0].additions)
    # Its runtime missing from the plan: not expanded, said so.
    built, skipped = build_pods([job])
    assert built == [] and skipped == [("TrainJob ml/mnist", "its runtime TrainingRuntime mnist is not in the plan")]
