"""Dangers are about data and availability: CRDs, protected objects, and replacements that delete first.

- Deleting a CRD deletes every object of its kind (Kubernetes does), so it is a danger
  naming the kind and the plan's own objects of it.
- A protected object that holds no data is marked protected (``pulumi up`` refuses to
  delete it), not a danger.
- A replacement the provider performs delete-first, because the object keeps its
  ``metadata.name`` (pulumi-kubernetes' ``Diff``), says the outage whoever caused it: an
  InferenceService whose deployment mode changes (KServe 0.16's webhook refuses that
  update) is gone until its replacement is up.
"""

from __future__ import annotations

import dataclasses

from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.report import danger_count, format_markdown, format_text

from .plans import k8s, plan, pvc

CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def _crd(plural: str, kind: str, group: str = "kubeflow.org"):
    return k8s(CRD, f"{plural}.{group}", {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": True, "storage": True}]}})


def _pytorchjob(name: str):
    return k8s("kubernetes:kubeflow.org/v1:PyTorchJob", name, {
        "apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": name, "namespace": "ml"},
        "spec": {"pytorchReplicaSpecs": {}}})


def _config_map(**options):
    return k8s("kubernetes:core/v1:ConfigMap", "settings", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "ml"},
        "data": {"a": "1"}}, **options)


def _isvc(mode: str):
    return k8s("kubernetes:serving.kserve.io/v1beta1:InferenceService", "mnist", {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "mnist", "namespace": "ml", "annotations": {"serving.kserve.io/deploymentMode": mode}},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "pvc://models/m"}}}})


def test_deleting_a_crd_is_a_danger_naming_its_kind_and_the_plans_objects() -> None:
    old = plan(_crd("pytorchjobs", "PyTorchJob"), _crd("tfjobs", "TFJob"), _pytorchjob("train-a"),
               _pytorchjob("train-b"))
    diff = diff_plans(old, plan())
    change = diff.find("pytorchjobs.kubeflow.org")
    assert change.op == "delete" and change.danger and change.danger_kind == "crd"
    assert "every PyTorchJob in the cluster (pytorchjobs.kubeflow.org) goes with it" in change.reason
    assert "the plan's own: ml/train-a, ml/train-b" in change.reason
    tf = diff.find("tfjobs.kubeflow.org")
    assert tf.danger and "every TFJob" in tf.reason and "plan's own" not in tf.reason
    # The jobs themselves are plain deletes (no data of their own): the CRDs carry the danger.
    assert not diff.find("train-a").danger
    assert danger_count(diff) == "2 CRDs deleted with their objects"
    assert change.to_json()["dangerKind"] == "crd"


def test_protected_object_without_data_is_marked_protected_not_danger() -> None:
    diff = diff_plans(plan(_config_map(protect=True), pvc(protect=True)), plan())
    settings, claim = diff.find("settings"), diff.find("data")
    assert settings.op == "delete" and not settings.danger and settings.protected
    assert "protected: `pulumi up` refuses to delete or replace it until its protect option is removed" \
        in settings.reason
    assert claim.danger and claim.danger_kind == "data" and claim.protected  # a claim holds data
    text = format_text(diff)
    assert "DANGER: 1 loss of data (marked !)." in text
    assert "! -  delete  kubernetes:core/v1:ConfigMap settings" not in text
    assert "no longer in the plan; protected: `pulumi up` refuses" in text  # said, not hidden
    assert "no longer in the plan; protected: `pulumi up` refuses" in format_markdown(diff)


def test_a_protected_source_stands_for_the_data_inside_it() -> None:
    from .plans import component

    directory = component("kubernetes:kustomize/v2:Directory", "pipelines", directory="x?ref=26.03")
    protected = diff_plans(plan(dataclasses.replace(directory, protect=True)), plan()).find("pipelines")
    assert protected.danger and protected.danger_kind == "data" and "everything it installs" in protected.reason
    assert not diff_plans(plan(directory), plan()).find("pipelines").danger


def test_a_provider_delete_first_replacement_says_the_outage() -> None:
    diff = diff_plans(plan(_isvc("Serverless")), plan(_isvc("RawDeployment")))
    change = diff.find("mnist")
    assert change.op == "replace" and not change.danger
    assert change.reason.startswith("deleted first (pulumi-kubernetes replaces a named object so): "
                                    "InferenceService 'mnist' is gone until its replacement is up")
    assert 'deploymentMode"] (immutable)' in change.reason
    assert "is gone until its replacement is up" in format_markdown(diff)


def test_a_replacement_under_a_new_name_is_not_delete_first() -> None:
    old, new = _isvc("Serverless"), _isvc("RawDeployment")
    new.inputs["metadata"]["name"] = "mnist-raw"  # created under its new name, then the old one goes
    change = diff_plans(plan(old), plan(new)).find("mnist")
    assert change.op == "replace" and "deleted first" not in change.reason
