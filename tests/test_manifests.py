"""Every manifest of every stack is valid Kubernetes (kubernetes-validate --strict)."""

from __future__ import annotations

import kubernetes_validate
import pytest

from mlplane.infra.offline.manifests import manifest_files, manifest_path
from mlplane.infra.offline.plan import PlanResource

from .conftest import STACKS, rendered
from .plans import k8s

#: The Kubernetes version manifests are validated against (oldest we support).
KUBERNETES_VERSION = "1.30.0"


def builtin(resource: PlanResource) -> bool:
    api_version = resource.inputs.get("apiVersion", "")
    group = api_version.split("/")[0] if "/" in api_version else ""
    return group == "" or group.endswith(".k8s.io") or group in {"apps", "batch", "policy", "autoscaling"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_builtin_manifest_is_strictly_valid(stack: str) -> None:
    plan = rendered(stack)
    files = manifest_files(plan)
    assert files, f"stack {stack} renders no manifests"
    failures = []
    for resource in plan:
        if resource.is_kubernetes_object and builtin(resource):
            try:
                kubernetes_validate.validate(resource.inputs, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                failures.append(f"{manifest_path(resource)}: {exc.message} at {list(exc.path)}")
    assert failures == []


def test_validator_rejects_what_it_should() -> None:
    # Guard against a validator that silently accepts everything.
    bad = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "spec": {"bogus": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)


def test_objects_without_names_are_refused() -> None:
    from mlplane.infra.offline.manifests import ManifestError

    nameless = k8s("kubernetes:core/v1:ConfigMap", "c", {"apiVersion": "v1", "kind": "ConfigMap",
                                                         "metadata": {"namespace": "ml"}})
    with pytest.raises(ManifestError, match="metadata.name is not set"):
        manifest_path(nameless)
    no_namespace = k8s("kubernetes:core/v1:ConfigMap", "c", {"apiVersion": "v1", "kind": "ConfigMap",
                                                             "metadata": {"name": "c"}})
    with pytest.raises(ManifestError, match="has no metadata.namespace"):
        manifest_path(no_namespace)
