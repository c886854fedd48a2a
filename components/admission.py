"""Which objects an admission webhook is called for, and which workload serves it: the API server's rules.

An object that a ``failurePolicy: Fail`` webhook matches is refused while the webhook's
server does not answer ("failed calling webhook ...: no endpoints available for
service"), an ``InternalError`` that pulumi-kubernetes does not retry (it retries a create
only on NotFound and NoMatch: pulumi/pulumi-kubernetes v4.32.0
``provider/pkg/await/await.go``, ``Creation``). So such an object must be created only after
the workload behind the webhook's Service is ready.

Matching follows the API server (kubernetes/apiserver v0.36.3, ``pkg/admission/plugin/
webhook/predicates``): ``rules/rules.go`` (operations, groups, versions, resources with
``*`` and ``*/*``, scope), ``namespace/matcher.go`` (a cluster-scoped object other than a
Namespace matches any namespaceSelector; a Namespace is judged by its own labels),
``object/matcher.go`` (objectSelector on the object's labels). With ``matchPolicy:
Equivalent`` (v1's default) a rule for one version of a resource also matches the other
versions of the same group and resource; every version of a group and resource is taken
as equivalent here (true of a CRD's versions). Webhook and admission policy
configurations themselves are exempt (``rules.IsExemptAdmissionConfigurationResource``).
Namespaces carry the ``kubernetes.io/metadata.name`` label the API server sets on every
namespace; labels of namespaces not among the objects are otherwise unknown (empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlplane.core.kinds import BUILTIN_CLUSTER_SCOPED_KINDS

_CONFIGURATION_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
EXEMPT_KINDS = frozenset({*_CONFIGURATION_KINDS, "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                          "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"})
SERVER_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
NAME_LABEL = "kubernetes.io/metadata.name"



@dataclass(frozen=True)
class Webhook:
    """One webhook of a Mutating/ValidatingWebhookConfiguration.

    Attributes:
        configuration: Index of the configuration among the objects it was read from.
        name: The webhook's ``name``.
        failure_policy: ``Fail`` (also when unset: v1's default) or ``Ignore``.
        exact: Whether ``matchPolicy`` is ``Exact``.
        rules: Its ``rules`` (RuleWithOperations mappings).
        namespace_selector: Its ``namespaceSelector`` (None: everything).
        object_selector: Its ``objectSelector`` (None: everything).
        service: ``(namespace, name)`` of ``clientConfig.service``; None for a URL.
    """

    configuration: int
    name: str
    failure_policy: str
    exact: bool
    rules: tuple[Mapping[str, Any], ...]
    namespace_selector: Mapping[str, Any] | None
    object_selector: Mapping[str, Any] | None
    service: tuple[str, str] | None


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
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"label selector operator {operator!r}")
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
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


def _labels(body: Mapping[str, Any]) -> dict[str, str]:
    return dict((body.get("metadata") or {}).get("labels") or {})


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def is_configuration(body: Mapping[str, Any]) -> bool:
    """Whether ``body`` is a Mutating- or ValidatingWebhookConfiguration."""
    return body.get("kind") in _CONFIGURATION_KINDS and _group(str(body.get("apiVersion", ""))) \
        == "admissionregistration.k8s.io"


def webhooks_of(objects: Sequence[Mapping[str, Any]]) -> list[Webhook]:
    """Every webhook of every webhook configuration among ``objects``."""
    found = []
    for index, body in enumerate(objects):
        if not is_configuration(body):
            continue
        for hook in body.get("webhooks") or ():
            service = (hook.get("clientConfig") or {}).get("service")
            found.append(Webhook(
                configuration=index, name=str(hook.get("name", "")),
                failure_policy=str(hook.get("failurePolicy") or "Fail"),
                exact=hook.get("matchPolicy") == "Exact",
                rules=tuple(hook.get("rules") or ()),
                namespace_selector=hook.get("namespaceSelector"), object_selector=hook.get("objectSelector"),
                service=(str(service.get("namespace", "")), str(service.get("name", ""))) if service else None))
    return found


@dataclass(frozen=True)
class Request:
    """The admission attributes of creating one object."""

    group: str
    version: str
    resource: str
    namespace: str
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str]


class Facts:
    """CRD plurals and scopes, and namespace labels, as a set of objects declares them.

    Args:
        objects: The objects (a plan's, or one chart's rendering).
        default_namespace: The namespace of a namespaced object that names none.
    """

    def __init__(self, objects: Sequence[Mapping[str, Any]], default_namespace: str = "default"):
        self.default_namespace = default_namespace
        self.plurals: dict[tuple[str, str], str] = {}
        self.cluster_scoped: set[tuple[str, str]] = set()
        self.namespace_labels: dict[str, dict[str, str]] = {}
        for body in objects:
            if body.get("kind") == "CustomResourceDefinition":
                spec = body.get("spec") or {}
                key = (str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))
                self.plurals[key] = str((spec.get("names") or {}).get("plural", ""))
                if spec.get("scope") == "Cluster":
                    self.cluster_scoped.add(key)
            elif body.get("kind") == "Namespace" and body.get("apiVersion") == "v1":
                name = str((body.get("metadata") or {}).get("name", ""))
                self.namespace_labels[name] = {**_labels(body), NAME_LABEL: name}

    def namespace_of(self, body: Mapping[str, Any]) -> str:
        """The object's namespace ("" when cluster-scoped)."""
        group, kind = _group(str(body.get("apiVersion", ""))), str(body.get("kind", ""))
        cluster = (group, kind) in self.cluster_scoped or ((group, kind) not in self.plurals and kind in BUILTIN_CLUSTER_SCOPED_KINDS)
        return "" if cluster else str((body.get("metadata") or {}).get("namespace") or self.default_namespace)

    def request(self, body: Mapping[str, Any]) -> Request:
        """The admission attributes of creating ``body``."""
        api_version, kind = str(body.get("apiVersion", "")), str(body.get("kind", ""))
        group, _, version = api_version.rpartition("/")
        namespace = self.namespace_of(body)
        if kind == "Namespace" and group == "":
            name = str((body.get("metadata") or {}).get("name", ""))
            namespace_labels = {**_labels(body), NAME_LABEL: name}
        else:
            namespace_labels = self.namespace_labels.get(namespace, {NAME_LABEL: namespace})
        return Request(group=group, version=version, resource=self.plurals.get((group, kind)) or plural(kind),
                       namespace=namespace, labels=_labels(body), namespace_labels=namespace_labels)


def _rule_matches(rule: Mapping[str, Any], request: Request, exact: bool) -> bool:
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


def matches(webhook: Webhook, request: Request) -> bool:
    """Whether ``webhook`` is called when the object of ``request`` is created."""
    if not any(_rule_matches(rule, request, webhook.exact) for rule in webhook.rules):
        return False
    namespace_scoped = bool(request.namespace) or request.resource == "namespaces"
    if namespace_scoped and not selector_matches(webhook.namespace_selector, request.namespace_labels):
        return False
    return selector_matches(webhook.object_selector, request.labels)


def servers(webhook: Webhook, objects: Sequence[Mapping[str, Any]], facts: Facts) -> list[int]:
    """Indexes of the workloads behind the webhook's Service (its selector matches their pod labels)."""
    if webhook.service is None:
        return []
    namespace, name = webhook.service
    service = next((o for o in objects if o.get("kind") == "Service" and o.get("apiVersion") == "v1"
                    and facts.namespace_of(o) == namespace and (o.get("metadata") or {}).get("name") == name), None)
    selector = ((service.get("spec") or {}).get("selector") or {}) if service else {}
    if not selector:
        return []
    found = []
    for index, body in enumerate(objects):
        if body.get("kind") not in SERVER_KINDS or facts.namespace_of(body) != namespace:
            continue
        template = (body.get("spec") or {}).get("template") or {}
        if selector_matches({"matchLabels": selector}, _labels(template)):
            found.append(index)
    return found


def gated(objects: Sequence[Mapping[str, Any]], facts: Facts,
          failure_policy: str = "Fail") -> list[tuple[int, Webhook]]:
    """``(object index, webhook)`` for every object a webhook among ``objects`` is called for on create.

    Args:
        failure_policy: Only webhooks with this policy: ``Fail`` (they refuse while their
            server does not answer) or ``Ignore`` (they let the object through unchecked).
    """
    hooks = [w for w in webhooks_of(objects) if w.failure_policy == failure_policy]
    found = []
    for index, body in enumerate(objects):
        if body.get("kind") in EXEMPT_KINDS or not body.get("kind"):
            continue
        request = facts.request(body)
        found.extend((index, hook) for hook in hooks if matches(hook, request))
    return found
