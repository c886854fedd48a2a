"""Arguments of :class:`~components.serving.endpoint.ServingEndpoint`, with the facts they resolve.

The stack file says what to serve (:mod:`infra.config.serving`); the serving layer adds
what the platform and capacity layers know (KServe's mode, the ingress gateway, the
issuer, the login provider, the artifact store, the accelerator placement) and passes
plain args. A pipeline step builds the same args by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.core.naming import k8s_name
from mlplane.components.pod_security import ComputeResources
from mlplane.components.scheduling import Placement
from mlplane.components.serving.checks import backend_issues, derived_name_issues, store_issue
from mlplane.components.serving.exposure import Exposure, GatewayRef
from mlplane.components.serving.runtimes import runtime_for
from mlplane.components.serving.spec import (
    MODEL_VERSION_LABEL,
    DnsLabel,
    ModelServer,
    ModelSource,
    PinnedImage,
    Protocol,
    Replicas,
    ServingBackend,
    model_or_container_problem,
    uri_scheme,
)

#: Longest endpoint name; the names KServe derives with the namespace are checked on top
#: (components.serving.checks.derived_name_issues).
MAX_NAME = 40

#: Requests and limits of a model server unless the stack says otherwise.
SERVER_RESOURCES = ComputeResources(cpu_request="500m", cpu_limit="2", memory_request="1Gi", memory_limit="2Gi")


class ModelStore(ArgsModel):
    """How model servers read the artifact store (mapped from the capacity layer's facts)."""

    scheme: str = Field(description="URI scheme of the store's paths: gs, s3, az, ...", min_length=1)
    service_account: DnsLabel | None = Field(
        None,
        description="ServiceAccount with access to the store (workload identity, IRSA, or KServe's credential "
                    "secrets); the pod runs as it, without an API token.",
    )
    env: tuple[dict[str, Any], ...] = Field(
        (), description="Environment (Kubernetes EnvVar objects) pointing the model download at the store."
    )
    pod_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels the pods need (e.g. Azure workload identity's opt-in)."
    )
    blob_endpoint: str | None = Field(
        None,
        description="https:// endpoint that az:// paths are read through (Azure Blob: the account's endpoint).",
    )

    def download_uri(self, uri: str) -> str:
        """The URI KServe's storage initializer reads: ``az://c/p`` becomes ``https://<account>/c/p``."""
        if self.blob_endpoint and uri_scheme(uri) == "az":
            return f"{self.blob_endpoint.rstrip('/')}/{uri.split('://', 1)[1]}"
        return uri


class ServingEndpointArgs(ArgsModel):
    """Arguments of :class:`~components.serving.endpoint.ServingEndpoint`."""

    namespace: DnsLabel = Field(description="Namespace the endpoint runs in.")
    service_name: DnsLabel | None = Field(
        None,
        max_length=MAX_NAME,
        description="Kubernetes name of the InferenceService or Deployment and Service. Default: from the "
                    "component's name.",
    )
    model: ModelSource | None = Field(None, description="The model to serve with the stock server of its format.")
    container: ModelServer | None = Field(None, description="A custom model server instead of a model.")
    protocol: Protocol = Field("http", description="http (REST) or grpc.")
    backend: ServingBackend = Field(
        "deployment", description="kserve-serverless, kserve-raw, or deployment (no KServe)."
    )
    resources: ComputeResources = Field(SERVER_RESOURCES, description="CPU and memory of the model server.")
    placement: Placement | None = Field(
        None, description="Accelerators, resolved through components.scheduling.place(); None: CPU only."
    )
    replicas: Replicas = Field(default_factory=Replicas, description="Replica range of the autoscaler.")
    replace_pods: bool = Field(
        False, description="Stop the old pod before starting its replacement (Deployment strategy Recreate): the "
                           "model is on a claim that attaches to one node, where a surge pod on another node waits on "
                           "Multi-Attach forever. One replica only (refused otherwise at load).")
    canary_percent: int | None = Field(
        None, ge=0, le=100,
        description="Percent of traffic the newest revision gets after a change (KServe serverless only).",
    )
    runtime_image: PinnedImage | None = Field(
        None, description="Another pinned image of the stock server (plain Deployments only)."
    )
    runtime_version: str | None = Field(
        None, min_length=1,
        description="KServe's runtimeVersion: the tag of the serving runtime's image (e.g. 2.6.2-gpu for "
                    "TF Serving on GPUs). KServe only.",
    )
    store: ModelStore | None = Field(None, description="The artifact store a model URI is read from.")
    gateway: GatewayRef | None = Field(None, description="The mesh's ingress gateway; None: the stack has no Istio.")
    exposure: Exposure | None = Field(None, description="External host, TLS and login; None: in-cluster only.")
    callers: tuple[DnsLabel, ...] = Field((), description="Other namespaces whose pods call the endpoint.")
    knative_namespace: DnsLabel = Field("knative-serving", description="Namespace of Knative's activator.")
    knative_activator_account: DnsLabel = Field(
        "activator", description="ServiceAccount of Knative's activator (its mesh identity; per Knative release).")
    knative_local_gateway: str = Field(
        "knative-local-gateway.istio-system.svc.cluster.local",
        description="In-cluster gateway that routes to Knative services by Host header.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels on the endpoint's objects.")
    ready_timeout_seconds: int = Field(
        900, ge=60, description="How long `pulumi up` waits for the endpoint to be ready (model download, GPU nodes)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "ServingEndpointArgs":
        problems = [p for p in [model_or_container_problem(self.model, self.container)] if p]
        problems += [str(issue) for issue in backend_issues(self.backend, self.replicas, self.canary_percent)]
        if self.service_name is not None:
            problems += [str(i) for i in derived_name_issues(self.service_name, self.namespace, self.backend)]
        issue = store_issue(self.model, self.store.scheme if self.store else None)
        if issue is not None:
            problems.append(str(issue))
        grpc = grpc_problem(self.model, self.container, self.protocol)
        if grpc:
            problems.append(grpc)
        if self.runtime_image and self.backend != "deployment":
            problems.append("runtime_image applies to plain Deployments only; KServe picks its serving runtime")
        if self.runtime_version and (self.backend == "deployment" or self.model is None):
            problems.append("runtime_version picks a KServe serving runtime's image; use runtime_image without "
                            "KServe, and the image of a custom container")
        if self.runtime_image and self.model is None:
            problems.append("runtime_image replaces the stock server of a model; a custom container has its own image")
        if self.exposure is not None and self.gateway is None:
            problems.append(f"host {self.exposure.host!r} needs the Istio ingress gateway, and none is given")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def storage_uri(self) -> str:
        """Where the model is read from: KServe's ``storageUri`` (``pvc://`` for volumes)."""
        assert self.model is not None
        uri = self.model.storage_uri
        return self.store.download_uri(uri) if self.store is not None and self.model.uri else uri


def grpc_problem(model: ModelSource | None, container: ModelServer | None, protocol: str) -> str | None:
    """gRPC needs a server with a gRPC API: TF Serving, Triton (onnx, xgboost) or a custom one."""
    if protocol != "grpc" or model is None or runtime_for(model.format).grpc:
        return None
    return (f"protocol grpc needs a server with a gRPC API, and {runtime_for(model.format).server} "
            f"({model.format}) has none; use protocol http")


@dataclass(frozen=True)
class EndpointNames:
    """The Kubernetes names and labels of one endpoint.

    Attributes:
        name: Kubernetes name of the InferenceService, or of the Deployment and Service.
        namespace: Its namespace.
        labels: Labels on every object and pod.
        pod_labels: Labels on the pods only (``labels`` plus what the artifact store needs).
        selector: Labels that select the server's pods (never the model version, so a
            new model rolls the pods instead of replacing the Deployment).
    """

    name: str
    namespace: str
    labels: dict[str, str]
    pod_labels: dict[str, str]
    selector: dict[str, str]


def endpoint_names(component_name: str, args: ServingEndpointArgs) -> EndpointNames:
    """Names and labels of an endpoint from its component name and args."""
    name = args.service_name or k8s_name(component_name, max_length=MAX_NAME)
    if not name[0].isalpha():
        # KServe requires DNS-1035 names (a letter first).
        name = k8s_name("m", name, max_length=MAX_NAME)
    labels: dict[str, Any] = {
        **args.labels,
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/managed-by": "mlplane",
    }
    if args.model is not None and args.model.version:
        labels[MODEL_VERSION_LABEL] = args.model.version
    if args.backend == "deployment":
        selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "model-server"}
    else:
        selector = {"serving.kserve.io/inferenceservice": name}
    pod_labels = {**(args.store.pod_labels if args.store else {}), **labels}
    return EndpointNames(name=name, namespace=args.namespace, labels=labels, pod_labels=pod_labels,
                         selector=selector)
