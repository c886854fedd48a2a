"""Storage: classes, protected volumes, artifact stores, danger in diffs, bad sizes refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mlplane.components.storage.spec import check_storage_size
from mlplane.infra.cli import main
from mlplane.infra.layers.capacity import capacity_facts
from mlplane.infra.offline.kinds import is_stateful_type

from .conftest import ROOT, load_stack, rendered
from .test_accelerators import render_error


@pytest.fixture(autouse=True)
def in_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def dev_with(tmp_path: Path, change: Any, name: str = "Pulumi.dev.yaml") -> Path:
    """The repository's dev stack file with ``change(config)`` applied, in ``tmp_path``."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    change(document["config"])
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def diff_json(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: Path, new: Path) -> dict[str, Any]:
    assert main(["render", "--config-file", str(old), "--out", str(tmp_path / "old")]) == 0
    assert main(["render", "--config-file", str(new), "--out", str(tmp_path / "new")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new"), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new"), "--fail-on-danger"]) == 1
    capsys.readouterr()
    return {c["urn"].rsplit("::", 1)[1]: c for c in result["changes"]}


# --- what is rendered ------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "onprem", "gke", "eks", "aks"])
def test_everything_that_holds_data_is_protected_and_retained(stack: str) -> None:
    plan = rendered(stack)
    holding = [r for r in plan if is_stateful_type(r.type)]
    assert holding, f"{stack} declares no volume or bucket"
    assert [r.name for r in holding if not (r.protect and r.retain_on_delete)] == []


def test_volumes_are_claims_in_the_workload_namespace_that_do_not_block_up() -> None:
    plan = rendered("onprem")
    claim = plan.named("volume-datasets-claim")
    assert claim.inputs["metadata"] == {"name": "datasets", "namespace": "mlplane",
                                        "annotations": {"pulumi.com/skipAwait": "true"}}
    assert claim.inputs["spec"] == {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs-shared",
                                    "resources": {"requests": {"storage": "2Ti"}}}
    assert plan.named("workloads-ns").urn in claim.dependencies
    nfs = plan.named("storage-classes-nfs-shared").inputs
    assert (nfs["provisioner"], nfs["parameters"], nfs["reclaimPolicy"], nfs["mountOptions"]) == (
        "nfs.csi.k8s.io", {"server": "nfs.dc1.example.internal", "share": "/exports/ml"}, "Retain", ["nfsvers=4.1"])
    assert nfs["volumeBindingMode"] == "WaitForFirstConsumer"


@pytest.mark.parametrize(("stack", "name", "provisioner", "parameters"), [
    ("dev", "mlplane-local", "rancher.io/local-path", None),
    ("gke", "ssd", "pd.csi.storage.gke.io", {"type": "pd-ssd"}),
    ("eks", "gp3", "ebs.csi.aws.com", {"type": "gp3", "encrypted": "true"}),
    ("aks", "premium", "disk.csi.azure.com", {"skuName": "Premium_LRS"}),
])
def test_storage_class_per_environment(stack: str, name: str, provisioner: str, parameters: Any) -> None:
    inputs = rendered(stack).named(f"storage-classes-{name}").inputs
    assert (inputs["provisioner"], inputs.get("parameters")) == (provisioner, parameters)


def test_in_cluster_store_keeps_generated_keys_secret() -> None:
    plan = rendered("dev")
    server = plan.named("artifacts-server").inputs
    assert server["metadata"]["namespace"] == "mlplane-artifacts"
    assert server["spec"]["strategy"] == {"type": "Recreate"}
    assert server["spec"]["template"]["spec"]["containers"][0]["image"] == "chrislusf/seaweedfs:3.92"
    keys = plan.named("artifacts-workload-keys").inputs
    assert keys["metadata"] == {"name": "mlplane-artifacts-s3", "namespace": "mlplane"}
    assert keys["stringData"] == {"AWS_ACCESS_KEY_ID": "[secret]", "AWS_SECRET_ACCESS_KEY": "[secret]"}
    assert "offline-secret-placeholder" not in plan.to_json_text()
    # The granted namespaces reach the S3 port only.
    opening = plan.named("artifacts-namespace-allow-s3-clients").inputs["spec"]
    assert opening["ingress"][0]["ports"] == [{"port": 8333, "protocol": "TCP"}]
    policy = opening["ingress"][0]["from"]
    allowed = sorted(p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                     for p in policy if "namespaceSelector" in p)
    assert allowed == ["kubeflow", "mlplane"]


def test_gcs_store_binds_workload_identity() -> None:
    plan = rendered("gke")
    bucket = plan.named("artifacts-bucket").inputs
    assert (bucket["name"], bucket["location"], bucket["publicAccessPrevention"]) == (
        "acme-ml-platform-artifacts", "EUROPE-WEST4", "enforced")
    email = "mlplane-artifacts@acme-ml-platform.iam.gserviceaccount.com"
    service_account = plan.named("artifacts-service-account").inputs["metadata"]
    assert service_account["annotations"] == {"iam.gke.io/gcp-service-account": email}
    binding = plan.named("artifacts-workload-identity").inputs
    assert binding["member"] == "serviceAccount:acme-ml-platform.svc.id.goog[mlplane/mlplane-artifacts]"
    assert plan.named("artifacts-bucket-access").inputs["member"] == f"serviceAccount:{email}"


def test_s3_store_trusts_exactly_the_service_account_through_irsa() -> None:
    plan = rendered("eks")
    trust = json.loads(plan.named("artifacts-role").inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    assert condition == {f"{issuer}:sub": "system:serviceaccount:mlplane:mlplane-artifacts",
                         f"{issuer}:aud": "sts.amazonaws.com"}
    annotations = plan.named("artifacts-service-account").inputs["metadata"]["annotations"]
    assert annotations == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/mlplane-artifacts"}
    assert plan.named("artifacts-public-access-block").inputs["blockPublicPolicy"] is True


def test_azure_store_uses_a_federated_managed_identity() -> None:
    plan = rendered("aks")
    account = plan.named("artifacts-account").inputs
    assert (account["allowSharedKeyAccess"], account["allowBlobPublicAccess"]) == (False, False)
    federated = plan.named("artifacts-federated-credential").inputs
    assert federated["subject"] == "system:serviceaccount:mlplane:mlplane-artifacts"
    role = plan.named("artifacts-blob-access").inputs
    assert role["roleDefinitionId"].endswith("/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe")
    assert role["scope"].endswith("/storageAccounts/acmemlartifacts/blobServices/default/containers/mlpipeline")
    annotations = plan.named("artifacts-service-account").inputs["metadata"]["annotations"]
    assert set(annotations) == {"azure.workload.identity/client-id"}


def test_artifact_store_facts_tell_pods_how_to_reach_it() -> None:
    dev = capacity_facts(load_stack("dev")).artifacts
    assert dev is not None
    assert (dev.uri, dev.credentials, dev.service_account, dev.namespace) == (
        "s3://mlpipeline", "secret", "mlplane-artifacts", "mlplane")
    assert dev.endpoint == "http://artifacts.mlplane-artifacts.svc.cluster.local:8333"
    pod = dev.apply_to_pod_spec({"containers": [{"name": "main", "env": [{"name": "AWS_REGION", "value": "x"}]}]})
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert pod["serviceAccountName"] == "mlplane-artifacts"
    assert env["AWS_REGION"]["value"] == "x"  # the pod's own value wins
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "mlplane-artifacts-s3"
    assert env["AWS_ENDPOINT_URL_S3"]["value"] == dev.endpoint
    gke = capacity_facts(load_stack("gke")).artifacts
    assert gke is not None and (gke.uri, gke.credentials, gke.env) == (
        "gs://acme-ml-platform-artifacts", "workload-identity", ())
    aks = capacity_facts(load_stack("aks")).artifacts
    assert aks is not None and aks.pod_labels == {"azure.workload.identity/use": "true"}
    eks = capacity_facts(load_stack("eks"))
    assert eks.artifacts is not None and eks.artifacts.credentials == "irsa"
    assert eks.volumes["datasets"].pod_volume()["persistentVolumeClaim"]["claimName"] == "datasets"


# --- diffs flag danger -----------------------------------------------------------------------


def test_changing_a_volumes_class_replaces_it_dangerously(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def other_class(config: dict[str, Any]) -> None:
        config["mlplane:storage"]["classes"].append({"name": "other", "kind": "local-path"})
        config["mlplane:storage"]["volumes"][0]["storage_class"] = "other"

    changes = diff_json(tmp_path, capsys, ROOT / "Pulumi.dev.yaml", dev_with(tmp_path, other_class))
    claim = changes["volume-datasets-claim"]
    assert (claim["op"], claim["danger"]) == ("replace", True)
    assert claim["paths"] == ["spec.storageClassName"]
    assert "DANGER" in claim["reason"] and "protected" in claim["reason"]


def test_growing_a_local_path_volume_is_not_shown_as_an_update(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    # local-path does not allow expansion, so Kubernetes refuses to grow the claim in place
    # (on classes that do, growing is an update: tests/test_upstream_behaviours.py).
    def grow(config: dict[str, Any]) -> None:
        config["mlplane:storage"]["volumes"][0]["size"] = "50Gi"

    assert main(["render", "--out", str(tmp_path / "old")]) == 0
    assert main(["render", "--config-file", str(dev_with(tmp_path, grow)), "--out", str(tmp_path / "new")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new"), "--format", "json"]) == 0
    changes = {c["urn"].rsplit("::", 1)[1]: c for c in json.loads(capsys.readouterr().out)["changes"]}
    assert set(changes) == {"volume-datasets-claim"}
    assert (changes["volume-datasets-claim"]["op"], changes["volume-datasets-claim"]["danger"]) == ("replace", True)
    assert "allows expansion" in changes["volume-datasets-claim"]["reason"]


def test_removing_a_volume_or_moving_the_store_is_dangerous(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    def remove(config: dict[str, Any]) -> None:
        # Keep the models volume: the MNIST pipeline exports its model there.
        config["mlplane:storage"]["volumes"] = [v for v in config["mlplane:storage"]["volumes"]
                                                if v["name"] != "datasets"]
        config["mlplane:storage"]["artifacts"]["namespace"] = "artifacts"

    changes = diff_json(tmp_path, capsys, ROOT / "Pulumi.dev.yaml", dev_with(tmp_path, remove))
    claim = changes["volume-datasets-claim"]
    assert (claim["op"], claim["danger"]) == ("delete", True)
    store = changes["artifacts-data"]
    assert (store["op"], store["danger"], store["paths"]) == ("replace", True, ["metadata.namespace"])
    # Replacing the store's namespace deletes it, and the volume inside with it.
    assert changes["artifacts-namespace-ns"]["danger"] is True


def test_moving_a_bucket_is_a_dangerous_replacement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = yaml.safe_load((ROOT / "Pulumi.gke.yaml").read_text())
    document["config"]["mlplane:storage"]["artifacts"]["location"] = "US"
    moved = tmp_path / "Pulumi.gke.yaml"
    moved.write_text(yaml.safe_dump(document, sort_keys=False))
    changes = diff_json(tmp_path, capsys, ROOT / "Pulumi.gke.yaml", moved)
    bucket = changes["artifacts-bucket"]
    assert (bucket["op"], bucket["danger"], bucket["paths"]) == ("replace", True, ["location"])


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "expected"), [
    (lambda c: c["mlplane:storage"]["volumes"][0].update(size="10GB"),
     "mlplane:storage.volumes[0].size: must be a Kubernetes quantity such as 500m, 2, 512Mi or 10Gi (got '10GB')"),
    (lambda c: c["mlplane:storage"]["volumes"][0].update(size="0"),
     "mlplane:storage.volumes[0].size: must be a positive size in bytes"),
    (lambda c: c["mlplane:storage"]["volumes"][0].update(storage_class="fast"),
     "mlplane:storage.volumes[0].storage_class: not a class of mlplane:storage.classes (got 'fast'; "
     "allowed: mlplane-local)"),
    (lambda c: c["mlplane:storage"]["classes"].append({"name": "pd", "kind": "gce-pd"}),
     "mlplane:storage.classes[1].kind: gce-pd storage does not exist on local clusters (got 'gce-pd'; "
     "allowed: local-path, nfs, existing)"),
    (lambda c: c["mlplane:storage"].update(artifacts={"kind": "gcs", "bucket": "b-1", "location": "EU"}),
     "mlplane:storage.artifacts.kind: a gcs artifact store needs its cloud's workload identity; this cluster "
     "is local (got 'gcs'; allowed: in-cluster, s3-compatible)"),
    (lambda c: c["mlplane:storage"]["volumes"][0].update(access_modes=["ReadWriteMany"]),
     "mlplane:storage.volumes[0].access_modes: only NFS classes can be mounted read-write by many nodes"),
])
def test_bad_storage_exits_2_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  change: Any, expected: str) -> None:
    assert expected in render_error(tmp_path, capsys, dev_with(tmp_path, change, "Pulumi.bad.yaml"))


def test_missing_aws_sdk_for_an_s3_store_names_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pulumi_aws", None)
    path = tmp_path / "Pulumi.eks.yaml"
    path.write_text((ROOT / "Pulumi.eks.yaml").read_text())
    assert ("mlplane:storage.artifacts.kind: a s3 artifact store on a eks cluster needs the pulumi_aws package, "
            "which is not installed (allowed: install it from the checkout: .venv/bin/pip install -e '.[aws]')") in render_error(
        tmp_path, capsys, path)


@given(st.decimals(min_value="0.001", max_value="100000", places=3), st.sampled_from(["", "Ki", "Mi", "Gi", "Ti", "G"]))
def test_positive_byte_quantities_are_sizes(number: Any, suffix: str) -> None:
    text = f"{number.normalize():f}{suffix}"
    assert check_storage_size(text) == text
    with pytest.raises(ValueError):
        check_storage_size(f"-{text}")
    with pytest.raises(ValueError):
        check_storage_size(f"{text}B")
