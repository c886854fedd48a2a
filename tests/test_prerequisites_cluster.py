"""The cluster facts a plan relies on without installing them: declared, and their checks judged by a real API server.

- Kubeflow's claims that name no StorageClass (found in the expanded plan on both trains)
  need a default class: the prerequisite is declared wherever such claims exist and no
  stack class is ``default``; on ``../shared/k8s`` its check fails without a default
  class and passes with one, and the API server's DefaultStorageClass admission gives
  such a claim that class.
- eks declares Karpenter NodePools and EC2NodeClasses, whose CRDs nothing in the plan
  installs: the Karpenter prerequisite's check names exactly their CRDs; it fails on a
  cluster without them, and with CRDs built from the upstream schemas in
  ``../shared/crds`` it passes and the API server admits every one of eks's objects
  under strict field validation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlplane.infra.load import load_stack_file
from mlplane.components.admission import plural
from mlplane.infra.prerequisites import DEFAULT_CLASS_CHECK, prerequisites

from . import controlplane
from .conftest import ROOT, load_stack, rendered
from .expansion import RELEASES, expanded, onprem_on
from .upstream import SHARED_UPSTREAM

KARPENTER_GROUPS = ("karpenter.sh", "karpenter.k8s.aws")
SHARED_CRDS = SHARED_UPSTREAM.parent / "crds"


def _unnamed_claims(release: str) -> list[str]:
    return sorted(r.inputs["metadata"]["name"] for r in expanded(release).plan
                  if r.is_kubernetes_object and r.inputs.get("kind") == "PersistentVolumeClaim"
                  and not (r.inputs.get("spec") or {}).get("storageClassName"))


@pytest.mark.usefixtures("expansion_scratch")
@pytest.mark.parametrize("release", RELEASES)
def test_claims_without_a_class_make_a_default_class_a_prerequisite(release: str, tmp_path: Path) -> None:
    assert _unnamed_claims(release), "the expanded onprem plan has Kubeflow's classless claims"
    config = onprem_on(release, tmp_path / "stack")
    item = next(i for i in prerequisites(config) if i.name == "a default StorageClass")
    assert item.check == DEFAULT_CLASS_CHECK
    assert "pipelines" in item.needed_by and "katib" in item.needed_by


def test_a_stack_class_marked_default_is_the_default(tmp_path: Path) -> None:
    text = (ROOT / "Pulumi.onprem.yaml").read_text()
    assert text.count("        kind: local-path\n") == 1
    path = tmp_path / "Pulumi.onprem.yaml"
    path.write_text(text.replace("        kind: local-path\n", "        kind: local-path\n        default: true\n"))
    config = load_stack_file(path, stack="onprem", display="Pulumi.onprem.yaml")
    assert "a default StorageClass" not in [i.name for i in prerequisites(config)]
    assert "a default StorageClass" not in [i.name for i in prerequisites(load_stack("eks").model_copy(
        update={"kubeflow": None}))]


def test_the_default_class_check_on_a_real_api_server() -> None:
    def storage_class(name: str, default: bool) -> dict[str, Any]:
        annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
        return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": name, "annotations": annotations}, "provisioner": "rancher.io/local-path"}

    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "mysql-pv-claim"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    output = controlplane.run(f"""
kubectl apply --server-side -f $FILES/plain.yaml >/dev/null
({DEFAULT_CLASS_CHECK}) && echo "without passed" || echo "without failed"
kubectl apply --server-side -f $FILES/default.yaml >/dev/null
({DEFAULT_CLASS_CHECK}) && echo "with passed" || echo "with failed"
kubectl apply --server-side -f $FILES/claim.yaml >/dev/null
echo "claim-class $(kubectl get pvc mysql-pv-claim -o jsonpath='{{.spec.storageClassName}}')"
""", {"plain.yaml": storage_class("nfs-shared", False), "default.yaml": storage_class("local-nvme", True),
      "claim.yaml": claim}, components="apiserver", timeout=60)
    lines = dict(line.split(" ", 1) for line in output.splitlines() if " " in line)
    assert (lines["without"], lines["with"], lines["claim-class"]) == ("failed", "passed", "local-nvme"), output


def _karpenter_objects() -> list[dict[str, Any]]:
    return [r.inputs for r in rendered("eks") if r.is_kubernetes_object
            and r.inputs["apiVersion"].rpartition("/")[0] in KARPENTER_GROUPS]


def test_the_karpenter_check_names_the_crds_of_every_karpenter_object_eks_declares() -> None:
    objects = _karpenter_objects()
    kinds = {(o["apiVersion"].rpartition("/")[0], o["kind"]) for o in objects}
    assert kinds == {("karpenter.sh", "NodePool"), ("karpenter.k8s.aws", "EC2NodeClass")}
    # Nothing in the plan installs them: no CRD object of these groups.
    assert not [r for r in rendered("eks") if r.inputs.get("kind") == "CustomResourceDefinition"
                and (r.inputs.get("spec") or {}).get("group") in KARPENTER_GROUPS]
    check = next(i.check for i in prerequisites(load_stack("eks")) if i.name == "Karpenter")
    assert check.split()[:3] == ["kubectl", "get", "crd"]
    assert set(check.split()[3:]) == {f"{plural(kind)}.{group}" for group, kind in kinds}


def _crd(group: str, kind: str, version: str) -> dict[str, Any]:
    """A cluster-scoped CRD serving the upstream schema of ``../shared/crds`` (both kinds are cluster-scoped:
    aws/karpenter-provider-aws pkg/apis/crds, ``scope: Cluster``)."""
    schema = json.loads((SHARED_CRDS / group / f"{kind.lower()}_{version}.json").read_text())
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural(kind)}.{group}"},
            "spec": {"group": group, "scope": "Cluster",
                     "names": {"kind": kind, "plural": plural(kind), "singular": kind.lower(),
                               "listKind": f"{kind}List"},
                     "versions": [{"name": version, "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema}, "subresources": {"status": {}}}]}}


def test_the_karpenter_check_and_eks_objects_on_a_real_api_server() -> None:
    check = next(i.check for i in prerequisites(load_stack("eks")) if i.name == "Karpenter")
    objects = _karpenter_objects()
    crds = [_crd("karpenter.sh", "NodePool", "v1"), _crd("karpenter.k8s.aws", "EC2NodeClass", "v1")]
    output = controlplane.run(f"""
({check}) >/dev/null 2>&1 && echo "without passed" || echo "without failed"
kubectl apply --server-side -f $FILES/crds.yaml >/dev/null
kubectl wait --for=condition=Established crd --all --timeout=30s >/dev/null
({check}) >/dev/null 2>&1 && echo "with passed" || echo "with failed"
kubectl apply --server-side --validate=strict -f $FILES/objects.yaml 2>&1 | sed 's/^/applied /'
""", {"crds.yaml": crds, "objects.yaml": objects}, components="apiserver", timeout=60)
    lines = output.splitlines()
    assert "without failed" in lines and "with passed" in lines, output
    applied = [line for line in lines if line.startswith("applied ")]
    assert len(applied) == len(objects) and all(line.endswith("serverside-applied") for line in applied), output
