"""Admission webhooks of a plan, which plan objects they gate, and whether the server is awaited first.

An object that a ``failurePolicy: Fail`` webhook matches is refused while the webhook's
server does not answer ("failed calling webhook ...: no endpoints available for
service"), an ``InternalError`` that pulumi-kubernetes does not retry (it retries a create
only on NotFound and NoMatch: pulumi/pulumi-kubernetes v4.32.0
``provider/pkg/await/await.go``, ``Creation``). So every such object must wait for the
Deployment behind the webhook's Service, awaited (no ``pulumi.com/skipAwait``), before
the engine creates it. :func:`ungated` lists the objects that do not.

Matching follows the API server (kubernetes/apiserver v0.36.3, ``pkg/admission/plugin/
webhook/predicates``): ``rules/rules.go`` (operations, groups, versions, resources with
``*`` and ``*/*``, scope), ``namespace/matcher.go`` (a cluster-scoped object other than a
Namespace matches any namespaceSelector; a Namespace is judged by its own labels),
``object/matcher.go`` (objectSelector on the object's labels). With ``matchPolicy:
Equivalent`` (v1's default) a rule for one version of a resource also matches the other
versions of the same group and resource; this module treats every version of a group and
resource as equivalent (true of a CRD's versions). Webhook configurations themselves are
exempt (``IsExemptAdmissionConfigurationResource``). Namespaces carry the
``kubernetes.io/metadata.name`` label the API server sets on every namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlplane.infra.offline.ancestry import Ancestry
from mlplane.infra.offline.kinds import is_cluster_scoped
from mlplane.infra.offline.plan import Plan, PlanResource

_CONFIGURATION_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_EXEMPT_KINDS = frozenset({*_CONFIGURATION_KINDS, "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                           "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"})
_SERVER_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
NAME_LABEL = "kubernetes.io/metadata.name"
SKIP_AWAIT = "pulumi.com/skipAwait"


@dataclass(frozen=True)
class Webhook:
    """One webhook of a Mutating/ValidatingWebhookConfiguration in the plan.

    Attributes:
        configuration: URN of the configuration that holds it.
        name: The webhook's ``name``.
        failure_policy: ``Fail`` (also when unset: v1's default) or ``Ignore``.
        exact: Whether ``matchPolicy`` is ``Exact``.
        rules: Its ``rules`` (RuleWithOperations mappings).
        namespace_selector: Its ``namespaceSelector`` (None: everything).
        object_selector: Its ``objectSelector`` (None: everything).
        service: ``(namespace, name)`` of ``clientConfig.service``; None for a URL.
    """

    configuration: str
    name: str
    failure_policy: str
    exact: bool
    rules: tuple[Mapping[str, Any], ...]
    namespace_selector: Mapping[str, Any] | None
    object_selector: Mapping[str, Any] | None
    service: tuple[str, str] | None


@dataclass(frozen=True)
class Ungated:
    """An object a failing webhook gates that can be created before the server answers.

    Attributes:
        object: URN of the gated object.
        webhook: The webhook.
        reason: ``no server`` (no workload behind the Service in the plan), ``not awaited``
            (the server skips await) or ``not an ancestor`` (created without waiting for it).
        servers: URNs of the server workloads found.
    """

    object: str
    webhook: Webhook
    reason: str
    servers: tuple[str, ...]


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a metav1.LabelSelector matches ``labels`` (None or empty: everything).

    Raises:
        ValueError: An operator other than In, NotIn, Exists, DoesNotExist.
    """
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or ()
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"label selector operator {operator!r}")
    return True


def plural(kind: str) -> str:
    """The resource name the API server guesses for a kind (kubernetes/apimachinery v0.36.3
    ``pkg/api/meta/restmapper.go``, ``UnsafeGuessKindToResource``); CRDs name theirs."""
    lower = kind.lower()
    if lower.endswith("endpoints"):
        return lower
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + "s"


def webhooks_of(plan: Plan) -> list[Webhook]:
    """Every webhook of every webhook configuration among the plan's objects."""
    found = []
    for resource in plan:
        body = resource.inputs
        if not resource.is_kubernetes_object or body.get("kind") not in _CONFIGURATION_KINDS:
            continue
        for hook in body.get("webhooks") or ():
            service = (hook.get("clientConfig") or {}).get("service")
            found.append(Webhook(
                configuration=resource.urn, name=str(hook.get("name", "")),
                failure_policy=str(hook.get("failurePolicy") or "Fail"),
                exact=hook.get("matchPolicy") == "Exact",
                rules=tuple(hook.get("rules") or ()),
                namespace_selector=hook.get("namespaceSelector"), object_selector=hook.get("objectSelector"),
                service=(str(service.get("namespace", "")), str(service.get("name", ""))) if service else None))
    return found


@dataclass(frozen=True)
class _Request:
    group: str
    version: str
    resource: str
    namespace: str
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str]


def _labels(body: Mapping[str, Any]) -> dict[str, str]:
    return dict((body.get("metadata") or {}).get("labels") or {})


class _PlanFacts:
    """CRD plurals and scopes, and namespace labels, as the plan declares them."""

    def __init__(self, plan: Plan):
        self.plurals: dict[tuple[str, str], str] = {}
        self.cluster_scoped: set[tuple[str, str]] = set()
        self.namespace_labels: dict[str, dict[str, str]] = {}
        for resource in plan:
            body = resource.inputs
            if not resource.is_kubernetes_object:
                continue
            if body.get("kind") == "CustomResourceDefinition":
                spec = body.get("spec") or {}
                key = (str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))
                self.plurals[key] = str((spec.get("names") or {}).get("plural", ""))
                if spec.get("scope") == "Cluster":
                    self.cluster_scoped.add(key)
            elif body.get("kind") == "Namespace" and body.get("apiVersion") == "v1":
                name = str((body.get("metadata") or {}).get("name", ""))
                self.namespace_labels[name] = {**_labels(body), NAME_LABEL: name}

    def request(self, body: Mapping[str, Any]) -> _Request:
        """The admission attributes of creating ``body``."""
        api_version, kind = str(body.get("apiVersion", "")), str(body.get("kind", ""))
        group, _, version = api_version.rpartition("/")
        metadata = body.get("metadata") or {}
        cluster = (group, kind) in self.cluster_scoped or (
            (group, kind) not in self.plurals and is_cluster_scoped(kind))
        namespace = "" if cluster else str(metadata.get("namespace") or "default")
        if kind == "Namespace" and group == "":
            name = str(metadata.get("name", ""))
            namespace_labels = {**_labels(body), NAME_LABEL: name}
        else:
            namespace_labels = self.namespace_labels.get(namespace, {NAME_LABEL: namespace})
        return _Request(group=group, version=version, resource=self.plurals.get((group, kind)) or plural(kind),
                        namespace=namespace, labels=_labels(body), namespace_labels=namespace_labels)


def _rule_matches(rule: Mapping[str, Any], request: _Request, exact: bool) -> bool:
    def listed(items: Sequence[str] | None, value: str) -> bool:
        return any(item in ("*", value) for item in items or ())

    scope = rule.get("scope") or "*"
    is_namespace = request.group == "" and request.resource == "namespaces"
    if scope == "Namespaced" and (is_namespace or not request.namespace):
        return False
    if scope == "Cluster" and not (is_namespace or not request.namespace):
        return False
    if not listed(rule.get("operations"), "CREATE"):
        return False
    if not listed(rule.get("apiGroups"), request.group):
        return False
    if exact and not listed(rule.get("apiVersions"), request.version):
        return False
    for item in rule.get("resources") or ():
        resource, _, subresource = str(item).partition("/")
        if resource in ("*", request.resource) and subresource in ("*", ""):
            return True
    return False


def matches(webhook: Webhook, request: _Request) -> bool:
    """Whether ``webhook`` is called when the object of ``request`` is created."""
    if not any(_rule_matches(rule, request, webhook.exact) for rule in webhook.rules):
        return False
    namespace_scoped = bool(request.namespace) or request.resource == "namespaces"
    if namespace_scoped and not selector_matches(webhook.namespace_selector, request.namespace_labels):
        return False
    return selector_matches(webhook.object_selector, request.labels)


def servers(webhook: Webhook, plan: Plan) -> list[PlanResource]:
    """The plan's workloads behind the webhook's Service (its selector matches their pod labels)."""
    if webhook.service is None:
        return []
    namespace, name = webhook.service
    objects = [r for r in plan if r.is_kubernetes_object]

    def placed(resource: PlanResource) -> tuple[str, str]:
        metadata = resource.inputs.get("metadata") or {}
        return str(metadata.get("namespace", "")), str(metadata.get("name", ""))

    service = next((r for r in objects if r.inputs.get("kind") == "Service" and placed(r) == (namespace, name)), None)
    selector = ((service.inputs.get("spec") or {}).get("selector") or {}) if service else {}
    if not selector:
        return []
    found = []
    for resource in objects:
        if resource.inputs.get("kind") not in _SERVER_KINDS or placed(resource)[0] != namespace:
            continue
        template = ((resource.inputs.get("spec") or {}).get("template") or {})
        if selector_matches({"matchLabels": selector}, _labels(template)):
            found.append(resource)
    return found


def awaited(resource: PlanResource) -> bool:
    """Whether pulumi-kubernetes awaits the object's readiness (no ``pulumi.com/skipAwait: "true"``)."""
    annotations = (resource.inputs.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(SKIP_AWAIT, "")).lower() != "true"


def gated(plan: Plan) -> list[tuple[PlanResource, Webhook]]:
    """``(object, webhook)`` for every plan object a failing webhook of the plan is called for on create."""
    facts = _PlanFacts(plan)
    hooks = [w for w in webhooks_of(plan) if w.failure_policy == "Fail"]
    found = []
    for resource in plan:
        if not resource.is_kubernetes_object or resource.inputs.get("kind") in _EXEMPT_KINDS:
            continue
        request = facts.request(resource.inputs)
        found.extend((resource, hook) for hook in hooks if matches(hook, request))
    return found


def ungated(plan: Plan) -> list[Ungated]:
    """Objects a failing webhook gates that the engine may create before the webhook's server is ready."""
    ancestry = Ancestry(plan)
    found = []
    server_cache: dict[tuple[str, str], list[PlanResource]] = {}
    for resource, hook in gated(plan):
        key = (hook.configuration, hook.name)
        if key not in server_cache:
            server_cache[key] = servers(hook, plan)
        workloads = server_cache[key]
        urns = tuple(r.urn for r in workloads)
        if not workloads:
            reason = "no server"
        elif not any(awaited(r) for r in workloads):
            reason = "not awaited"
        elif not any(r.urn in ancestry.waits_for(resource.urn) for r in workloads if awaited(r)):
            reason = "not an ancestor"
        else:
            continue
        found.append(Ungated(object=resource.urn, webhook=hook, reason=reason, servers=urns))
    return found
