"""The order pulumi-kubernetes gives a chart's or directory's children, and what each resource waits for.

Facts (docs/ordering.md): cli-utils v0.37.2 ``pkg/object/graph/depends.go`` builds the
edges (CRD, Namespace, ``config.kubernetes.io/depends-on``, ``apply-time-mutation``);
pulumi-kubernetes v4.32.0 ``provider/pkg/provider/yaml/v2/yaml.go`` (``Register``) fails the
component on the graph's errors; pulumi/pulumi v3.243.0's SDK and engine make a child wait
for its parent's dependencies.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlplane.infra.offline.ancestry import Ancestry
from mlplane.infra.offline.expand.children import OrderingError, child_resources
from mlplane.infra.offline.kinds import crd_scopes
from mlplane.infra.offline.plan import Plan, PlanResource

from .plans import PROVIDER, component, k8s, plan

CHART = "kubernetes:helm.sh/v4:Chart"


def _chart(name: str = "app", **inputs: Any) -> PlanResource:
    return PlanResource(urn=f"urn:pulumi:t::mlplane::{CHART}::{name}", type=CHART, name=name, custom=False,
                        parent=None, provider=PROVIDER, dependencies=(), inputs={"namespace": "ml", **inputs})


def _obj(api_version: str, kind: str, name: str, namespace: str | None = None,
         annotations: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def _children(objects: list[dict[str, Any]]) -> dict[str, PlanResource]:
    found = child_resources(_chart(), objects, stack="t", project="mlplane", scopes=crd_scopes(objects))
    return {c.name.split(":", 1)[1]: c for c in found}


CRD = _obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com",
           spec={"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"}})
NAMESPACE = _obj("v1", "Namespace", "ml")
SERVER = _obj("apps/v1", "Deployment", "server", "ml")


def test_children_depend_on_their_crd_and_namespace_only() -> None:
    children = _children([CRD, NAMESPACE, SERVER, _obj("example.com/v1", "Widget", "w", "ml"),
                          _obj("v1", "ConfigMap", "other", "elsewhere")])
    ns, crd, server = children["ml"].urn, children["widgets.example.com"].urn, children["ml/server"].urn
    assert set(children["ml/w"].dependencies) == {crd, ns}
    assert children["ml/server"].dependencies == (ns,)
    # No edge from kind order (a ConfigMap before a Deployment) and none to a namespace not among them.
    assert children["elsewhere/other"].dependencies == ()
    assert children["widgets.example.com"].dependencies == ()
    assert server not in children["ml/w"].dependencies


def test_a_crd_of_another_api_group_is_no_crd() -> None:
    # cli-utils IsCRD: the group must be apiextensions.k8s.io.
    fake = {**CRD, "apiVersion": "example.org/v1", "metadata": {"name": "fake"}}
    children = _children([fake, _obj("example.com/v1", "Widget", "w", "ml")])
    assert children["ml/w"].dependencies == ()


def test_depends_on_annotation_orders_a_child_after_a_sibling() -> None:
    gated = _obj("example.com/v1", "Widget", "w", "ml",
                 {"config.kubernetes.io/depends-on": "apps/namespaces/ml/Deployment/server"})
    cluster = _obj("rbac.authorization.k8s.io/v1", "ClusterRole", "g", None,
                   {"config.kubernetes.io/depends-on": " apps/namespaces/ml/Deployment/server , /Namespace/ml"})
    children = _children([NAMESPACE, SERVER, gated, cluster])
    assert set(children["ml/w"].dependencies) == {children["ml/server"].urn, children["ml"].urn}
    assert set(children["g"].dependencies) == {children["ml/server"].urn, children["ml"].urn}


def test_apply_time_mutation_source_is_a_dependency() -> None:
    mutation = ("- sourceRef: {group: apps, kind: Deployment, name: server, namespace: ml}\n"
                "  sourcePath: $.metadata.name\n  targetPath: $.spec.x\n")
    target = _obj("v1", "ConfigMap", "target", "ml", {"config.kubernetes.io/apply-time-mutation": mutation})
    children = _children([SERVER, target])
    assert children["ml/target"].dependencies == (children["ml/server"].urn,)


@pytest.mark.parametrize(("reference", "problem"), [
    ("apps/namespaces/ml/Deployment/elsewhere", "not among this chart's or directory's objects"),
    ("apps/Deployment", "does not parse"),
    ("apps/ns/ml/Deployment/server", "does not parse"),
    ("apps/namespaces/ml/Deployment/server,apps/namespaces/ml/Deployment/server", "twice"),
])
def test_annotations_the_provider_refuses_fail_the_component(reference: str, problem: str) -> None:
    # cli-utils: ExternalDependencyError, ParseObjMetadata, DuplicateDependencyError;
    # yaml.go Register returns DependencyGraph's error, so the whole chart fails.
    gated = _obj("v1", "ConfigMap", "w", "ml", {"config.kubernetes.io/depends-on": reference})
    with pytest.raises(OrderingError, match=problem):
        _children([SERVER, gated])


def test_a_cycle_fails_the_component() -> None:
    a = _obj("v1", "ConfigMap", "a", "ml", {"config.kubernetes.io/depends-on": "/namespaces/ml/ConfigMap/b"})
    b = _obj("v1", "ConfigMap", "b", "ml", {"config.kubernetes.io/depends-on": "/namespaces/ml/ConfigMap/a"})
    with pytest.raises(OrderingError, match="cycle"):
        _children([a, b])


def _with(resource: PlanResource, **changes: Any) -> PlanResource:
    return PlanResource(**{**resource.__dict__, **changes})


def test_children_wait_for_what_their_parents_wait_for() -> None:
    server = k8s("kubernetes:apps/v1:Deployment", "server", {})
    chart = _with(_chart("gated"), dependencies=(server.urn,))
    child = _with(k8s("kubernetes:core/v1:ConfigMap", "gated:ml/c", {}), parent=chart.urn)
    sibling = _with(k8s("kubernetes:core/v1:ConfigMap", "gated:ml/d", {}), parent=chart.urn)
    outer = component("mlplane:x:Part", "part")
    inner = _with(k8s("kubernetes:core/v1:Secret", "inner", {}), parent=outer.urn)
    after_part = _with(k8s("kubernetes:core/v1:ConfigMap", "after", {}), dependencies=(outer.urn,))
    after_chart = _with(k8s("kubernetes:core/v1:ConfigMap", "later", {}), dependencies=(chart.urn,))
    ancestry = Ancestry(plan(server, chart, child, sibling, outer, inner, after_part, after_chart))
    assert ancestry.waits_for(child.urn) == {server.urn}
    assert sibling.urn not in ancestry.waits_for(child.urn)
    # A dependency on a component is one on everything below it (remote: Construct waits for them).
    assert ancestry.waits_for(after_part.urn) == {outer.urn, inner.urn}
    assert ancestry.waits_for(after_chart.urn) == {chart.urn, child.urn, sibling.urn, server.urn}


def test_a_dependency_cycle_is_reported() -> None:
    a = k8s("kubernetes:core/v1:ConfigMap", "a", {})
    b = _with(k8s("kubernetes:core/v1:ConfigMap", "b", {}), dependencies=(a.urn,))
    a = _with(a, dependencies=(b.urn,))
    with pytest.raises(ValueError, match="cycle"):
        Ancestry(Plan(project="mlplane", stack="t", resources=(a, b))).waits_for(a.urn)
