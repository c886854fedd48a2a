"""``WebApp``: a UI container (e.g. the MNIST web UI) in front of a serving endpoint.

A Deployment and a ClusterIP Service, restricted like every mlplane pod, exposed like an
endpoint (:mod:`components.serving.exposure`). Its backend comes in by reference, as
the endpoint's outputs (:class:`~components.serving.endpoint.BackendRef`): environment
variables and the published link's query parameters are filled from them, so the app
never hard-codes a host and is created only once the endpoint is ready.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.core.naming import k8s_name
from mlplane.components.pod_security import ComputeResources
from mlplane.components import pod_security
from mlplane.components.serving import pods
from mlplane.components.serving.endpoint import BackendRef
from mlplane.components.serving.exposure import Exposure, GatewayRef, RouteTarget, declare_access, declare_route
from mlplane.components.serving.options import child_options
from mlplane.components.serving.spec import Backend, ContainerPath, DnsLabel, PinnedImage

TYPE = "mlplane:serving:WebApp"

#: Requests and limits of a web UI unless the stack says otherwise.
APP_RESOURCES = ComputeResources(cpu_request="100m", cpu_limit="500m", memory_request="256Mi", memory_limit="512Mi")


class WebAppArgs(ArgsModel):
    """Arguments of :class:`WebApp`."""

    namespace: DnsLabel = Field(description="Namespace the app runs in.")
    service_name: DnsLabel | None = Field(None, description="Kubernetes name of the Deployment and Service. "
                                                            "Default: from the component's name.")
    image: PinnedImage = Field(description="The UI's container image, pinned.")
    port: int = Field(ge=1024, le=65535, description="Port the UI listens on (unprivileged).")
    command: tuple[str, ...] = Field((), description="Entrypoint; empty keeps the image's.")
    args: tuple[str, ...] = Field((), description="Arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables.")
    resources: ComputeResources = Field(APP_RESOURCES, description="CPU and memory of the UI container.")
    replicas: int = Field(1, ge=1, le=100, description="Copies of the UI.")
    writable_paths: tuple[ContainerPath, ...] = Field(
        (), description="Folders the UI writes to, as empty scratch volumes (the pod runs as a non-root user).",
    )
    readiness_path: str | None = Field("/", description="HTTP path answering 200 when ready; none: TCP check.")
    backend: Backend | None = Field(None, description="Which endpoint outputs go where (the endpoint comes by reference).")
    gateway: GatewayRef | None = Field(None, description="The mesh's ingress gateway; None: the stack has no Istio.")
    exposure: Exposure | None = Field(None, description="External host, TLS and login; None: in-cluster only.")
    callers: tuple[DnsLabel, ...] = Field((), description="Other namespaces whose pods call the app.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on the app's objects.")

    @model_validator(mode="after")
    def _consistent(self) -> "WebAppArgs":
        if self.exposure is not None and self.gateway is None:
            raise ValueError(f"host {self.exposure.host!r} needs the Istio ingress gateway, and none is given")
        clash = sorted(set(self.env) & set(self.backend.env if self.backend else {}))
        if clash:
            raise ValueError(f"environment variables {clash} are set both in env and from the backend")
        return self


def app_labels(name: str, args: WebAppArgs) -> tuple[dict[str, str], dict[str, str]]:
    """Labels of the app's objects, and the (stable) selector of its pods."""
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "web-app"}
    return {**args.labels, **selector, "app.kubernetes.io/managed-by": "mlplane"}, selector


def _backend_value(backend: BackendRef, field: str) -> pulumi.Input[str]:
    return {"url": backend.url, "host": backend.host, "port": backend.port, "model": backend.model}[field]


def backend_env(args: WebAppArgs, backend: BackendRef | None) -> list[dict[str, Any]]:
    """The app's environment: its own values, then those filled from the backend."""
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(args.env.items())]
    if args.backend is not None:
        if backend is None:
            raise ValueError(f"the app's backend {args.backend.endpoint!r} is configured but no endpoint was passed")
        env += [{"name": k, "value": _backend_value(backend, field)} for k, field in sorted(args.backend.env.items())]
    return env


def link(base: str, args: WebAppArgs, backend: BackendRef | None) -> pulumi.Output[str]:
    """The URL to publish: ``base`` plus the backend's query parameters, if any."""
    query = dict(args.backend.link_query) if args.backend else {}
    if not query or backend is None:
        return pulumi.Output.from_input(base)
    keys = sorted(query)
    values = [_backend_value(backend, query[k]) for k in keys]
    return pulumi.Output.all(*values).apply(
        lambda resolved: base + "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in zip(keys, resolved, strict=True)))


class WebApp(pulumi.ComponentResource):
    """A web UI: Deployment and Service, exposed with TLS and (unless public) login.

    Args:
        name: Pulumi name; children are ``f"{name}-<role>"``.
        args: The app.
        opts: Resource options (provider, parent).
        backend: The serving endpoint the app talks to, by reference
            (``ServingEndpoint.reference()``); required when ``args.backend`` is set.

    Attributes:
        service_name: Kubernetes name of the Deployment and Service.
        in_cluster_url: ``http://<service>.<namespace>.svc.cluster.local``, once ready.
        external_url: The published link (``https://<host>`` plus backend query
            parameters), or None when not exposed.
    """

    def __init__(
        self,
        name: str,
        args: WebAppArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        backend: BackendRef | None = None,
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        self.service_name = service_name = args.service_name or k8s_name(name)
        labels, selector = app_labels(service_name, args)
        namespace = args.namespace

        scratch = [(f"scratch-{index}", path) for index, path in enumerate(args.writable_paths)]
        ui = pod_security.container(
            "app", args.image, args.resources, command=args.command, args=args.args,
            env=backend_env(args, backend) or None,
            ports=[{"name": "http", "containerPort": args.port, "protocol": "TCP"}],
            volume_mounts=[{"name": volume, "mountPath": path} for volume, path in scratch] or None,
            readiness_probe=pods.http_probe(args.readiness_path, args.port),
        )
        pod = pod_security.pod_spec([ui], volumes=[{"name": volume, "emptyDir": {}} for volume, _ in scratch] or None)
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": service_name, "namespace": namespace, "labels": labels},
            spec={
                "replicas": args.replicas,
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": service_name, "namespace": namespace, "labels": labels},
            spec={"type": "ClusterIP", "selector": selector,
                  "ports": [{"name": "http", "port": 80, "targetPort": args.port, "protocol": "TCP",
                             "appProtocol": "http"}]},
            opts=child,
        )
        declare_access(name, service_name, namespace, selector, gateway=args.gateway, callers=args.callers,
                       exposed=args.exposure is not None, opts=child)

        host = f"{service_name}.{namespace}.svc.cluster.local"
        self.in_cluster_url: pulumi.Output[str] = pulumi.Output.all(deployment.urn, service.urn).apply(
            lambda _: f"http://{host}")
        self.external_url: pulumi.Output[str] | None = None
        if args.exposure is not None:
            assert args.gateway is not None
            route = declare_route(name, service_name, namespace, args.exposure, args.gateway, RouteTarget(host, 80), child)
            ready = pulumi.Output.all(deployment.urn, route.virtual_service.urn)
            self.external_url = pulumi.Output.all(ready, link(args.exposure.external_url, args, backend)).apply(
                lambda parts: parts[1])

        outputs: dict[str, object] = {"name": service_name, "namespace": namespace, "in_cluster_url": self.in_cluster_url}
        if self.external_url is not None:
            outputs["external_url"] = self.external_url
        self.register_outputs(outputs)
