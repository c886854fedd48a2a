"""The KServe ``InferenceService`` of an endpoint (serving.kserve.io/v1beta1), as a plain body.

Fields used exist in every KServe release mlplane installs (0.11 and 0.16):
``predictor.model`` with ``modelFormat`` and ``storageUri`` (or ``predictor.containers``
for a custom server), replica range, ``canaryTrafficPercent`` (serverless), the
pod-level security context, node selector and tolerations, and
``automountServiceAccountToken``. Readiness is awaited through ``pulumi.com/waitFor``:
pulumi-kubernetes does not await custom resources otherwise.
"""

from __future__ import annotations

from typing import Any

from mlplane.components.pod_security import restricted_container_security_context, restricted_pod_security_context
from mlplane.components.serving.args import EndpointNames, ServingEndpointArgs
from mlplane.components.serving.runtimes import GRPC_PORT
from mlplane.components.serving.spec import ModelServer

API_VERSION = "serving.kserve.io/v1beta1"

_MODES = {"kserve-serverless": "Serverless", "kserve-raw": "RawDeployment"}

#: Name KServe gives the model server container of a custom predictor.
KSERVE_CONTAINER = "kserve-container"


def _custom_container(server: ModelServer, args: ServingEndpointArgs) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": KSERVE_CONTAINER,
        "image": server.image,
        "ports": [{"name": "h2c" if args.protocol == "grpc" else "http1", "containerPort": server.port,
                   "protocol": "TCP"}],
    }
    if server.command:
        body["command"] = list(server.command)
    if server.args:
        body["args"] = list(server.args)
    if server.env:
        body["env"] = [{"name": k, "value": v} for k, v in sorted(server.env.items())]
    if server.readiness_path:
        body["readinessProbe"] = {"httpGet": {"path": server.readiness_path, "port": server.port}}
    return body


def inference_service_body(names: EndpointNames, args: ServingEndpointArgs) -> dict[str, Any]:
    """The InferenceService of an endpoint served by KServe.

    Args:
        names: The endpoint's names and labels.
        args: The endpoint's args (``backend`` is a KServe mode).

    Returns:
        The object as a dict, ready for ``CustomResource``.
    """
    if args.model is not None:
        server: dict[str, Any] = {
            "modelFormat": {"name": args.model.format},
            "storageUri": args.storage_uri,
        }
        if args.runtime_version:
            server["runtimeVersion"] = args.runtime_version
        if args.protocol == "grpc":
            # One port per Knative service: gRPC (h2c) instead of REST.
            server["ports"] = [{"name": "h2c", "containerPort": GRPC_PORT, "protocol": "TCP"}]
    else:
        assert args.container is not None
        server = _custom_container(args.container, args)
    server["securityContext"] = restricted_container_security_context()
    server["resources"] = args.resources.to_k8s()

    pod: dict[str, Any] = {"containers": [server]}
    if args.placement is not None:
        # The scheduling contract injects limits, node selector and tolerations.
        pod = args.placement.apply_to_pod_spec(pod)
    server = pod["containers"][0]

    predictor: dict[str, Any] = {
        "minReplicas": args.replicas.min,
        "maxReplicas": args.replicas.max,
        "securityContext": restricted_pod_security_context(),
        "automountServiceAccountToken": False,
        "labels": dict(names.pod_labels),
    }
    if args.model is not None:
        predictor["model"] = server
    else:
        predictor["containers"] = [server]
    if args.canary_percent is not None:
        predictor["canaryTrafficPercent"] = args.canary_percent
    if args.store is not None and args.store.service_account:
        predictor["serviceAccountName"] = args.store.service_account
    for key in ("nodeSelector", "tolerations"):
        if key in pod:
            predictor[key] = pod[key]
    if args.replace_pods and args.backend == "kserve-raw":
        # KServe 0.16 hands the predictor's deploymentStrategy to the Deployment it makes
        # (kserve/kserve v0.16.0 pkg/apis/serving/v1beta1/component.go: DeploymentStrategy;
        # reconcilers/deployment/deployment_reconciler.go); 0.11.2 has no such field and always
        # surges (setDefaultDeploymentSpec: maxSurge 25%), so release 1.8.1 is refused at load.
        predictor["deploymentStrategy"] = {"type": "Recreate"}
    if args.backend == "kserve-raw":
        # KServe makes an HPA in raw mode; scale on CPU like mlplane's own Deployments.
        predictor["scaleMetric"] = "cpu"
        predictor["scaleTarget"] = 80

    annotations = {
        "pulumi.com/waitFor": "condition=Ready",
        "pulumi.com/timeoutSeconds": str(args.ready_timeout_seconds),
        "serving.kserve.io/deploymentMode": _MODES[args.backend],
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": {"name": names.name, "namespace": names.namespace, "labels": dict(names.labels),
                     "annotations": annotations},
        "spec": {"predictor": predictor},
    }
