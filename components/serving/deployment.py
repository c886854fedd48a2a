"""An endpoint without KServe: a Deployment, a ClusterIP Service and a HorizontalPodAutoscaler.

The stock server of the model's format (:mod:`components.serving.runtimes`) or a custom
container serves the model from :data:`~components.serving.spec.MODEL_MOUNT_PATH`: a
read-only mount of the model's volume, or an ``emptyDir`` that an init container fills
from the artifact store (KServe's storage initializer, which reads ``gs://``, ``s3://``
and Azure Blob URIs with the pod's workload identity or the store's credentials).

The Deployment leaves ``replicas`` to the autoscaler, and its selector never contains
the model version: a new model rolls the pods, it does not replace the Deployment.
"""

from __future__ import annotations

from typing import Any

from mlplane.components import pod_security
from mlplane.components.serving import pods
from mlplane.components.serving.args import EndpointNames, ServingEndpointArgs
from mlplane.components.serving.runtimes import GRPC_PORT, HTTP_PORT, STORAGE_INITIALIZER_IMAGE, runtime_for
from mlplane.components.serving.spec import MODEL_MOUNT_PATH

MODEL_VOLUME = "model"
#: The Service's HTTP port (gRPC keeps the server's port number).
SERVICE_HTTP_PORT = 80
#: CPU utilisation the autoscaler aims for.
TARGET_CPU_UTILIZATION = 80


def server_ports(args: ServingEndpointArgs) -> dict[str, int]:
    """The server container's ports by name (``http``, and ``grpc`` where it has one)."""
    if args.container is not None:
        return {("grpc" if args.protocol == "grpc" else "http"): args.container.port}
    assert args.model is not None
    ports = {"http": HTTP_PORT}
    if runtime_for(args.model.format).grpc:
        ports["grpc"] = GRPC_PORT
    return ports


def service_ports(args: ServingEndpointArgs) -> dict[str, int]:
    """The Service's ports by name: HTTP on 80, gRPC on the server's gRPC port."""
    return {name: (SERVICE_HTTP_PORT if name == "http" else port) for name, port in server_ports(args).items()}


def _model_storage(names: EndpointNames, args: ServingEndpointArgs) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Volumes, init containers and the server's mount for the model."""
    model = args.model
    assert model is not None
    if model.volume is not None:
        volume = {"name": MODEL_VOLUME, "persistentVolumeClaim": {"claimName": model.volume.claim, "readOnly": True}}
        mount = {"name": MODEL_VOLUME, "mountPath": MODEL_MOUNT_PATH, "readOnly": True}
        if model.volume.path:
            mount["subPath"] = model.volume.path
        return [volume], [], mount
    env = [dict(e) for e in args.store.env] if args.store is not None else []
    download = pod_security.container(
        "storage-initializer", STORAGE_INITIALIZER_IMAGE, pods.INIT_RESOURCES,
        args=[args.storage_uri, MODEL_MOUNT_PATH], env=env,
        volume_mounts=[{"name": MODEL_VOLUME, "mountPath": MODEL_MOUNT_PATH}],
    )
    volume = {"name": MODEL_VOLUME, "emptyDir": {}}
    return [volume], [download], {"name": MODEL_VOLUME, "mountPath": MODEL_MOUNT_PATH, "readOnly": True}


def _server(names: EndpointNames, args: ServingEndpointArgs, mount: dict[str, Any] | None) -> dict[str, Any]:
    ports = server_ports(args)
    port_list = [{"name": name, "containerPort": port, "protocol": "TCP"} for name, port in ports.items()]
    mounts = [mount] if mount else None
    if args.container is not None:
        server = args.container
        probe_port = server.port
        return pod_security.container(
            "server", server.image, args.resources, command=server.command, args=server.args,
            env=[{"name": k, "value": v} for k, v in sorted(server.env.items())] or None,
            ports=port_list, volume_mounts=mounts,
            readiness_probe=pods.http_probe(server.readiness_path if args.protocol == "http" else None, probe_port),
        )
    assert args.model is not None
    runtime = runtime_for(args.model.format)
    image = args.runtime_image or runtime.image_for(args.placement is not None)
    return pod_security.container(
        "server", image, args.resources, command=runtime.command, args=runtime.render_args(names.name),
        ports=port_list, volume_mounts=mounts,
        readiness_probe=pods.http_probe(runtime.render_readiness_path(names.name), HTTP_PORT),
    )


def deployment_body(names: EndpointNames, args: ServingEndpointArgs) -> dict[str, Any]:
    """The Deployment that runs the model server."""
    volumes: list[dict[str, Any]] = []
    init: list[dict[str, Any]] = []
    mount = None
    if args.model is not None:
        volumes, init, mount = _model_storage(names, args)
    spec = pod_security.pod_spec(
        [_server(names, args, mount)],
        init_containers=init,
        volumes=volumes,
        service_account=args.store.service_account if args.store else None,
        placement=args.placement,
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": names.name, "namespace": names.namespace, "labels": dict(names.labels),
                     "annotations": {"pulumi.com/timeoutSeconds": str(args.ready_timeout_seconds)}},
        "spec": {
            "selector": {"matchLabels": dict(names.selector)},
            # Never fewer ready servers than wanted while a new model rolls out; but a model on
            # a claim that attaches to one node cannot have a surge pod elsewhere: stop first.
            "strategy": {"type": "Recreate"} if args.replace_pods else
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": dict(names.pod_labels)}, "spec": spec},
        },
    }


def service_body(names: EndpointNames, args: ServingEndpointArgs) -> dict[str, Any]:
    """The ClusterIP Service in front of the model server (never a LoadBalancer)."""
    targets = server_ports(args)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": names.name, "namespace": names.namespace, "labels": dict(names.labels)},
        "spec": {
            "type": "ClusterIP",
            "selector": dict(names.selector),
            "ports": [{"name": name, "port": port, "targetPort": targets[name], "protocol": "TCP",
                       "appProtocol": "grpc" if name == "grpc" else "http"}
                      for name, port in service_ports(args).items()],
        },
    }


def autoscaler_body(names: EndpointNames, args: ServingEndpointArgs) -> dict[str, Any]:
    """The HorizontalPodAutoscaler keeping the server between min and max replicas on CPU."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": names.name, "namespace": names.namespace, "labels": dict(names.labels)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": names.name},
            "minReplicas": args.replicas.min,
            "maxReplicas": args.replicas.max,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": TARGET_CPU_UTILIZATION}}}],
        },
    }
