"""Kubernetes RBAC: may an identity do a verb on a resource in a namespace?

The semantics are Kubernetes' own (kubernetes/kubernetes at v1.36.2, the control plane in
../shared/k8s), read from:

- ``plugin/pkg/auth/authorizer/rbac/rbac.go`` (``RuleAllows``): a rule allows a resource
  request when its verb, API group, resource (``resource/subresource`` combined) and
  resource name all match; bindings only add, nothing denies.
- ``pkg/apis/rbac/v1/evaluation_helpers.go``: ``*`` matches every verb, group and
  resource; a rule resource ``*/exec`` matches any resource's ``exec`` subresource; an
  empty ``resourceNames`` matches every name.
- ``pkg/registry/rbac/validation/rule.go`` (``appliesToUser``): a ``User`` subject
  matches the user's name, a ``Group`` one of the user's groups, a ``ServiceAccount``
  the user ``system:serviceaccount:<namespace>:<name>`` (the namespace defaults to the
  binding's).
- ``staging/src/k8s.io/apiserver/pkg/authentication/serviceaccount/util.go``: a
  ServiceAccount's groups are ``system:serviceaccounts`` and
  ``system:serviceaccounts:<namespace>``; authenticated users have ``system:authenticated``,
  anonymous ones are ``system:anonymous`` in ``system:unauthenticated``.
- ``pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go``: a
  ClusterRole with an ``aggregationRule`` gets the rules of every ClusterRole whose labels
  match one of its ``clusterRoleSelectors`` (Kubeflow's ``kubeflow-edit`` gathers
  ``kubeflow-kubernetes-edit``, ``kubeflow-pipelines-edit``, ...).

Only what the plan (and what its controllers create at run time) binds is known here:
the cluster's built-in roles and bindings (``cluster-admin``, ``system:*``) bind no user
of the scenario, so they are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlplane.components.admission import selector_matches
from mlplane.policy.access.request import Verdict, allow, deny


@dataclass(frozen=True)
class Identity:
    """Who asks the API server: a user name and groups, as authentication made them."""

    user: str
    groups: tuple[str, ...]

    @classmethod
    def person(cls, email: str) -> "Identity":
        """A user logged in through the OIDC provider (the e-mail as the user name)."""
        return cls(email, ("system:authenticated",))

    @classmethod
    def service_account(cls, namespace: str, name: str) -> "Identity":
        """The identity of a pod's ServiceAccount token."""
        return cls(f"system:serviceaccount:{namespace}:{name}",
                   ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"))

    @classmethod
    def anonymous(cls) -> "Identity":
        return cls("system:anonymous", ("system:unauthenticated",))


@dataclass(frozen=True)
class Request:
    """A resource request: ``verb`` on ``group``/``resource``[/``subresource``] in ``namespace``."""

    verb: str
    resource: str
    namespace: str
    group: str = ""
    subresource: str = ""
    name: str = ""

    def __str__(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {what} in {self.namespace}"


def cluster_role_rules(objects: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Every ClusterRole's rules, aggregated roles filled as the aggregation controller fills them.

    The controller writes an aggregated role's gathered rules into that role, which may
    itself be selected by another aggregated role (``kubeflow-edit`` carries the label that
    ``kubeflow-admin`` selects), so the gathering repeats until nothing changes.
    """
    roles = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "ClusterRole"}
    rules: dict[str, list[Mapping[str, Any]]] = {name: list(role.get("rules") or ()) for name, role in roles.items()}
    aggregated = {name: role["aggregationRule"].get("clusterRoleSelectors") or ()
                  for name, role in roles.items() if role.get("aggregationRule")}
    for _ in range(len(roles) + 1):
        changed = False
        for name, selectors in aggregated.items():
            gathered: list[Mapping[str, Any]] = []
            for other in sorted(roles):
                labels = roles[other]["metadata"].get("labels") or {}
                if other != name and any(selector_matches(s, labels) for s in selectors):
                    gathered += [rule for rule in rules[other] if rule not in gathered]
            if gathered != rules[name]:
                rules[name], changed = gathered, True
        if not changed:
            break
    return rules


def _rule_allows(rule: Mapping[str, Any], request: Request) -> bool:
    if rule.get("nonResourceURLs"):
        return False
    verbs, groups, resources = rule.get("verbs") or (), rule.get("apiGroups") or (), rule.get("resources") or ()
    combined = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    names = rule.get("resourceNames") or ()
    return (("*" in verbs or request.verb in verbs)
            and ("*" in groups or request.group in groups)
            and any(r in ("*", combined) or (request.subresource and r == f"*/{request.subresource}")
                    for r in resources)
            and (not names or request.name in names))


def _applies(subject: Mapping[str, Any], identity: Identity, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return subject.get("name") == identity.user
    if kind == "Group":
        return subject.get("name") in identity.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return identity.user == f"system:serviceaccount:{namespace}:{subject.get('name')}"
    return False


def decide(objects: Iterable[Mapping[str, Any]], identity: Identity, request: Request) -> Verdict:
    """Whether ``identity`` may make ``request``, with the binding and role that allow it.

    Args:
        objects: Every Role, ClusterRole, RoleBinding and ClusterRoleBinding of the plan
            and of what its controllers create at run time.
        identity: Who asks.
        request: What is asked.

    Returns:
        Allowed with the binding that allows it, or denied (RBAC has no deny rules: a
        request nothing allows is refused).
    """
    objects = list(objects)
    cluster_roles = cluster_role_rules(objects)
    roles = {(o["metadata"].get("namespace"), o["metadata"]["name"]): list(o.get("rules") or ())
             for o in objects if o.get("kind") == "Role"}
    for binding in objects:
        kind = binding.get("kind")
        if kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        namespace = binding["metadata"].get("namespace") or ""
        if kind == "RoleBinding" and namespace != request.namespace:
            continue
        if not any(_applies(s, identity, namespace) for s in binding.get("subjects") or ()):
            continue
        ref = binding.get("roleRef") or {}
        rules = (cluster_roles.get(ref.get("name"), []) if ref.get("kind") == "ClusterRole"
                 else roles.get((namespace, ref.get("name")), []))
        if any(_rule_allows(rule, request) for rule in rules):
            where = f"{kind} {namespace + '/' if namespace else ''}{binding['metadata']['name']}"
            return allow(f"RBAC: {where} grants {ref.get('kind')} {ref.get('name')}, which allows {request}")
    return deny(f"RBAC: no binding of {identity.user} allows {request}")
