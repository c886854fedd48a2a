"""The repository's stacks serve MNIST: on CPU on ``dev``, on a shared L4 on ``gke``.

The endpoint and its web UI are the MNIST pipeline's serve and web-UI steps.
"""

from __future__ import annotations

from .conftest import rendered

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def predictor(stack: str) -> dict:
    [isvc] = [r for r in rendered(stack).of_type(ISVC) if r.inputs["metadata"]["name"] == "mnist"]
    return isvc.inputs


def test_dev_serves_mnist_on_cpu_with_kserve_raw() -> None:
    isvc = predictor("dev")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    spec = isvc["spec"]["predictor"]
    version = isvc["metadata"]["labels"]["mlplane.dev/model-version"]
    assert spec["model"]["storageUri"] == f"pvc://models/export/mnist/{version}"
    assert set(spec["model"]["resources"]["limits"]) == {"cpu", "memory"}
    assert "nodeSelector" not in spec and "tolerations" not in spec


def test_gke_serves_mnist_on_a_shared_l4() -> None:
    isvc = predictor("gke")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"
    spec = isvc["spec"]["predictor"]
    assert spec["model"]["storageUri"].startswith("gs://acme-ml-platform-artifacts/")
    assert spec["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert spec["nodeSelector"]["cloud.google.com/gke-accelerator"] == "nvidia-l4"
    assert spec["nodeSelector"]["cloud.google.com/gke-gpu-sharing-strategy"] == "mps"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["serviceAccountName"] == "mlplane-artifacts"


def test_web_ui_follows_the_endpoint_on_every_stack() -> None:
    for stack, backend_host in (("dev", "mnist-predictor.mlplane.svc.cluster.local"),
                                ("gke", "mnist.mlplane.svc.cluster.local")):
        plan = rendered(stack)
        ui = plan.named("pipeline-mnist-web-ui-deployment")
        env = {e["name"]: e["value"] for e in ui.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["MODEL_SERVER_HOST"] == backend_host
        assert plan.named("pipeline-mnist-serve-inference-service").urn in ui.dependencies
        login = [r for r in plan if r.type.endswith(":AuthorizationPolicy") and r.name == "pipeline-mnist-web-ui-login"]
        assert len(login) == 1
