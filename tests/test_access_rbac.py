"""RBAC as the API server decides it, and the matrix's Kubernetes-API cells over every shipped stack."""

from __future__ import annotations

import pytest

from mlplane.policy.access import rbac
from mlplane.policy.access.rbac import Identity, Request

from .access_plans import MATRIX_STACKS, matrix

pytestmark = pytest.mark.usefixtures("expansion_scratch")


def role(name: str, rules: list[dict], labels: dict | None = None, aggregate: dict | None = None) -> dict:
    body: dict = {"kind": "ClusterRole", "metadata": {"name": name, "labels": labels or {}}, "rules": rules}
    if aggregate is not None:
        body["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": aggregate}]}
        body["rules"] = []
    return body


def binding(namespace: str, role_name: str, subject: dict) -> dict:
    return {"kind": "RoleBinding", "metadata": {"name": f"b-{role_name}", "namespace": namespace},
            "roleRef": {"kind": "ClusterRole", "name": role_name}, "subjects": [subject]}


EDIT = role("team-edit", [], aggregate={"agg": "edit"})
PODS = role("team-pods", [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["create", "get"]}],
            labels={"agg": "edit"})
EXEC = role("any-exec", [{"apiGroups": ["*"], "resources": ["*/exec"], "verbs": ["create"]}])
ALICE = Identity.person("alice@example.com")


def test_an_aggregated_role_has_the_rules_of_the_roles_its_selector_matches() -> None:
    objects = [EDIT, PODS, binding("a", "team-edit", {"kind": "User", "name": "alice@example.com"})]
    assert rbac.decide(objects, ALICE, Request("create", "pods", "a"))
    assert not rbac.decide(objects, ALICE, Request("create", "pods", "b")), "a RoleBinding acts in its namespace"
    assert not rbac.decide(objects, ALICE, Request("get", "secrets", "a"))
    assert not rbac.decide(objects, ALICE, Request("create", "pods", "a", subresource="exec")), \
        "pods does not match pods/exec"
    unlabelled = {**PODS, "metadata": {"name": "team-pods", "labels": {}}}
    assert not rbac.decide([EDIT, unlabelled, *objects[2:]], ALICE, Request("create", "pods", "a"))


def test_star_slash_subresource_matches_every_resources_subresource() -> None:
    objects = [EXEC, binding("a", "any-exec", {"kind": "Group", "name": "system:authenticated"})]
    assert rbac.decide(objects, ALICE, Request("create", "pods", "a", subresource="exec"))
    assert not rbac.decide(objects, ALICE, Request("create", "pods", "a"))
    assert not rbac.decide(objects, Identity.anonymous(), Request("create", "pods", "a", subresource="exec"))


def test_a_service_account_subject_defaults_to_the_bindings_namespace() -> None:
    objects = [PODS, binding("a", "team-pods", {"kind": "ServiceAccount", "name": "default-editor"})]
    assert rbac.decide(objects, Identity.service_account("a", "default-editor"), Request("create", "pods", "a"))
    assert not rbac.decide(objects, Identity.service_account("b", "default-editor"), Request("create", "pods", "a"))


def test_resource_names_narrow_a_rule() -> None:
    named = role("one-secret", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                                 "resourceNames": ["mine"]}])
    objects = [named, binding("a", "one-secret", {"kind": "User", "name": "alice@example.com"})]
    assert rbac.decide(objects, ALICE, Request("get", "secrets", "a", name="mine"))
    assert not rbac.decide(objects, ALICE, Request("get", "secrets", "a", name="theirs"))


KUBE_TARGETS = ("create pods in A", "read secrets in A", "exec into A's pods")


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_nobody_outside_a_may_create_pods_read_secrets_or_exec_in_a(stack: str) -> None:
    """Tenants and strangers. Platform controllers keep their upstream ClusterRoles (KFP's UI reads
    secrets in every namespace, for artifact credentials): the matrix shows those cells with the role."""
    m = matrix(stack)
    for persona in ("anonymous", "user of B only", "pod in B"):
        for target in KUBE_TARGETS:
            cell = m.cell(persona, target)
            assert not cell.verdict.allowed, f"{stack}: {persona} -> {target}: {cell.verdict.reason}"


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_a_view_contributor_may_not_create_pods_read_secrets_or_exec(stack: str) -> None:
    m = matrix(stack)
    for target in KUBE_TARGETS:
        cell = m.cell("view contributor of A", target)
        assert not cell.verdict.allowed, f"{stack}: view contributor -> {target}: {cell.verdict.reason}"


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_the_owner_and_editors_of_a_may_run_work_in_a(stack: str) -> None:
    """The other side: Kubeflow's kubeflow-admin and kubeflow-edit, as the profile controller and KFAM bind them."""
    m = matrix(stack)
    for persona in ("owner of A", "edit contributor of A", "pod in A"):
        cell = m.cell(persona, "create pods in A")
        assert cell.verdict.allowed, f"{stack}: {persona}: {cell.verdict.reason}"


def test_aggregation_reaches_through_an_aggregated_role() -> None:
    """kubeflow-admin selects kubeflow-edit, itself aggregated: the controller fills both."""
    admin = role("team-admin", [], aggregate={"agg": "admin"})
    edit = role("team-edit", [], labels={"agg": "admin"}, aggregate={"agg": "edit"})
    objects = [admin, edit, PODS, binding("a", "team-admin", {"kind": "User", "name": "alice@example.com"})]
    assert rbac.decide(objects, ALICE, Request("create", "pods", "a"))
