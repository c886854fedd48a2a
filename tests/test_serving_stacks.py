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


def test_the_gateway_login_gate_exempts_public_hosts_only(tmp_path, capsys) -> None:
    import json

    import yaml

    from mlplane.infra.cli import main

    from .conftest import ROOT

    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["mlplane:serving"] = {"endpoints": [
        {"name": "open", "model": {"format": "sklearn", "volume": {"claim": "models", "path": "iris"}},
         "host": "open.localtest.me", "public": True},
        {"name": "closed", "model": {"format": "sklearn", "volume": {"claim": "models", "path": "iris"}},
         "host": "closed.localtest.me", "profiles": ["kubeflow-user-example-com"]},
    ]}
    # A public host needs the platform on a host of its own (else Kubeflow's routes answer it too).
    document["config"]["mlplane:kubeflow"]["ingress"] = {"host": "kubeflow.localtest.me"}
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump(document, sort_keys=False))
    assert main(["render", "--config-file", str(stack), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    [gate] = [r for r in plan["resources"] if r["name"] == "platform-auth-login-gate"]
    operation = gate["inputs"]["spec"]["rules"][0]["to"][0]["operation"]
    assert operation["notHosts"] == ["open.localtest.me", "open.localtest.me:*"]
    # The DENY of requests without a verified token exempts that host, and no other.
    [deny] = [r for r in plan["resources"] if r["name"] == "platform-gateway-guard-require-jwt"]
    assert {tuple(rule["to"][0]["operation"]["notHosts"]) for rule in deny["inputs"]["spec"]["rules"]} == {
        ("open.localtest.me", "open.localtest.me:*")}
    logins = {r["name"] for r in plan["resources"] if r["type"].endswith(":AuthorizationPolicy")}
    assert "endpoint-closed-login" in logins and "endpoint-open-login" not in logins


def test_workload_namespace_is_restricted_unless_kserve_downloads_models() -> None:
    def levels(stack: str) -> dict[str, str]:
        [ns] = [r for r in rendered(stack) if r.name == "workloads-ns"]
        return {k.rsplit("/", 1)[1]: v for k, v in ns.inputs["metadata"]["labels"].items()
                if k.startswith("pod-security.kubernetes.io/")}

    # dev serves from a volume: no storage initializer, restricted everywhere.
    assert levels("dev") == {"enforce": "restricted", "audit": "restricted", "warn": "restricted"}
    # gke downloads from GCS: KServe's initializer needs baseline (kserve/kserve#5373).
    assert levels("gke") == {"enforce": "baseline", "audit": "restricted", "warn": "restricted"}
