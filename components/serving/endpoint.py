"""``ServingEndpoint``: a model served in the cluster, reachable by URL, awaited ready.

With KServe, one ``InferenceService`` (serverless: Knative revisions, scale to zero and
canaries; raw: KServe's own Deployments); without it, a Deployment, a ClusterIP
Service and a HorizontalPodAutoscaler. Either way the endpoint is let in by its callers
only (NetworkPolicy and the mesh's ALLOW policy), and, when it has a host, exposed
through the Istio ingress gateway with a cert-manager certificate and, unless public,
the gateway's oauth2-proxy login (see :mod:`components.serving.exposure`).

Example (a pipeline's serve step)::

    endpoint = ServingEndpoint("mnist-serve", ServingEndpointArgs(
        namespace="mlplane", service_name="mnist-service",
        model=ModelSource(format="tensorflow", uri="gs://bucket/export", version=train_version),
        backend="kserve-serverless", store=store, gateway=gateway,
    ), opts=pulumi.ResourceOptions(parent=pipeline, depends_on=[train.job]))
    endpoint.in_cluster_url   # Output[str], known once the endpoint is ready
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mlplane.components.serving.args import EndpointNames, ServingEndpointArgs, endpoint_names
from mlplane.components.serving.deployment import autoscaler_body, deployment_body, service_body, service_ports
from mlplane.components.serving.exposure import RouteTarget, Serverless, declare_access, declare_route
from mlplane.components.serving.kserve import inference_service_body
from mlplane.components.serving.options import child_options

TYPE = "mlplane:serving:ServingEndpoint"


@dataclass(frozen=True)
class Address:
    """Where an endpoint answers inside the cluster (plain values, known at plan time).

    Attributes:
        host: In-cluster host name.
        port: Port of the endpoint's protocol.
        model: The name the server knows the model by (``/v1/models/<model>``).
    """

    host: str
    port: int
    model: str

    @property
    def url(self) -> str:
        """The base URL (``http://host`` on port 80, else with the port)."""
        return f"http://{self.host}" if self.port == 80 else f"http://{self.host}:{self.port}"


def in_cluster_address(names: EndpointNames, args: ServingEndpointArgs) -> Address:
    """The endpoint's in-cluster address for its backend.

    KServe serverless answers on ``<name>.<namespace>.svc.cluster.local`` (its ingress
    Service in front of Knative), raw mode on the ``<name>-predictor`` Service, plain
    Deployments on their own Service (HTTP on 80, gRPC on the server's gRPC port).
    """
    suffix = f"{names.namespace}.svc.cluster.local"
    if args.backend == "kserve-serverless":
        return Address(f"{names.name}.{suffix}", 80, names.name)
    if args.backend == "kserve-raw":
        return Address(f"{names.name}-predictor.{suffix}", 80, names.name)
    ports = service_ports(args)
    port = ports["grpc"] if args.protocol == "grpc" else ports["http"]
    return Address(f"{names.name}.{suffix}", port, names.name)


def route_target(names: EndpointNames, args: ServingEndpointArgs) -> RouteTarget:
    """Where the ingress gateway sends the endpoint's host."""
    if args.backend == "kserve-serverless":
        # Knative's local gateway routes by Host header to the predictor's revisions
        # (and splits canary traffic between them).
        return RouteTarget(args.knative_local_gateway, 80,
                           authority=f"{names.name}-predictor.{names.namespace}.svc.cluster.local")
    address = in_cluster_address(names, args)
    return RouteTarget(address.host, address.port)


@dataclass(frozen=True)
class BackendRef:
    """An endpoint as a web app refers to it: outputs, so the app waits for the endpoint.

    Attributes:
        url: In-cluster base URL.
        host: In-cluster host.
        port: In-cluster port (as a string, for environment variables).
        model: Model name.
        namespace: The endpoint's namespace (the app's namespace must be let in).
    """

    url: pulumi.Input[str]
    host: pulumi.Input[str]
    port: pulumi.Input[str]
    model: pulumi.Input[str]
    namespace: str


class ServingEndpoint(pulumi.ComponentResource):
    """A model served by KServe or by a Deployment, optionally exposed with TLS and login.

    Attributes:
        names: Kubernetes names and labels (plain values).
        address: In-cluster host, port and model name (plain values).
        in_cluster_url: In-cluster base URL, resolved once the endpoint is ready (use it as
            an input to order work after the endpoint).
        external_url: ``https://<host>`` once the route exists, or None when not exposed.
        server: The InferenceService, or the Deployment.
    """

    def __init__(self, name: str, args: ServingEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        self.names = names = endpoint_names(name, args)
        self.args = args
        self.address = address = in_cluster_address(names, args)

        ready: list[pulumi.Resource]
        if args.backend == "deployment":
            deployment = deployment_body(names, args)
            self.server = k8s.apps.v1.Deployment(
                f"{name}-deployment", metadata=deployment["metadata"], spec=deployment["spec"], opts=child)
            service = service_body(names, args)
            service_resource = k8s.core.v1.Service(
                f"{name}-service", metadata=service["metadata"], spec=service["spec"], opts=child)
            autoscaler = autoscaler_body(names, args)
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler", metadata=autoscaler["metadata"], spec=autoscaler["spec"],
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.server])))
            ready = [self.server, service_resource]
        else:
            body = inference_service_body(names, args)
            self.server = k8s.apiextensions.CustomResource(
                f"{name}-inference-service", api_version=body["apiVersion"], kind=body["kind"],
                metadata=body["metadata"], spec=body["spec"], opts=child)
            ready = [self.server]

        serverless = None
        if args.backend == "kserve-serverless" and args.gateway is not None:
            # Knative's activator and local gateway forward requests to the revisions; each keeps
            # the endpoint's callers (exposure.Serverless).
            serverless = Serverless(istio_namespace=args.gateway.namespace, knative_namespace=args.knative_namespace,
                                    activator_account=args.knative_activator_account)
        declare_access(name, names.name, names.namespace, names.selector, gateway=args.gateway,
                       callers=tuple(args.callers), exposed=args.exposure is not None, opts=child,
                       serverless=serverless)

        self.in_cluster_url: pulumi.Output[str] = _after(ready, address.url)
        self.external_url: pulumi.Output[str] | None = None
        if args.exposure is not None:
            assert args.gateway is not None  # the args' validator guarantees it
            route = declare_route(name, names.name, names.namespace, args.exposure, args.gateway,
                                  route_target(names, args), child)
            self.external_url = _after([*ready, route.virtual_service], args.exposure.external_url)

        outputs: dict[str, object] = {
            "name": names.name,
            "namespace": names.namespace,
            "backend": args.backend,
            "in_cluster_url": self.in_cluster_url,
        }
        if self.external_url is not None:
            outputs["external_url"] = self.external_url
        self.register_outputs(outputs)

    def reference(self) -> BackendRef:
        """This endpoint as a web app's backend (outputs that carry the dependency)."""
        return BackendRef(
            url=self.in_cluster_url,
            host=self.in_cluster_url.apply(lambda _: self.address.host),
            port=self.in_cluster_url.apply(lambda _: str(self.address.port)),
            model=self.in_cluster_url.apply(lambda _: self.address.model),
            namespace=self.names.namespace,
        )


def _after(resources: list[pulumi.Resource], value: str) -> pulumi.Output[str]:
    """``value`` as an output that depends on ``resources`` (consumers wait for them)."""
    return pulumi.Output.all(*[r.urn for r in resources]).apply(lambda _: value)
