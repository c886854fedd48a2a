"""``WebApp``: a UI wired to its endpoint by reference, restricted, exposed with TLS and login."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from mlplane.components.serving import Backend, ServingEndpoint, WebApp, WebAppArgs
from mlplane.infra.offline.plan import Plan

from .test_serving_endpoint import GW, endpoint_args, objects, private, valid

Record = Callable[..., Plan]

MNIST_UI = "gcr.io/kubeflow-examples/mnist/web-ui:v20190304-v0.2-176-g15d997b-pipelines"


def app_args(**overrides: Any) -> WebAppArgs:
    fields: dict[str, Any] = {"namespace": "ml", "image": MNIST_UI, "port": 5000, "gateway": GW}
    fields.update(overrides)
    return WebAppArgs(**fields)


def env_of(plan: Plan, name: str) -> dict[str, Any]:
    container = plan.named(name).inputs["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container.get("env", [])}


@pytest.mark.parametrize("backend", ["kserve-serverless", "deployment"])
def test_backend_is_wired_by_reference(record: Record, backend: str) -> None:
    def program() -> None:
        endpoint = ServingEndpoint("mnist", endpoint_args(backend=backend, service_name="mnist-service"))
        WebApp("ui", app_args(backend=Backend(endpoint="mnist")), backend=endpoint.reference())

    plan = record(program)
    env = env_of(plan, "ui-deployment")
    assert env == {
        "MODEL_SERVER_URL": "http://mnist-service.ml.svc.cluster.local",
        "MODEL_SERVER_HOST": "mnist-service.ml.svc.cluster.local",
        "MODEL_SERVER_PORT": "80",
        "MODEL_NAME": "mnist-service",
    }
    # The app is made only once the endpoint is ready (the values are its outputs).
    server = plan.named("mnist-inference-service" if backend != "deployment" else "mnist-deployment")
    assert server.urn in plan.named("ui-deployment").dependencies


def test_a_changed_endpoint_changes_what_the_app_gets(record: Record) -> None:
    def program(service_name: str) -> Callable[[], None]:
        def run() -> None:
            endpoint = ServingEndpoint("mnist", endpoint_args(service_name=service_name))
            WebApp("ui", app_args(backend=Backend(endpoint="mnist")), backend=endpoint.reference())
        return run

    assert env_of(record(program("mnist-a")), "ui-deployment")["MODEL_SERVER_HOST"] == "mnist-a.ml.svc.cluster.local"
    assert env_of(record(program("mnist-b")), "ui-deployment")["MODEL_SERVER_HOST"] == "mnist-b.ml.svc.cluster.local"


def test_published_link_carries_the_backend(record: Record) -> None:
    captured: dict[str, Any] = {}

    def program() -> None:
        endpoint = ServingEndpoint("mnist", endpoint_args(backend="deployment", protocol="grpc"))
        app = WebApp("ui", app_args(
            backend=Backend(endpoint="mnist", env={}, link_query={"name": "model", "addr": "host", "port": "port"}),
            exposure=private("mnist-ui.ml.example.com"),
        ), backend=endpoint.reference())
        import pulumi_kubernetes as k8s

        k8s.core.v1.ConfigMap("link", metadata={"name": "link", "namespace": "ml"}, data={"url": app.external_url})
        captured["app"] = app

    plan = record(program)
    assert plan.named("link").inputs["data"]["url"] == (
        "https://mnist-ui.ml.example.com?addr=mnist.ml.svc.cluster.local&name=mnist&port=9000")
    assert plan.named("ui-route").urn in plan.named("link").dependencies
    assert env_of(plan, "ui-deployment") == {}


def test_app_is_restricted_and_valid(record: Record) -> None:
    plan = record(lambda: WebApp("ui", app_args(exposure=private("mnist-ui.ml.example.com"))))
    for resource in objects(plan):
        valid(resource)
    pod = plan.named("ui-deployment").inputs["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["image"] == MNIST_UI
    assert container["ports"] == [{"name": "http", "containerPort": 5000, "protocol": "TCP"}]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert set(container["resources"]) == {"requests", "limits"}
    service = plan.named("ui-service").inputs["spec"]
    assert service["type"] == "ClusterIP" and service["ports"][0]["targetPort"] == 5000


def test_private_app_requires_login_and_public_app_does_not(record: Record) -> None:
    private_plan = record(lambda: WebApp("ui", app_args(exposure=private("mnist-ui.ml.example.com"))))
    customs = [r.inputs for r in private_plan.of_type("kubernetes:security.istio.io/v1beta1:AuthorizationPolicy")
               if r.inputs["spec"]["action"] == "CUSTOM"]
    assert len(customs) == 1
    assert "mnist-ui.ml.example.com" in customs[0]["spec"]["rules"][0]["to"][0]["operation"]["hosts"]
    public = private("mnist-ui.ml.example.com").model_copy(update={"public": True})
    public_plan = record(lambda: WebApp("ui", app_args(exposure=public)))
    assert [r for r in public_plan.of_type("kubernetes:security.istio.io/v1beta1:AuthorizationPolicy")
            if r.inputs["spec"]["action"] == "CUSTOM"] == []
    assert len(public_plan.of_type("kubernetes:cert-manager.io/v1:Certificate")) == 1
    assert len(public_plan.of_type("kubernetes:networking.istio.io/v1beta1:VirtualService")) == 1


def test_configured_backend_without_an_endpoint_is_an_error(record: Record) -> None:
    with pytest.raises(Exception, match="no endpoint was passed"):
        record(lambda: WebApp("ui", app_args(backend=Backend(endpoint="mnist"))))


def test_env_clashing_with_backend_env_is_refused() -> None:
    with pytest.raises(ValidationError, match="set both in env and from the backend"):
        app_args(env={"MODEL_NAME": "x"}, backend=Backend(endpoint="mnist"))


def test_unpinned_ui_image_is_refused() -> None:
    with pytest.raises(ValidationError, match="latest"):
        app_args(image="gcr.io/kubeflow-examples/mnist/deploy-service:latest")


def test_writable_paths_are_scratch_volumes(record: Record) -> None:
    plan = record(lambda: WebApp("ui", app_args(writable_paths=("/home/static/tmp", "/home/MNIST_data"))))
    pod = plan.named("ui-deployment").inputs["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert set(mounts) == {"/home/static/tmp", "/home/MNIST_data"}
    assert all(volumes[name] == {"name": name, "emptyDir": {}} for name in mounts.values())
    with pytest.raises(ValidationError, match="absolute path"):
        app_args(writable_paths=("static/tmp",))
