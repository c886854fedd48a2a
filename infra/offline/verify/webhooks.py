"""Admission webhooks: held back from the cluster, and judged against the plan's order instead.

No webhook server answers on a kubelet-less control plane (no pod runs), so a webhook
configuration applied there would refuse (``failurePolicy: Fail``) or silently skip
(``Ignore``) every object it matches. The harness holds every Validating- and
MutatingWebhookConfiguration back (an allow-listed change) and asks the question a real
cluster's first ``pulumi up`` asks: for each object of the plan a webhook matches on CREATE,
could the configuration exist while its server is not yet ready? That is the case unless an
awaited workload behind the webhook's Service is among the object's ancestors (or the
configuration is created after the object). Matching follows the API server's rules
(https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#matching-requests-rules):
``rules`` (operations, apiGroups, apiVersions, resources, scope), ``namespaceSelector``
(the namespace's labels; a Namespace object is matched on its own labels; other
cluster-scoped objects are never excluded by it) and ``objectSelector`` (the object's labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlplane.infra.offline.plan import PlanResource
from mlplane.infra.offline.verify.order import Graph
from mlplane.infra.offline.verify.selectors import matches

KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True)
class Gated:
    """An object a webhook matches whose server is not an awaited ancestor."""

    urn: str
    configuration: str
    webhook: str
    failure_policy: str
    service: str
    servers: tuple[str, ...]

    def text(self) -> str:
        """One line for the report."""
        where = (f"served by {', '.join(s.rsplit('::', 1)[-1] for s in self.servers)}, not an awaited ancestor"
                 if self.servers else "its Service has no workload in the plan")
        return (f"{self.urn.rsplit('::', 1)[-1]}: webhook {self.webhook} ({self.configuration}, failurePolicy "
                f"{self.failure_policy}) calls {self.service}, {where}")


def is_webhook_configuration(resource: PlanResource) -> bool:
    """Whether a plan resource is a webhook configuration (held back)."""
    return resource.inputs.get("kind") in KINDS and resource.inputs.get("apiVersion", "").startswith(
        "admissionregistration.k8s.io/")


def _rule_matches(rule: dict[str, Any], group: str, version: str, plural: str, namespaced: bool) -> bool:
    def has(values: list[str] | None, value: str) -> bool:
        return bool(values) and ("*" in values or value in values)

    scope = rule.get("scope", "*")
    return (has(rule.get("operations"), "CREATE") and has(rule.get("apiGroups"), group)
            and has(rule.get("apiVersions"), version)
            and any(r in ("*", plural, "*/*") or r.split("/")[0] in ("*", plural) and "/" not in r
                    for r in rule.get("resources") or [])
            and (scope == "*" or (scope == "Namespaced") == namespaced))


def _awaited(resource: PlanResource, by_urn: dict[str, PlanResource]) -> bool:
    """Whether the provider waits for this workload to be ready (no skipAwait on it or its chart)."""
    annotations = (resource.inputs.get("metadata") or {}).get("annotations") or {}
    if annotations.get("pulumi.com/skipAwait") == "true":
        return False
    parent = by_urn.get(resource.parent or "")
    return not (parent is not None and parent.inputs.get("skipAwait") is True)


def gated_objects(graph: Graph, objects: list[PlanResource], mapping: Any,
                  namespace_labels: dict[str, dict[str, str]]) -> list[Gated]:
    """Every (object, webhook) pair where the webhook may be called before its server is ready.

    Args:
        graph: The plan's dependency graph.
        objects: The Kubernetes objects of the plan.
        mapping: ``(apiVersion, kind) -> (plural, namespaced)``; raises for an unknown kind.
        namespace_labels: Each namespace's labels (as applied, or live).
    """
    by_urn = graph.by_urn
    services = {(r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"]): r for r in objects
                if r.inputs.get("kind") == "Service" and r.inputs.get("apiVersion") == "v1"}
    workloads = [r for r in objects if r.inputs.get("kind") in WORKLOADS]
    found = []
    for configuration in (r for r in objects if is_webhook_configuration(r)):
        after = {u for u in graph.direct if configuration.urn in graph.ancestors(u)}  # created after it
        for hook in configuration.inputs.get("webhooks") or []:
            service_ref = (hook.get("clientConfig") or {}).get("service")
            if not service_ref:
                continue  # a URL webhook: outside the plan
            key = (service_ref.get("namespace"), service_ref.get("name"))
            service = services.get(key)
            selector = (service.inputs.get("spec") or {}).get("selector") if service else None
            servers = tuple(w.urn for w in workloads if selector and w.inputs["metadata"].get("namespace") == key[0]
                            and matches({"matchLabels": selector},
                                        (((w.inputs.get("spec") or {}).get("template") or {}).get("metadata")
                                         or {}).get("labels") or {}))
            awaited = {s for s in servers if _awaited(by_urn[s], by_urn)}
            for obj in objects:
                if obj.urn in after or obj.urn == configuration.urn or obj.urn in servers:
                    continue
                if not _hook_matches(hook, obj, mapping, namespace_labels):
                    continue
                if awaited & graph.ancestors(obj.urn):
                    continue
                found.append(Gated(obj.urn, configuration.inputs["metadata"]["name"], hook.get("name", ""),
                                   hook.get("failurePolicy", "Fail"), f"{key[0]}/{key[1]}", servers))
    return found


def _hook_matches(hook: dict[str, Any], obj: PlanResource, mapping: Any,
                  namespace_labels: dict[str, dict[str, str]]) -> bool:
    api_version, kind = obj.inputs.get("apiVersion", ""), obj.inputs.get("kind", "")
    group, _, version = api_version.rpartition("/")
    try:
        plural, namespaced = mapping(api_version, kind)
    except Exception:  # a kind the server never learnt (its CRD refused): reported elsewhere
        return False
    if not any(_rule_matches(rule, group, version, plural, namespaced) for rule in hook.get("rules") or []):
        return False
    meta = obj.inputs.get("metadata") or {}
    labels = meta.get("labels") or {}
    if kind == "Namespace" and group == "":
        ns_labels = {**labels, "kubernetes.io/metadata.name": meta.get("name", "")}
        if not matches(hook.get("namespaceSelector"), ns_labels):
            return False
    elif namespaced:
        namespace = meta.get("namespace") or "default"
        ns_labels = {**namespace_labels.get(namespace, {}), "kubernetes.io/metadata.name": namespace}
        if not matches(hook.get("namespaceSelector"), ns_labels):
            return False
    return matches(hook.get("objectSelector"), labels)
