"""Every namespaced object of an expanded plan waits for the object that creates its namespace.

The API server refuses an object in a namespace that does not exist (``namespaces "x" not
found``, a NotFound the provider retries for about 31 s and then gives up). "Waits for" is
the engine's (:class:`mlplane.infra.offline.ancestry.Ancestry`, docs/ordering.md): found by
``mlplane verify`` on onprem, where the ALLOW policy of Knative's namespace was a child of
Istio, which Knative's directory (the namespace's creator) waits for.
"""

from __future__ import annotations

import dataclasses

import pytest

from mlplane.components.admission import Facts
from mlplane.infra.offline.ancestry import Ancestry
from mlplane.infra.offline.plan import Plan

from .expansion import RELEASES, expanded

pytestmark = pytest.mark.usefixtures("expansion_scratch")


def namespace_before_use(plan: Plan) -> list[str]:
    """Objects created in a namespace of the plan without waiting for the Namespace object."""
    objects = [r for r in plan if r.is_kubernetes_object]
    facts = Facts([r.inputs for r in objects])
    creators = {r.inputs["metadata"]["name"]: r.urn for r in objects
                if r.inputs.get("kind") == "Namespace" and r.inputs.get("apiVersion") == "v1"}
    ancestry = Ancestry(plan)
    found = []
    for resource in objects:
        namespace = facts.namespace_of(resource.inputs)
        creator = creators.get(namespace)
        if creator is not None and creator != resource.urn and creator not in ancestry.waits_for(resource.urn):
            found.append(f"{resource.name} (in {namespace})")
    return found


@pytest.mark.parametrize("release", RELEASES)
def test_every_object_waits_for_its_namespace(release: str) -> None:
    assert namespace_before_use(expanded(release).plan) == []


def test_the_check_sees_an_object_created_before_its_namespace() -> None:
    plan = expanded("26.03").plan
    # An object mlplane itself declares in Knative's namespace (which Knative's directory creates).
    policy = next(r for r in plan if r.is_kubernetes_object and r.parent and "::mlplane:" in r.parent
                  and (r.inputs.get("metadata") or {}).get("namespace") == "knative-serving")
    stack = next(r.urn for r in plan if r.type == "pulumi:pulumi:Stack")
    # As the bug had it: a child of the stack with no edge to the namespace's creator.
    seeded = Plan(project=plan.project, stack=plan.stack, resources=tuple(
        dataclasses.replace(r, parent=stack, dependencies=()) if r.urn == policy.urn else r for r in plan))
    assert namespace_before_use(seeded) == [f"{policy.name} (in knative-serving)"]
