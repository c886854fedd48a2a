"""Training Operator 1.7.0's ``init-pytorch`` under Pod Security ``restricted``: judged by the real API server.

The operator reads its init container's template from ``/etc/config/initContainer.yaml``
(kubeflow/training-operator v1.7.0 ``pkg/controller.v1/pytorch/initcontainer.go``); the 1.8.1
plan mounts mlplane's restricted template there, and verify builds workers from it.
"""

from __future__ import annotations

import pytest
import yaml

from mlplane.components.platform import training_init
from mlplane.infra.offline.verify.cr_pods import context_of, pytorch_job

from . import controlplane
from .expansion import expanded

pytestmark = pytest.mark.usefixtures("expansion_scratch")

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}
MAIN = {"name": "pytorch", "image": "ghcr.io/example/train:1.0",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}


def _job() -> dict:
    replica = {"replicas": 1, "template": {"spec": {"containers": [MAIN]}}}
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": "ddp", "namespace": "work"},
            "spec": {"pytorchReplicaSpecs": {"Master": replica, "Worker": replica}}}


def _objects(release: str) -> list[dict]:
    return [r.inputs for r in expanded(release).plan if r.is_kubernetes_object]


def test_the_template_is_upstreams_with_a_restricted_security_context() -> None:
    (container,) = yaml.safe_load(training_init.TEMPLATE.replace("{{.InitContainerImage}}", "alpine:3.10")
                                  .replace("{{.MaxTries}}", "100").replace("{{.MasterAddr}}", "ddp-master-0"))
    assert container["name"] == "init-pytorch" and container["image"] == "alpine:3.10"
    assert container["securityContext"]["runAsNonRoot"] and container["securityContext"]["runAsUser"] == 65534
    assert "nslookup ddp-master-0" in container["command"][2]


def test_the_1_8_1_plan_mounts_the_template_where_the_operator_reads_it() -> None:
    plan = expanded("1.8.1").plan
    by_urn = plan.by_urn()
    objects = _objects("1.8.1")
    config_map = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == training_init.CONFIG_MAP)
    assert config_map["data"][training_init.TEMPLATE_FILE] == training_init.TEMPLATE
    operator = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "training-operator")
    spec = operator["spec"]["template"]["spec"]
    volume = next(v["name"] for v in spec["volumes"] if v.get("configMap", {}).get("name") == training_init.CONFIG_MAP)
    assert {"name": volume, "mountPath": "/etc/config", "readOnly": True} in spec["containers"][0]["volumeMounts"]
    # The directory (and so the operator) comes after the ConfigMap.
    directory = next(r for r in plan if r.type == "kubernetes:kustomize/v2:Directory" and "training" in r.name)
    assert any(by_urn[d].name.endswith("training-init-container") for d in directory.dependencies)


def test_26_03_has_no_such_template() -> None:
    assert not any(o["kind"] == "ConfigMap" and o["metadata"]["name"] == training_init.CONFIG_MAP
                   for o in _objects("26.03"))


def test_workers_built_from_the_plans_template_are_admitted_under_restricted() -> None:
    ours = [p.pod for p in pytorch_job(_job(), context_of(_objects("1.8.1"))) if "worker" in p.pod["metadata"]["name"]]
    upstream = [p.pod for p in pytorch_job(_job(), context_of([])) if "worker" in p.pod["metadata"]["name"]]
    assert ours[0]["spec"]["initContainers"][0]["securityContext"]["runAsUser"] == 65534
    upstream[0]["metadata"]["name"] = "ddp-worker-upstream"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "work", "labels": RESTRICTED}}
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "work"}}
    output = controlplane.run("""
kubectl apply --server-side -f $FILES/ns.yaml >/dev/null
kubectl apply --server-side -f $FILES/sa.yaml >/dev/null
kubectl create -f $FILES/ours.yaml 2>&1 | sed 's/^/ours: /'
kubectl create -f $FILES/upstream.yaml 2>&1 | sed 's/^/upstream: /'
""", {"ns.yaml": namespace, "sa.yaml": account, "ours.yaml": ours, "upstream.yaml": upstream})
    assert "ours: pod/ddp-worker-0 created" in output, output
    assert 'upstream: Error from server (Forbidden)' in output and 'container "init-pytorch"' in output, output
