"""Every custom resource of every stack matches its upstream CRD schema (strictly)."""

from __future__ import annotations

import filecmp

import jsonschema
import pytest

from mlplane.infra.offline.plan import PlanResource

from .conftest import STACKS, rendered
from .crds import UPSTREAM, VENDORED, strict_schema

_BUILTIN_GROUPS = {"", "apps", "batch", "policy", "autoscaling"}


def is_custom(resource: PlanResource) -> bool:
    """Whether a plan resource is a Kubernetes object of a CRD (not a built-in kind)."""
    if not resource.is_kubernetes_object:
        return False
    api_version = resource.inputs.get("apiVersion", "")
    group = api_version.rpartition("/")[0]
    return not (group in _BUILTIN_GROUPS or group.endswith(".k8s.io"))


@pytest.mark.parametrize("stack", STACKS)
def test_custom_resources_match_their_crd(stack: str) -> None:
    failures = []
    for resource in rendered(stack):
        if not is_custom(resource):
            continue
        schema = strict_schema(resource.inputs["apiVersion"], resource.inputs["kind"])
        if schema is None:
            failures.append(f"{resource.urn}: no vendored schema (run `python -m tests.crds`)")
            continue
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(resource.inputs), key=str)
        failures += [f"{resource.urn}: {e.message} at {list(e.absolute_path)}" for e in errors[:3]]
    assert failures == []


def test_strict_schemas_reject_unknown_fields() -> None:
    vendored = sorted(VENDORED.rglob("*.json"))
    if not vendored:
        pytest.skip("no custom resources vendored yet")
    path = vendored[0]
    api_version = f"{path.parent.name}/{path.stem.rsplit('_', 1)[1]}"
    schema = strict_schema(api_version, path.stem.rsplit("_", 1)[0])
    assert schema is not None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"apiVersion": api_version, "kind": "X", "metadata": {}, "bogusField": 1}, schema)


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="../shared/crds is not on this machine")
def test_vendored_schemas_equal_upstream() -> None:
    for path in VENDORED.rglob("*.json"):
        upstream = UPSTREAM / path.relative_to(VENDORED)
        assert upstream.is_file() and filecmp.cmp(path, upstream, shallow=False), path
