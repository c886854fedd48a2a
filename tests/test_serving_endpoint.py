"""``ServingEndpoint``: KServe and Deployment variants, accelerators, exposure, security defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from pydantic import ValidationError

from mlplane.components.scheduling import AcceleratorRequest, Placement, PoolScheduling, place
from mlplane.components.serving import (
    Exposure,
    GatewayRef,
    IssuerRef,
    ModelServer,
    ModelSource,
    ModelStore,
    ModelVolume,
    Replicas,
    ServingEndpoint,
    ServingEndpointArgs,
)
from mlplane.components.serving.exposure import LoginRoute
from mlplane.infra.offline.plan import Plan, PlanResource

from .crds import strict_schema
from .test_manifests import KUBERNETES_VERSION

Record = Callable[..., Plan]

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
POLICY = "kubernetes:security.istio.io/v1beta1:AuthorizationPolicy"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
GATEWAY = "kubernetes:networking.istio.io/v1beta1:Gateway"
VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1beta1:VirtualService"

GW = GatewayRef()
GCS = ModelStore(scheme="gs", service_account="mlplane-artifacts")
L4 = PoolScheduling(
    name="l4-mps", vendor="nvidia", model="l4", resource_name="nvidia.com/gpu",
    node_selector={"cloud.google.com/gke-accelerator": "nvidia-l4", "cloud.google.com/gke-gpu-sharing-strategy": "mps"},
    tolerations=({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},),
    accelerators_per_node=1, per_node=4, max_per_container=1, sharing="mps", backend="gke",
)


def private(host: str = "mnist.ml.example.com") -> Exposure:
    return Exposure(host=host, issuer=IssuerRef(name="mlplane-ingress"), auth_provider="oauth2-proxy",
                    login_routes=(LoginRoute(prefix="/oauth2/", host="oauth2-proxy.oauth2-proxy.svc.cluster.local",
                                             port=80),))


def endpoint_args(**overrides: Any) -> ServingEndpointArgs:
    fields: dict[str, Any] = {
        "namespace": "ml",
        "model": ModelSource(format="tensorflow", uri="gs://bucket/models/mnist", version="v1"),
        "backend": "kserve-serverless",
        "store": GCS,
        "gateway": GW,
    }
    fields.update(overrides)
    return ServingEndpointArgs(**fields)


def render(record: Record, args: ServingEndpointArgs, name: str = "mnist") -> Plan:
    return record(lambda: ServingEndpoint(name, args))


def valid(resource: PlanResource) -> None:
    """The object is valid Kubernetes, or valid against its vendored upstream CRD schema."""
    body = resource.inputs
    schema = strict_schema(body["apiVersion"], body["kind"])
    if "." in body["apiVersion"].split("/")[0] and not body["apiVersion"].startswith(("networking.k8s.io",
                                                                                       "autoscaling")):
        assert schema is not None, f"no vendored schema for {body['apiVersion']} {body['kind']}"
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(body)]
        assert errors == [], resource.urn
    else:
        kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)


def objects(plan: Plan) -> list[PlanResource]:
    return [r for r in plan if r.is_kubernetes_object]


@pytest.mark.parametrize("backend", ["kserve-serverless", "kserve-raw", "deployment"])
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_every_variant_is_valid(record: Record, backend: str, protocol: str) -> None:
    replicas = Replicas(min=0 if backend == "kserve-serverless" else 1, max=3)
    plan = render(record, endpoint_args(backend=backend, protocol=protocol, replicas=replicas, exposure=private()))
    made = objects(plan)
    assert made
    for resource in made:
        valid(resource)


def test_custom_container_variants_are_valid(record: Record) -> None:
    server = ModelServer(image="ghcr.io/acme/scorer:1.4.2", args=("--port", "8500"), port=8500,
                         env={"MODE": "fast"}, readiness_path="/ready")
    for backend in ("kserve-serverless", "deployment"):
        plan = render(record, endpoint_args(model=None, container=server, store=None, backend=backend))
        for resource in objects(plan):
            valid(resource)
    isvc = render(record, endpoint_args(model=None, container=server, store=None)).of_type(ISVC)[0]
    container = isvc.inputs["spec"]["predictor"]["containers"][0]
    assert (container["image"], container["ports"][0]["containerPort"]) == ("ghcr.io/acme/scorer:1.4.2", 8500)
    assert "model" not in isvc.inputs["spec"]["predictor"]


def test_inference_service_waits_for_ready_and_carries_the_model(record: Record) -> None:
    plan = render(record, endpoint_args(canary_percent=10, replicas=Replicas(min=0, max=4)))
    isvc = plan.named("mnist-inference-service")
    assert isvc.type == ISVC
    metadata, predictor = isvc.inputs["metadata"], isvc.inputs["spec"]["predictor"]
    assert metadata["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    assert metadata["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"
    assert metadata["labels"]["mlplane.dev/model-version"] == "v1"
    assert predictor["model"]["modelFormat"] == {"name": "tensorflow"}
    assert predictor["model"]["storageUri"] == "gs://bucket/models/mnist"
    assert (predictor["minReplicas"], predictor["maxReplicas"], predictor["canaryTrafficPercent"]) == (0, 4, 10)
    assert predictor["serviceAccountName"] == "mlplane-artifacts"
    assert not plan.of_type(DEPLOYMENT)


def test_raw_mode_scales_on_cpu_without_canary(record: Record) -> None:
    isvc = render(record, endpoint_args(backend="kserve-raw")).named("mnist-inference-service")
    assert isvc.inputs["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    assert "canaryTrafficPercent" not in isvc.inputs["spec"]["predictor"]


def test_model_on_a_volume(record: Record) -> None:
    volume = ModelSource(format="tensorflow", volume=ModelVolume(claim="models", path="mnist/export"))
    isvc = render(record, endpoint_args(model=volume, store=None)).named("mnist-inference-service")
    assert isvc.inputs["spec"]["predictor"]["model"]["storageUri"] == "pvc://models/mnist/export"
    plan = render(record, endpoint_args(model=volume, store=None, backend="deployment"))
    pod = plan.named("mnist-deployment").inputs["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "model", "persistentVolumeClaim": {"claimName": "models", "readOnly": True}}]
    mount = pod["containers"][0]["volumeMounts"][0]
    assert (mount["mountPath"], mount["subPath"], mount["readOnly"]) == ("/mnt/models", "mnist/export", True)
    assert "initContainers" not in pod


def test_deployment_variant_downloads_the_model_and_autoscales(record: Record) -> None:
    store = ModelStore(scheme="s3", service_account="mlplane-artifacts", env=(
        {"name": "AWS_ENDPOINT_URL_S3", "value": "http://minio.storage:9000"},
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "keys", "key": "AWS_ACCESS_KEY_ID"}}},
    ))
    args = endpoint_args(backend="deployment", model=ModelSource(format="tensorflow", uri="s3://artifacts/mnist"),
                         store=store, replicas=Replicas(min=2, max=5))
    plan = render(record, args)
    deployment, service, hpa = plan.named("mnist-deployment"), plan.named("mnist-service"), plan.named("mnist-autoscaler")
    pod = deployment.inputs["spec"]["template"]["spec"]
    download = pod["initContainers"][0]
    assert download["args"] == ["s3://artifacts/mnist", "/mnt/models"]
    assert download["env"] == list(store.env)
    server = pod["containers"][0]
    assert server["image"] == "tensorflow/serving:2.14.1"
    assert "--model_name=mnist" in server["args"] and "--model_base_path=/mnt/models" in server["args"]
    assert pod["serviceAccountName"] == "mlplane-artifacts"
    # The autoscaler owns the replica count; the selector never holds the model version.
    assert "replicas" not in deployment.inputs["spec"]
    assert "mlplane.dev/model-version" not in deployment.inputs["spec"]["selector"]["matchLabels"]
    assert (hpa.inputs["spec"]["minReplicas"], hpa.inputs["spec"]["maxReplicas"]) == (2, 5)
    assert hpa.inputs["spec"]["scaleTargetRef"]["name"] == deployment.inputs["metadata"]["name"]
    assert deployment.urn in hpa.dependencies
    assert service.inputs["spec"]["type"] == "ClusterIP"
    assert {p["name"]: p["port"] for p in service.inputs["spec"]["ports"]} == {"http": 80, "grpc": 9000}


def test_azure_paths_are_read_through_the_account_endpoint(record: Record) -> None:
    store = ModelStore(scheme="az", service_account="mlplane-artifacts", pod_labels={"azure.workload.identity/use": "true"},
                       blob_endpoint="https://acme.blob.core.windows.net")
    args = endpoint_args(model=ModelSource(format="sklearn", uri="az://models/iris"), store=store)
    isvc = render(record, args).named("mnist-inference-service")
    predictor = isvc.inputs["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == "https://acme.blob.core.windows.net/models/iris"
    assert predictor["labels"]["azure.workload.identity/use"] == "true"


def test_every_pod_is_restricted_sized_pinned_and_tokenless(record: Record) -> None:
    plan = render(record, endpoint_args(backend="deployment"))
    pod = plan.named("mnist-deployment").inputs["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"] + pod["initContainers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
        assert set(container["resources"]) == {"requests", "limits"}
        assert ":" in container["image"].rsplit("/", 1)[-1] and not container["image"].endswith(":latest")
    predictor = render(record, endpoint_args()).named("mnist-inference-service").inputs["spec"]["predictor"]
    assert predictor["automountServiceAccountToken"] is False
    assert predictor["securityContext"]["runAsNonRoot"] is True
    assert predictor["model"]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_unpinned_images_are_refused() -> None:
    with pytest.raises(ValidationError, match="latest"):
        ModelServer(image="ghcr.io/acme/scorer:latest")
    with pytest.raises(ValidationError, match="has no tag"):
        endpoint_args(backend="deployment", runtime_image="tensorflow/serving")


@pytest.mark.parametrize("backend", ["kserve-serverless", "kserve-raw", "deployment"])
def test_accelerators_come_from_the_pool(record: Record, backend: str) -> None:
    placement = place(AcceleratorRequest(pool="l4-mps"), [L4], stack="gke")
    plan = render(record, endpoint_args(backend=backend, placement=placement))
    if backend == "deployment":
        pod = plan.named("mnist-deployment").inputs["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["image"] == "tensorflow/serving:2.14.1-gpu"
    else:
        pod = plan.named("mnist-inference-service").inputs["spec"]["predictor"]
        container = pod["model"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert pod["nodeSelector"] == L4.node_selector
    assert pod["tolerations"] == [dict(t) for t in L4.tolerations]


def test_cpu_endpoints_have_no_accelerator_traces(record: Record) -> None:
    plan = render(record, endpoint_args(backend="deployment"))
    pod = plan.named("mnist-deployment").inputs["spec"]["template"]["spec"]
    assert "nodeSelector" not in pod and "tolerations" not in pod
    assert set(pod["containers"][0]["resources"]["limits"]) == {"cpu", "memory"}


def test_private_endpoint_gets_route_certificate_and_login(record: Record) -> None:
    plan = render(record, endpoint_args(exposure=private()))
    certificate = plan.of_type(CERTIFICATE)[0].inputs
    assert certificate["metadata"]["namespace"] == GW.namespace
    assert certificate["spec"]["dnsNames"] == ["mnist.ml.example.com"]
    assert certificate["spec"]["issuerRef"]["name"] == "mlplane-ingress"
    assert certificate["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    gateway = plan.of_type(GATEWAY)[0].inputs
    server = gateway["spec"]["servers"][0]
    assert server["tls"]["credentialName"] == certificate["spec"]["secretName"]
    assert server["hosts"] == ["mnist.ml.example.com"] and server["port"]["number"] == 443
    route = plan.of_type(VIRTUAL_SERVICE)[0].inputs["spec"]
    assert route["gateways"] == [f"ml/{gateway['metadata']['name']}"]
    # Knative's local gateway routes by Host header to the predictor's revisions.
    main = route["http"][-1]
    assert main["route"][0]["destination"]["host"] == "knative-local-gateway.istio-system.svc.cluster.local"
    assert main["rewrite"] == {"authority": "mnist-predictor.ml.svc.cluster.local"}
    assert route["http"][0]["match"] == [{"uri": {"prefix": "/oauth2/"}}]
    login = [p.inputs for p in plan.of_type(POLICY) if p.inputs["spec"].get("action") == "CUSTOM"]
    assert len(login) == 1
    assert login[0]["metadata"]["namespace"] == GW.namespace
    assert login[0]["spec"]["provider"] == {"name": "oauth2-proxy"}
    operation = login[0]["spec"]["rules"][0]["to"][0]["operation"]
    assert "mnist.ml.example.com" in operation["hosts"] and operation["notPaths"] == ["/oauth2/*"]
    assert login[0]["spec"]["selector"]["matchLabels"] == GW.selector
    external = [r for r in plan if r.type == VIRTUAL_SERVICE]
    assert plan.named("mnist-gateway").urn in external[0].dependencies
    assert plan.named("mnist-login").urn in plan.named("mnist-gateway").dependencies


def test_public_endpoint_has_route_and_certificate_but_no_login(record: Record) -> None:
    public = Exposure(host="mnist.ml.example.com", public=True, issuer=IssuerRef(name="mlplane-ingress"),
                      login_routes=private().login_routes)
    plan = render(record, endpoint_args(exposure=public))
    assert len(plan.of_type(CERTIFICATE)) == 1 and len(plan.of_type(GATEWAY)) == 1
    assert [p for p in plan.of_type(POLICY) if p.inputs["spec"].get("action") == "CUSTOM"] == []
    http = plan.of_type(VIRTUAL_SERVICE)[0].inputs["spec"]["http"]
    assert len(http) == 1 and "match" not in http[0]


def test_in_cluster_endpoint_is_not_exposed(record: Record) -> None:
    plan = render(record, endpoint_args(backend="deployment"))
    kinds = {r.type for r in objects(plan)}
    assert kinds.isdisjoint({CERTIFICATE, GATEWAY, VIRTUAL_SERVICE})
    assert all(r.inputs["spec"].get("type") != "LoadBalancer" for r in plan.of_type(SERVICE))
    assert [p.inputs["spec"]["action"] for p in plan.of_type(POLICY)] == ["ALLOW"]


def test_private_host_without_a_login_provider_is_refused() -> None:
    with pytest.raises(ValidationError, match="requires login"):
        Exposure(host="mnist.ml.example.com", issuer=IssuerRef(name="x"))


def test_callers_are_let_in(record: Record) -> None:
    plan = render(record, endpoint_args(callers=("team-a",), exposure=private()))
    network = plan.named("mnist-callers").inputs["spec"]
    allowed = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in network["ingress"][0]["from"]}
    # The gateway, Knative's activator and the caller's namespace.
    assert allowed == {"istio-system", "knative-serving", "team-a"}
    assert network["podSelector"]["matchLabels"] == {"serving.kserve.io/inferenceservice": "mnist"}
    allow = plan.named("mnist-allow").inputs["spec"]
    assert {"from": [{"source": {"principals": [GW.principal]}}]} in allow["rules"]


def test_without_istio_there_are_no_mesh_objects(record: Record) -> None:
    plan = render(record, endpoint_args(gateway=None, backend="deployment"))
    assert not [r for r in plan if "istio.io" in r.type]
    with pytest.raises(ValidationError, match="needs the Istio ingress gateway"):
        endpoint_args(gateway=None, exposure=private())


@pytest.mark.parametrize("backend", ["kserve-raw", "deployment"])
def test_scale_to_zero_and_canary_need_serverless(backend: str) -> None:
    with pytest.raises(ValidationError, match="scale to zero needs KServe in serverless mode"):
        endpoint_args(backend=backend, replicas=Replicas(min=0, max=2))
    with pytest.raises(ValidationError, match="a canary needs KServe in serverless mode"):
        endpoint_args(backend=backend, canary_percent=20)


def test_model_uri_must_match_the_store() -> None:
    with pytest.raises(ValidationError, match="scheme 's3' does not match the stack's artifact store \\(gs://\\)"):
        endpoint_args(model=ModelSource(format="onnx", uri="s3://bucket/model"))
    with pytest.raises(ValidationError, match="no artifact store"):
        endpoint_args(store=None)


def test_outputs_are_urls_that_wait_for_the_endpoint(record: Record) -> None:
    captured: dict[str, Any] = {}

    def program() -> None:
        endpoint = ServingEndpoint("mnist", endpoint_args(exposure=private()))
        captured["endpoint"] = endpoint
        # A consumer of the URL depends on the endpoint's readiness-awaited objects.
        import pulumi_kubernetes as k8s

        k8s.core.v1.ConfigMap("consumer", metadata={"name": "consumer", "namespace": "ml"},
                              data={"url": endpoint.in_cluster_url, "external": endpoint.external_url})

    plan = record(program)
    endpoint = captured["endpoint"]
    assert endpoint.address.url == "http://mnist.ml.svc.cluster.local"
    consumer = plan.named("consumer")
    assert consumer.inputs["data"] == {"url": "http://mnist.ml.svc.cluster.local",
                                       "external": "https://mnist.ml.example.com"}
    assert plan.named("mnist-inference-service").urn in consumer.dependencies
    assert plan.named("mnist-route").urn in consumer.dependencies


def test_addresses_per_backend() -> None:
    from mlplane.components.serving.args import endpoint_names
    from mlplane.components.serving.endpoint import in_cluster_address

    def address(**overrides: Any) -> str:
        args = endpoint_args(**overrides)
        return in_cluster_address(endpoint_names("mnist", args), args).url

    assert address() == "http://mnist.ml.svc.cluster.local"
    assert address(backend="kserve-raw") == "http://mnist-predictor.ml.svc.cluster.local"
    assert address(backend="deployment") == "http://mnist.ml.svc.cluster.local"
    assert address(backend="deployment", protocol="grpc") == "http://mnist.ml.svc.cluster.local:9000"


def test_names_are_dns_1035_and_bounded(record: Record) -> None:
    plan = render(record, endpoint_args(), name="7-" + "very-long-endpoint-name-" * 4)
    name = plan.of_type(ISVC)[0].inputs["metadata"]["name"]
    assert name[0].isalpha() and len(name) <= 40


def test_placement_type_is_the_scheduling_contract() -> None:
    args = endpoint_args(placement=Placement(pool="l4-mps", resource_name="nvidia.com/gpu", count=1))
    assert isinstance(args.placement, Placement)


def test_runtime_version_picks_kserves_image_tag(record: Record) -> None:
    isvc = render(record, endpoint_args(runtime_version="2.6.2-gpu")).named("mnist-inference-service")
    assert isvc.inputs["spec"]["predictor"]["model"]["runtimeVersion"] == "2.6.2-gpu"
    with pytest.raises(ValidationError, match="runtime_version picks a KServe serving runtime's image"):
        endpoint_args(backend="deployment", runtime_version="2.6.2-gpu")
