"""Helpers to build small plans by hand for diff tests."""

from __future__ import annotations

import copy
from typing import Any

from mlplane.infra.offline.plan import Plan, PlanResource

PROVIDER = "urn:pulumi:t::mlplane::pulumi:providers:kubernetes::k8s"


def k8s(kind_type: str, name: str, body: dict[str, Any], **options: Any) -> PlanResource:
    """A Kubernetes object resource with logical name ``name``."""
    return PlanResource(
        urn=f"urn:pulumi:t::mlplane::{kind_type}::{name}",
        type=kind_type,
        name=name,
        custom=True,
        parent=None,
        provider=options.pop("provider", PROVIDER),
        dependencies=(),
        inputs=copy.deepcopy(body),
        **options,
    )


def plan(*resources: PlanResource) -> Plan:
    return Plan(project="mlplane", stack="t", resources=resources)


def job(name: str = "train", args: tuple[str, ...] = ("--steps", "200"), **options: Any) -> PlanResource:
    return k8s("kubernetes:batch/v1:Job", name, {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "ml", "labels": {"app": name}},
        "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": "trainer:v1", "args": list(args)}]}}},
    }, **options)


def pvc(name: str = "data", size: str = "10Gi", storage_class: str = "standard", **options: Any) -> PlanResource:
    return k8s("kubernetes:core/v1:PersistentVolumeClaim", name, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                 "resources": {"requests": {"storage": size}}},
    }, **options)


def deployment(name: str = "web", image: str = "web:v1", selector: str = "web", **options: Any) -> PlanResource:
    return k8s("kubernetes:apps/v1:Deployment", name, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {"selector": {"matchLabels": {"app": selector}}, "template": {
            "metadata": {"labels": {"app": selector}},
            "spec": {"containers": [{"name": "main", "image": image}]}}},
    }, **options)


def namespace(name: str = "ml") -> PlanResource:
    return k8s("kubernetes:core/v1:Namespace", f"{name}-ns", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def storage_class(name: str = "standard", expandable: bool = True) -> PlanResource:
    return k8s("kubernetes:storage.k8s.io/v1:StorageClass", f"class-{name}", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
        "provisioner": "ebs.csi.aws.com", "allowVolumeExpansion": expandable,
    })


def secret(name: str = "creds", data: dict[str, str] | None = None) -> PlanResource:
    return k8s("kubernetes:core/v1:Secret", name, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "ml"},
        "stringData": dict(data or {"password": "[secret]"})})


def component(type_: str, name: str, parent: str | None = None, **inputs: Any) -> PlanResource:
    """A component resource (charts and directories are components in Pulumi)."""
    return PlanResource(urn=f"urn:pulumi:t::mlplane::{type_}::{name}", type=type_, name=name, custom=False,
                        parent=parent, provider=None, dependencies=(), inputs=dict(inputs))


def under(parent: PlanResource, resource: PlanResource, *depends_on: PlanResource) -> PlanResource:
    """``resource`` as a child of ``parent`` (as an expanded chart's objects are), with dependencies."""
    import dataclasses

    return dataclasses.replace(resource, parent=parent.urn, dependencies=tuple(d.urn for d in depends_on))


def renamed(resource: PlanResource, new_name: str) -> PlanResource:
    """``resource`` under a new logical name, aliased to its old URN (``formerly``)."""
    import dataclasses

    return dataclasses.replace(resource, urn=resource.urn.rsplit("::", 1)[0] + f"::{new_name}", name=new_name,
                               aliases=(resource.urn,))
