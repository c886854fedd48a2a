"""Pods the plan's custom resources would get from controllers that do not run here.

No KServe, Knative, notebook, tensorboard or training controller runs on verify's control
plane, so an InferenceService, a Notebook, a Tensorboard or a training job makes no pod there. This module builds the pod
each one's controller would create: the pod spec the user (and mlplane's components) wrote in
the custom resource's template, plus what the controller adds, each addition cited to the
controller's source at the tag the release train pins. The harness creates those pods
(an allow-listed change, ``cr-child-created``, as are the ServiceAccounts a Profile's controller
makes, which the pods of its namespace name) and lets the scheduler place them, so their
placement is judged as a workload's is. Anything built without a citation makes the pod
``approximate`` (the reasons are listed in the report).

Controllers, per train (components/platform/releases.py):

- Notebook (``kubeflow.org``): kubeflow/kubeflow v1.8.0 (1.8.1 train) and v1.10.0 (26.03),
  ``components/notebook-controller/controllers/notebook_controller.go``, ``generateStatefulSet``:
  a StatefulSet named as the Notebook, one replica (none under the ``kubeflow-resource-stopped``
  annotation), whose pod template is ``spec.template.spec`` with the labels ``statefulset`` and
  ``notebook-name`` and the Notebook's own labels, its annotations except those containing
  "kubectl" or "notebook", the first container's ``workingDir`` ``/home/jovyan`` and port 8888
  ``notebook-port`` when unset, ``NB_PREFIX`` ``/notebook/<namespace>/<name>`` (``setPrefixEnvVar``),
  and ``fsGroup: 100`` when the pod has no securityContext (``DefaultFSGroup``). The StatefulSet
  controller names its pod ``<name>-0``.
- Tensorboard (``tensorboard.kubeflow.org``): the same tags,
  ``components/tensorboard-controller/controllers/tensorboard_controller.go``,
  ``generateDeployment``: a Deployment named as the Tensorboard, one replica, labels of the
  Tensorboard plus ``app: <name>``, one container ``tensorboard`` of ``$TENSORBOARD_IMAGE``
  (the controller's ConfigMap in the plan), port 6006, a ``pvc://<claim>/<path>`` log path
  mounted read-only at ``/tensorboard_logs/`` from volume ``tbpd``; no securityContext. With
  ``RWO_PVC_SCHEDULING`` true the controller adds a node affinity to the node of a running pod
  that mounts a ReadWriteOnce claim (``generateNodeAffinity``); no pod runs here, so that affinity
  is absent (approximate).
- InferenceService (``serving.kserve.io``): kserve/kserve v0.11.2 (1.8.1) and v0.16.0 (26.03),
  ``pkg/controller/v1beta1/inferenceservice/components/predictor.go``: the predictor's pod spec
  (``spec.predictor`` minus the component fields) merged with the serving runtime's
  (``utils.MergeRuntimeContainers`` and ``MergePodSpec`` on v0.11.2,
  ``MergeServingRuntimeAndInferenceServiceSpecs`` on v0.16.0, both strategic merges the builder
  approximates field by field, the predictor's winning; the runtime picked by model format,
  ``supportedModelFormats`` with ``autoSelect``), the container ``kserve-container`` (the
  runtime's container with the model's fields over it), labels
  ``serving.kserve.io/inferenceservice: <name>`` and ``component: predictor``
  (``pkg/constants/constants.go``). The storage of a ``pvc://`` URI is added by KServe's pod
  mutator (``pkg/webhook/admission/pod/storage_initializer_injector.go``): on v0.16.0 the claim
  ``kserve-pvc-source`` is mounted at ``/mnt/models`` directly; on v0.11.2 (no
  ``enableDirectPvcVolumeMount``) an init container ``storage-initializer`` (image and resources
  from ``inferenceservice-config``, the user container's securityContext) copies it into an
  emptyDir ``kserve-provision-location``. In Serverless mode Knative's revision adds the
  ``queue-proxy`` container: knative/serving knative-v1.10.2 and knative-v1.21.1,
  ``pkg/reconciler/revision/resources/queue.go`` (``makeQueueContainer``,
  ``queueSecurityContext``, ``createQueueResources``: requests from ``config-deployment``,
  ``queue-sidecar-cpu-request`` default 25m in ``pkg/deployment/config.go``); the image is
  ``queue-sidecar-image``.
- PyTorchJob (``kubeflow.org``, 1.8.1) and TrainJob (``trainer.kubeflow.org``, 26.03), the
  distributed training steps mlplane declares (components/pipeline/training_step.py): see
  :func:`pytorch_job` and :func:`train_job`.

Webhooks the harness holds back (Istio's sidecar injection, KServe's
  agent and batcher, PodDefaults) add nothing here: those are not judged, as for every pod.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlplane.components.platform import training_init

#: Label and annotations on every pod the harness builds: which custom resource it stands for.
BUILT_FROM_LABEL = "verify.mlplane.dev/built-from"
BUILT_FROM_ANNOTATION = "verify.mlplane.dev/stands-for"
APPROXIMATE_ANNOTATION = "verify.mlplane.dev/approximate"

NOTEBOOK_TAGS = {"1.8.1": "kubeflow/kubeflow v1.8.0", "26.03": "kubeflow/kubeflow v1.10.0"}
KSERVE_TAGS = {"1.8.1": "kserve/kserve v0.11.2", "26.03": "kserve/kserve v0.16.0"}
KNATIVE_TAGS = {"1.8.1": "knative/serving knative-v1.10.2", "26.03": "knative/serving knative-v1.21.1"}
_NOTEBOOK = "components/notebook-controller/controllers/notebook_controller.go"
_TENSORBOARD = "components/tensorboard-controller/controllers/tensorboard_controller.go"
_PREDICTOR = "pkg/controller/v1beta1/inferenceservice/components/predictor.go"
_INJECTOR = "pkg/webhook/admission/pod/storage_initializer_injector.go"
_QUEUE = "pkg/reconciler/revision/resources/queue.go"

#: Kinds whose template makes pods through a controller that no builder here expands: reported
#: as approximate (not expanded) when the plan holds one.
NOT_EXPANDED = {
    ("kubeflow.org", "TFJob"), ("kubeflow.org", "MPIJob"),
    ("kubeflow.org", "XGBoostJob"), ("kubeflow.org", "PaddleJob"), ("kubeflow.org", "Experiment"),
    ("argoproj.io", "Workflow"), ("argoproj.io", "CronWorkflow"),
    ("serving.knative.dev", "Service"), ("serving.knative.dev", "Configuration"),
    ("serving.knative.dev", "Revision"), ("serving.kserve.io", "InferenceGraph"),
}
#: Kinds that carry pod templates but make no pod by themselves (a runtime is read when a job or
#: an InferenceService names it; a PodDefault is applied by a webhook to others' pods).
NO_POD_OF_THEIR_OWN = {
    ("serving.kserve.io", "ClusterServingRuntime"), ("serving.kserve.io", "ServingRuntime"),
    ("trainer.kubeflow.org", "ClusterTrainingRuntime"), ("trainer.kubeflow.org", "TrainingRuntime"),
    ("kubeflow.org", "PodDefault"), ("argoproj.io", "WorkflowTemplate"),
    ("argoproj.io", "ClusterWorkflowTemplate"),
}


class NotExpanded(Exception):
    """A builder cannot build this custom resource's pods (the reason is the message)."""


@dataclass(frozen=True)
class Addition:
    """Something the controller adds to the user's pod spec, and the source that says so."""

    what: str
    source: str


@dataclass
class BuiltPod:
    """One pod (or an object its pods need) a custom resource's controller would create.

    Attributes:
        stands_for: ``Kind namespace/name`` of the custom resource (``Kind name`` when cluster-scoped).
        pod: The manifest to create (``metadata.name`` or ``generateName``): a Pod, or an object
            such as a Profile's ServiceAccount that its namespace's pods name.
        additions: What the controller added, each cited.
        approximate: Why the pod is not exactly what the controller makes (empty: exact, up to
            the held-back webhooks every pod lacks here).
    """

    stands_for: str
    pod: dict[str, Any]
    additions: list[Addition] = field(default_factory=list)
    approximate: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What the builders read from the rest of the plan (the applied objects).

    Attributes:
        train: The release train (``1.8.1`` or ``26.03``), from the KServe storage initializer's or the
            notebook controller's image tag.
        configmaps: ``(namespace, name)`` -> data, of every applied ConfigMap.
        runtimes: Applied ClusterServingRuntimes and ServingRuntimes.
        training_runtimes: Applied ClusterTrainingRuntimes and TrainingRuntimes.
    """

    train: str
    configmaps: dict[tuple[str, str], dict[str, str]]
    runtimes: list[dict[str, Any]]
    training_runtimes: list[dict[str, Any]] = field(default_factory=list)

    def configmap(self, name: str, prefix: bool = False) -> dict[str, str]:
        """The data of the ConfigMap named ``name`` (or whose name starts with it), in any namespace."""
        for (_, found), data in sorted(self.configmaps.items()):
            if found == name or (prefix and found.startswith(name)):
                return data
        return {}


def context_of(objects: Iterable[dict[str, Any]]) -> Context:
    """The :class:`Context` of the applied objects."""
    objects = list(objects)
    configmaps = {((o.get("metadata") or {}).get("namespace", ""), o["metadata"]["name"]): dict(o.get("data") or {})
                  for o in objects if o.get("kind") == "ConfigMap" and o.get("apiVersion") == "v1"}
    runtimes = [o for o in objects if o.get("kind") in ("ClusterServingRuntime", "ServingRuntime")
                and str(o.get("apiVersion", "")).startswith("serving.kserve.io/")]
    initializer = json.loads(next((d["storageInitializer"] for (_, n), d in sorted(configmaps.items())
                                   if n == "inferenceservice-config" and "storageInitializer" in d), "{}"))
    # The 1.8.1 train pins KServe v0.11.2 and kubeflow/kubeflow v1.8.0 (components/platform/releases.py):
    # either controller's image in the plan says which train it is.
    images = {str(c.get("image", "")) for o in objects if o.get("kind") == "Deployment"
              for c in ((((o.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [])}
    old = str(initializer.get("image", "")).endswith(":v0.11.2") or any(
        i.endswith("/notebook-controller:v1.8.0") for i in images)
    training = [o for o in objects if o.get("kind") in ("ClusterTrainingRuntime", "TrainingRuntime")
                and str(o.get("apiVersion", "")).startswith("trainer.kubeflow.org/")]
    return Context("1.8.1" if old else "26.03", configmaps, runtimes, training)


def _meta(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", "default"), meta["name"]


def stands_for(obj: dict[str, Any]) -> str:
    """``Kind namespace/name`` of an object (``Kind name`` when it has no namespace)."""
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
    return f"{obj['kind']} {where}"


def _pod(obj: dict[str, Any], name: str | None, labels: dict[str, str], annotations: dict[str, str],
         spec: dict[str, Any], generate: str | None = None) -> dict[str, Any]:
    namespace, _ = _meta(obj)
    group = obj["apiVersion"].split("/")[0]
    metadata: dict[str, Any] = {"namespace": namespace,
                                "labels": {**labels, BUILT_FROM_LABEL: f"{obj['kind']}.{group}"[:63]},
                                "annotations": {**annotations, BUILT_FROM_ANNOTATION: stands_for(obj)}}
    if name:
        metadata["name"] = name
    else:
        metadata["generateName"] = generate
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def notebook(obj: dict[str, Any], context: Context) -> list[BuiltPod]:
    """The pod of a Notebook's StatefulSet (``generateStatefulSet``)."""
    meta = obj.get("metadata") or {}
    source = f"{NOTEBOOK_TAGS[context.train]} {_NOTEBOOK}"
    if "kubeflow-resource-stopped" in (meta.get("annotations") or {}):
        return []  # replicas 0
    name, namespace = meta["name"], meta.get("namespace", "default")
    template = ((obj.get("spec") or {}).get("template") or {})
    spec = copy.deepcopy(template.get("spec") or {})
    labels = {"statefulset": name, "notebook-name": name, **(meta.get("labels") or {})}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if "kubectl" not in k and "notebook" not in k}
    adds = [Addition("labels statefulset, notebook-name and the Notebook's labels; its annotations but "
                     "kubectl's and notebook's", f"{source}: generateStatefulSet")]
    container = spec["containers"][0]
    if not container.get("workingDir"):
        container["workingDir"] = "/home/jovyan"
        adds.append(Addition("workingDir /home/jovyan", f"{source}: generateStatefulSet"))
    if container.get("ports") is None:
        container["ports"] = [{"containerPort": 8888, "name": "notebook-port", "protocol": "TCP"}]
        adds.append(Addition("port 8888 notebook-port", f"{source}: generateStatefulSet, DefaultContainerPort"))
    env = [e for e in container.get("env") or [] if e.get("name") != "NB_PREFIX"]
    container["env"] = [*env, {"name": "NB_PREFIX", "value": f"/notebook/{namespace}/{name}"}]
    adds.append(Addition("env NB_PREFIX", f"{source}: setPrefixEnvVar"))
    if not spec.get("securityContext"):
        spec["securityContext"] = {"fsGroup": 100}
        adds.append(Addition("securityContext.fsGroup 100", f"{source}: generateStatefulSet, DefaultFSGroup"))
    pod = _pod(obj, f"{name}-0", labels, annotations, spec)
    adds.append(Addition(f"pod name {name}-0 (the StatefulSet's ordinal 0)",
                         "kubernetes/kubernetes pkg/controller/statefulset/stateful_set_utils.go: getPodName"))
    return [BuiltPod(stands_for(obj), pod, adds)]


def tensorboard(obj: dict[str, Any], context: Context) -> list[BuiltPod]:
    """The pod of a Tensorboard's Deployment (``generateDeployment``)."""
    meta = obj.get("metadata") or {}
    source = f"{NOTEBOOK_TAGS[context.train]} {_TENSORBOARD}: generateDeployment"
    name, logs = meta["name"], str((obj.get("spec") or {}).get("logspath", ""))
    config = context.configmap("tensorboard-controller-config", prefix=True)
    approximate = []
    mounts, volumes, mountpath = [], [], logs
    if logs.startswith("pvc://"):
        claim, _, subpath = logs.removeprefix("pvc://").partition("/")
        mountpath = "/tensorboard_logs/"
        mounts = [{"name": "tbpd", "readOnly": True, "mountPath": mountpath, "subPath": subpath}]
        volumes = [{"name": "tbpd", "persistentVolumeClaim": {"claimName": claim}}]
        if config.get("RWO_PVC_SCHEDULING", "").lower() == "true":
            approximate.append("RWO_PVC_SCHEDULING: the controller pins the pod to the node of a running pod that "
                               "mounts the claim ReadWriteOnce (generateNodeAffinity); no pod runs here, so no affinity")
    elif logs.startswith(("gs://", "s3://")) or "://" in logs:
        approximate.append(f"a cloud log path ({logs.split('://')[0]}://): its credentials volume is not built")
    image = config.get("TENSORBOARD_IMAGE")
    if not image:
        approximate.append("TENSORBOARD_IMAGE not found in the controller's ConfigMap")
    container = {"name": "tensorboard", "image": image or "tensorboard", "imagePullPolicy": "IfNotPresent",
                 "command": ["/usr/local/bin/tensorboard"], "workingDir": "/",
                 "args": [f"--logdir={mountpath}", "--bind_all"], "ports": [{"containerPort": 6006}],
                 "volumeMounts": mounts}
    spec = {"restartPolicy": "Always", "containers": [container], "volumes": volumes}
    labels = {**(meta.get("labels") or {}), "app": name}
    adds = [Addition("the whole pod: container tensorboard ($TENSORBOARD_IMAGE, port 6006), volume tbpd of the "
                     "logs claim, labels of the Tensorboard and app", source)]
    return [BuiltPod(stands_for(obj), _pod(obj, None, labels, {}, spec, f"{name}-"), adds, approximate)]


#: InferenceService predictor fields that are KServe's, not the pod's (ComponentExtensionSpec and
#: the model frameworks): kserve/kserve pkg/apis/serving/v1beta1/component.go and predictor.go.
_COMPONENT_FIELDS = {"minReplicas", "maxReplicas", "scaleTarget", "scaleMetric", "scaleMetricType",
                     "containerConcurrency", "timeout", "canaryTrafficPercent", "logger", "batcher", "labels",
                     "annotations", "deploymentStrategy", "autoScaling", "storageUri", "model", "workerSpec",
                     "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml",
                     "lightgbm", "paddle"}


def _runtime(context: Context, model: dict[str, Any]) -> dict[str, Any] | None:
    """The serving runtime KServe picks for a model: the named one, else one that auto-selects its format."""
    fmt = (model.get("modelFormat") or {}).get("name")
    named = model.get("runtime")
    for runtime in context.runtimes:
        spec = runtime.get("spec") or {}
        if named and runtime["metadata"]["name"] == named:
            return runtime
        if not named and not spec.get("disabled") and any(
                f.get("name") == fmt and f.get("autoSelect") for f in spec.get("supportedModelFormats") or []):
            return runtime
    return None


def inference_service(obj: dict[str, Any], context: Context) -> list[BuiltPod]:
    """The predictor pod of an InferenceService (raw Deployment, or Knative revision with queue-proxy)."""
    meta = obj.get("metadata") or {}
    name = meta["name"]
    kserve = f"{KSERVE_TAGS[context.train]} {_PREDICTOR}"
    predictor = (obj.get("spec") or {}).get("predictor") or {}
    model = predictor.get("model") or {}
    approximate: list[str] = []
    if obj["spec"].get("transformer") or obj["spec"].get("explainer"):
        approximate.append("a transformer or explainer: only the predictor's pod is built")
    runtime = _runtime(context, model) if model else None
    base: dict[str, Any] = {}
    containers = copy.deepcopy(predictor.get("containers") or [])
    if model:
        if runtime is None:
            approximate.append(f"no serving runtime in the plan for model format {model.get('modelFormat')}")
        rspec = copy.deepcopy((runtime or {}).get("spec") or {})
        runtime_container = (rspec.pop("containers", None) or [{}])[0]
        base = {k: v for k, v in rspec.items() if k not in ("supportedModelFormats", "protocolVersions", "disabled",
                                                            "multiModel", "grpcEndpoint", "httpDataEndpoint",
                                                            "annotations", "labels", "builtInAdapter", "volumes")}
        base["volumes"] = rspec.get("volumes") or []
        user = {k: v for k, v in model.items() if k not in ("modelFormat", "runtime", "storageUri", "protocolVersion",
                                                            "storage")}
        container = {**runtime_container, **user, "name": "kserve-container"}
        # KServe fills the runtime's Go-template placeholders from the InferenceService's metadata
        # (pkg/controller/v1beta1/inferenceservice/utils/utils.go: ReplacePlaceholders).
        filled = [str(a).replace("{{.Name}}", name).replace("{{.Namespace}}", meta.get("namespace", "default"))
                  for a in container.get("args") or []]
        if any("{{" in a for a in filled):
            approximate.append("runtime arguments with other placeholders than {{.Name}}, {{.Namespace}} left as written")
        if filled:
            container["args"] = filled
        containers = [container, *containers]
    pod_spec = {k: copy.deepcopy(v) for k, v in predictor.items() if k not in _COMPONENT_FIELDS}
    spec = {**base, **pod_spec, "containers": containers}
    if base.get("volumes") and pod_spec.get("volumes"):
        spec["volumes"] = base["volumes"] + pod_spec["volumes"]
    both = sorted(k for k in set(base) & set(pod_spec) if k != "volumes" and base[k] and base[k] != pod_spec[k])
    if both:
        approximate.append(f"the runtime and the predictor both set {', '.join(both)}: the predictor's is taken "
                           "whole, where KServe merges them strategically")
    merge = ("Reconcile; pkg/controller/v1beta1/inferenceservice/utils/utils.go: MergeRuntimeContainers, "
             "MergePodSpec, ReplacePlaceholders" if context.train == "1.8.1" else
             "buildPodSpec; pkg/controller/v1beta1/inferenceservice/utils/utils.go: "
             "MergeServingRuntimeAndInferenceServiceSpecs, ReplacePlaceholders")
    adds = [Addition("container kserve-container: the serving runtime's container with the model's fields over it; "
                     "the runtime's pod spec under the predictor's", f"{kserve}: {merge}")]
    labels = {**(predictor.get("labels") or {}), "serving.kserve.io/inferenceservice": name, "component": "predictor"}
    adds.append(Addition("labels serving.kserve.io/inferenceservice, component: predictor",
                         f"{kserve}; pkg/constants/constants.go: InferenceServicePodLabelKey, KServiceComponentLabel"))
    storage = predictor.get("storageUri") or model.get("storageUri")
    if storage:
        adds += _storage(spec, str(storage), context, approximate)
    mode = (meta.get("annotations") or {}).get("serving.kserve.io/deploymentMode") or json.loads(
        context.configmap("inferenceservice-config").get("deploy", "{}")).get("defaultDeploymentMode", "Serverless")
    if mode == "Serverless":
        adds.append(_queue_proxy(spec, context))
        generate = f"{name}-predictor-00001-deployment-"
    else:
        generate = f"{name}-predictor-"
    pod = _pod(obj, None, labels, dict(predictor.get("annotations") or {}), spec, generate)
    return [BuiltPod(stands_for(obj), pod, adds, approximate)]


def _storage(spec: dict[str, Any], uri: str, context: Context, approximate: list[str]) -> list[Addition]:
    """What KServe's pod mutator adds for the model's storage URI."""
    source = f"{KSERVE_TAGS[context.train]} {_INJECTOR}"
    user = spec["containers"][0]
    if not uri.startswith("pvc://"):
        approximate.append(f"storage {uri.split('://')[0]}:// : the storage-initializer's credentials are not built")
    claim, _, path = uri.removeprefix("pvc://").partition("/")
    config = json.loads(context.configmap("inferenceservice-config").get("storageInitializer", "{}"))
    if uri.startswith("pvc://") and (context.train == "26.03" or config.get("enableDirectPvcVolumeMount")):
        spec.setdefault("volumes", []).append({"name": "kserve-pvc-source",
                                               "persistentVolumeClaim": {"claimName": claim}})
        user.setdefault("volumeMounts", []).append({"name": "kserve-pvc-source", "mountPath": "/mnt/models",
                                                    "subPath": path, "readOnly": True})
        return [Addition("volume kserve-pvc-source (the pvc:// claim) mounted at /mnt/models",
                         f"{source}: CommonStorageInitialization" if context.train == "26.03"
                         else f"{source}: InjectStorageInitializer, EnableDirectPvcVolumeMount")]
    mounts = [{"name": "kserve-provision-location", "mountPath": "/mnt/models"}]
    spec.setdefault("volumes", []).append({"name": "kserve-provision-location", "emptyDir": {}})
    if uri.startswith("pvc://"):
        spec["volumes"].append({"name": "kserve-pvc-source", "persistentVolumeClaim": {"claimName": claim}})
        mounts.insert(0, {"name": "kserve-pvc-source", "mountPath": "/mnt/pvc", "readOnly": True})
    user.setdefault("volumeMounts", []).append({"name": "kserve-provision-location", "mountPath": "/mnt/models",
                                                "readOnly": True})
    init = {"name": "storage-initializer", "image": config.get("image", "kserve/storage-initializer"),
            "args": [f"/mnt/pvc/{path}" if uri.startswith("pvc://") else uri, "/mnt/models"],
            "terminationMessagePolicy": "FallbackToLogsOnError", "volumeMounts": mounts,
            "resources": {"limits": {"cpu": config.get("cpuLimit", "1"), "memory": config.get("memoryLimit", "1Gi")},
                          "requests": {"cpu": config.get("cpuRequest", "100m"),
                                       "memory": config.get("memoryRequest", "100Mi")}}}
    if user.get("securityContext"):
        init["securityContext"] = copy.deepcopy(user["securityContext"])
    spec.setdefault("initContainers", []).append(init)
    return [Addition("init container storage-initializer (inferenceservice-config's image and resources, the "
                     "user container's securityContext), emptyDir kserve-provision-location",
                     f"{source}: InjectStorageInitializer")]


def _queue_proxy(spec: dict[str, Any], context: Context) -> Addition:
    """Knative's queue-proxy container of a Serverless predictor's revision."""
    config = context.configmap("config-deployment")
    requests = {"cpu": config.get("queue-sidecar-cpu-request", "25m")}
    limits = {}
    for key, resource in (("memory-request", "memory"), ("ephemeral-storage-request", "ephemeral-storage")):
        if config.get(f"queue-sidecar-{key}"):
            requests[resource] = config[f"queue-sidecar-{key}"]
    for key, resource in (("cpu-limit", "cpu"), ("memory-limit", "memory"),
                          ("ephemeral-storage-limit", "ephemeral-storage")):
        if config.get(f"queue-sidecar-{key}"):
            limits[resource] = config[f"queue-sidecar-{key}"]
    security = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]}}
    if context.train == "26.03":
        security["seccompProfile"] = {"type": "RuntimeDefault"}
    spec["containers"].append({"name": "queue-proxy", "image": config.get("queue-sidecar-image", "queue-proxy"),
                               "resources": {"requests": requests, **({"limits": limits} if limits else {})},
                               "securityContext": security,
                               "ports": [{"name": "http-queueadm", "containerPort": 8022},
                                         {"name": "http-autometric", "containerPort": 9090},
                                         {"name": "http-usermetric", "containerPort": 9091},
                                         {"name": "queue-port", "containerPort": 8012}]})
    return Addition("container queue-proxy (config-deployment's queue-sidecar-image and requests, default cpu 25m; "
                    "queueSecurityContext)", f"{KNATIVE_TAGS[context.train]} {_QUEUE}: makeQueueContainer, "
                    "createQueueResources, queueSecurityContext; pkg/deployment/config.go")


def profile(obj: dict[str, Any], context: Context) -> list[BuiltPod]:
    """The ServiceAccounts ``default-editor`` and ``default-viewer`` of a Profile's namespace.

    Not pods, but what its namespace's pods name (a Notebook's template runs as ``default-editor``):
    without them the API server refuses those pods. The profile controller creates them in the
    namespace named as the Profile (kubeflow/kubeflow v1.8.0 and v1.10.0,
    components/profile-controller/controllers/profile_controller.go: Reconcile, updateServiceAccount,
    DEFAULT_EDITOR, DEFAULT_VIEWER); its RoleBindings, AuthorizationPolicy and quota are not built.
    """
    name = obj["metadata"]["name"]
    source = f"{NOTEBOOK_TAGS[context.train]} components/profile-controller/controllers/profile_controller.go"
    return [BuiltPod(stands_for(obj), {"apiVersion": "v1", "kind": "ServiceAccount",
                                        "metadata": {"name": account, "namespace": name,
                                                     "labels": {BUILT_FROM_LABEL: "Profile.kubeflow.org"},
                                                     "annotations": {BUILT_FROM_ANNOTATION: stands_for(obj)}}},
                     [Addition(f"ServiceAccount {name}/{account}", f"{source}: updateServiceAccount, {constant}")])
            for account, constant in (("default-editor", "DEFAULT_EDITOR"), ("default-viewer", "DEFAULT_VIEWER"))]


TRAINING_OPERATOR = "kubeflow/training-operator v1.7.0"
TRAINER = "kubeflow/trainer v2.1.0"
#: The Training Operator's default image of the workers' ``init-pytorch`` container
#: (kubeflow/training-operator v1.7.0 pkg/config/config.go: PyTorchInitContainerImageDefault).
PYTORCH_INIT_IMAGE = "alpine:3.10"
_NOT_IN_ADMISSION = "it changes neither admission nor placement"


def _init_containers(template_text: str, master: str) -> list[dict[str, Any]]:
    """The operator's init containers from a template file: its Go template's three fields
    filled as ``GetInitContainer`` fills them (initcontainer.go at v1.7.0; MaxTries' default 100)."""
    text = (template_text.replace("{{.InitContainerImage}}", PYTORCH_INIT_IMAGE)
            .replace("{{.MaxTries}}", "100").replace("{{.MasterAddr}}", master))
    return list(yaml.safe_load(text) or [])


def pytorch_job(obj: dict[str, Any], context: Context) -> list[BuiltPod]:
    """The pods of a PyTorchJob (Training Operator, 1.8.1 train): one per replica of each replica type.

    kubeflow/training-operator v1.7.0: ``pkg/controller.v1/common/pod.go`` (``createNewPod``:
    the replica's template with labels ``training.kubeflow.org/job-name``, ``replica-type``,
    ``replica-index``, ``job-role: master`` on the master, named ``GenGeneralName``
    ``<job>-<type>-<index>``, restartPolicy from the replica spec, ``SetRestartPolicy``);
    ``pkg/controller.v1/pytorch/initcontainer.go`` (``setInitContainer``: a worker of a job with
    a master gets the ``init-pytorch`` container: image ``alpine:3.10`` by default, requests cpu
    50m / memory 10Mi, limits 100m / 20Mi, no securityContext). The environment
    ``setPodEnv`` adds (``pkg/controller.v1/pytorch/envvar.go``) is not built.
    """
    meta = obj.get("metadata") or {}
    name = meta["name"]
    replicas = ((obj.get("spec") or {}).get("pytorchReplicaSpecs") or {})
    source = f"{TRAINING_OPERATOR} pkg/controller.v1"
    found = []
    for rtype in sorted(replicas):
        replica = replicas[rtype] or {}
        lower = rtype.lower()
        for index in range(int(replica.get("replicas", 1))):
            template = copy.deepcopy(replica.get("template") or {})
            spec = template.get("spec") or {}
            labels = {**((template.get("metadata") or {}).get("labels") or {}),
                      "training.kubeflow.org/job-name": name, "training.kubeflow.org/replica-type": lower,
                      "training.kubeflow.org/replica-index": str(index),
                      "training.kubeflow.org/operator-name": "pytorchjob-controller"}
            adds = [Addition("labels training.kubeflow.org/job-name, replica-type, replica-index, operator-name",
                             f"{source}/common/pod.go: createNewPod, GenLabels; "
                             "pkg/apis/kubeflow.org/v1/common_types.go; pkg/controller.v1/pytorch/"
                             "pytorchjob_controller.go: controllerName")]
            if lower == "master":
                labels["training.kubeflow.org/job-role"] = "master"
                adds.append(Addition("label training.kubeflow.org/job-role: master",
                                     f"{source}/common/pod.go: createNewPod, SetJobRole"))
            policy = replica.get("restartPolicy") or "Never"
            spec["restartPolicy"] = "Never" if policy == "ExitCode" else policy
            adds.append(Addition(f"restartPolicy {spec['restartPolicy']} from the replica spec",
                                 f"{TRAINING_OPERATOR} pkg/core/pod.go: SetRestartPolicy"))
            if lower == "worker" and "Master" in replicas:
                template_text = context.configmap(training_init.CONFIG_MAP).get(training_init.TEMPLATE_FILE)
                if template_text is not None:  # the plan mounts it where the operator reads it
                    spec.setdefault("initContainers", []).extend(_init_containers(template_text, f"{name}-master-0"))
                    adds.append(Addition(
                        "init container init-pytorch from the plan's template (ConfigMap "
                        f"{training_init.CONFIG_MAP}, mounted at {training_init.TEMPLATE_DIR})",
                        f"{source}/pytorch/initcontainer.go: setInitContainer, getInitContainerTemplateOrDefault; "
                        "pkg/config/config.go: PyTorchInitContainerTemplateFileDefault"))
                else:
                    spec.setdefault("initContainers", []).append({
                        "name": "init-pytorch", "image": PYTORCH_INIT_IMAGE, "imagePullPolicy": "IfNotPresent",
                        "resources": {"limits": {"cpu": "100m", "memory": "20Mi"},
                                      "requests": {"cpu": "50m", "memory": "10Mi"}},
                        "command": ["sh", "-c", f"until nslookup {name}-master-0; do sleep 2; done"]})
                    adds.append(Addition("init container init-pytorch (alpine:3.10, cpu 50m/100m, memory 10Mi/20Mi, "
                                         "no securityContext)", f"{source}/pytorch/initcontainer.go: setInitContainer, "
                                         "initContainerTemplate; pkg/config/config.go"))
            pod_name = f"{name}-{lower}-{index}"
            adds.append(Addition(f"pod name {pod_name}", f"{TRAINING_OPERATOR} pkg/core/utils.go: GenGeneralName"))
            annotations = dict((template.get("metadata") or {}).get("annotations") or {})
            found.append(BuiltPod(stands_for(obj), _pod(obj, pod_name, labels, annotations, spec), adds,
                                  [f"the environment setPodEnv adds (MASTER_ADDR, WORLD_SIZE, RANK, ...) is not built: "
                                   f"{_NOT_IN_ADMISSION}"]))
    return found


def train_job(obj: dict[str, Any], context: Context) -> list[BuiltPod]:
    """The pods of a TrainJob (Kubeflow Trainer, 26.03 train) from the runtime it names.

    kubeflow/trainer v2.1.0: the JobSet is built from the runtime's ``template``
    (``pkg/runtime/framework/plugins/jobset/builder.go``); the torch plugin sets the trainer
    step's pod count (the replicated job labelled
    ``trainer.kubeflow.org/trainjob-ancestor-step: trainer``) to the TrainJob's
    ``trainer.numNodes`` and adds port 29500 to its ``node`` container
    (``pkg/runtime/framework/plugins/torch/torch.go``: ``EnforceMLPolicy``;
    ``pkg/constants/constants.go``: ``ContainerTrainerPort``). The JobSet and Job controllers'
    labels and pod names (``<jobset>-<job>-<index>-<pod index>-<random>``) and the ``PET_``
    environment are not built.
    """
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    ref = spec.get("runtimeRef") or {}
    runtime = next((r for r in context.training_runtimes if r["kind"] == ref.get("kind", "ClusterTrainingRuntime")
                    and r["metadata"]["name"] == ref.get("name")
                    and r["metadata"].get("namespace") in (None, meta.get("namespace"))), None)
    if runtime is None:
        raise NotExpanded(f"its runtime {ref.get('kind', 'ClusterTrainingRuntime')} {ref.get('name')} is not in "
                          "the plan")
    source = f"{TRAINER} pkg/runtime/framework/plugins/torch/torch.go: EnforceMLPolicy"
    policy = (runtime.get("spec") or {}).get("mlPolicy") or {}
    nodes = int((spec.get("trainer") or {}).get("numNodes") or policy.get("numNodes") or 1)
    found = []
    for rjob in ((((runtime.get("spec") or {}).get("template") or {}).get("spec") or {}).get("replicatedJobs") or []):
        job = (rjob.get("template") or {})
        job_labels = ((job.get("metadata") or {}).get("labels") or {})
        trainer = job_labels.get("trainer.kubeflow.org/trainjob-ancestor-step") == "trainer"
        job_spec = job.get("spec") or {}
        count = nodes if trainer and "torch" in policy else int(job_spec.get("parallelism") or 1)
        template = job_spec.get("template") or {}
        for index in range(count * int(rjob.get("replicas") or 1)):
            pod_spec = copy.deepcopy(template.get("spec") or {})
            adds = [Addition(f"the pod template of the runtime's replicated job {rjob['name']}",
                             f"{TRAINER} pkg/runtime/framework/plugins/jobset/builder.go")]
            if trainer and "torch" in policy:
                adds.append(Addition(f"{count} pods: the TrainJob's trainer.numNodes", source))
                for container in pod_spec.get("containers") or []:
                    if container.get("name") == "node" and not any(
                            p.get("containerPort") == 29500 for p in container.get("ports") or []):
                        container["ports"] = [*(container.get("ports") or []), {"containerPort": 29500}]
                        adds.append(Addition("port 29500 on the node container",
                                             f"{source}; pkg/constants/constants.go: ContainerTrainerPort"))
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            annotations = dict((template.get("metadata") or {}).get("annotations") or {})
            found.append(BuiltPod(stands_for(obj), _pod(obj, None, labels, annotations, pod_spec,
                                                        f"{meta['name']}-{rjob['name']}-0-{index}-"), adds,
                                  ["JobSet's and the Job controller's labels and the PET_ environment are not built: "
                                   f"{_NOT_IN_ADMISSION}"]))
    return found


#: ``(group, kind)`` -> the builder of its pods.
BUILDERS: dict[tuple[str, str], Callable[[dict[str, Any], Context], list[BuiltPod]]] = {
    ("kubeflow.org", "Notebook"): notebook,
    ("tensorboard.kubeflow.org", "Tensorboard"): tensorboard,
    ("serving.kserve.io", "InferenceService"): inference_service,
    ("kubeflow.org", "Profile"): profile,
    ("kubeflow.org", "PyTorchJob"): pytorch_job,
    ("trainer.kubeflow.org", "TrainJob"): train_job,
}


def group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    """``(group, kind)`` of an object."""
    api = str(obj.get("apiVersion", ""))
    return (api.split("/")[0] if "/" in api else "", str(obj.get("kind", "")))


def build_pods(objects: Iterable[dict[str, Any]]) -> tuple[list[BuiltPod], list[tuple[str, str]]]:
    """The pods of every custom resource among ``objects`` (the applied plan), and those not expanded.

    Returns:
        The built pods, and ``(Kind namespace/name, why)`` of each custom resource whose pods
        are not built: a kind in :data:`NOT_EXPANDED`, or a builder's :class:`NotExpanded`.
    """
    objects = list(objects)
    context = context_of(objects)
    pods: list[BuiltPod] = []
    skipped = []
    for obj in objects:
        key = group_kind(obj)
        if key in BUILDERS:
            try:
                pods += BUILDERS[key](obj, context)
            except NotExpanded as exc:
                skipped.append((stands_for(obj), str(exc)))
        elif key in NOT_EXPANDED:
            skipped.append((stands_for(obj), "no builder for this kind (infra/offline/verify/cr_pods.py)"))
    # What pods need (a Profile's ServiceAccounts) first, as the controllers' reconciles would have it.
    return sorted(pods, key=lambda b: b.pod["kind"] == "Pod"), skipped
