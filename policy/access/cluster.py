"""The cluster the evaluator judges: namespaces, workloads, Services and policies.

Built from Kubernetes objects (an expanded plan's manifests, plus what controllers create
at run time, :mod:`policy.access.runtime`). Pure data; no Pulumi.

Facts used:
- Every namespace carries ``kubernetes.io/metadata.name: <name>`` (set by the API server
  since 1.21; kubernetes/kubernetes ``pkg/registry/core/namespace/strategy.go``,
  ``PrepareForCreate``), which NetworkPolicies select namespaces by.
- Which pods get an Istio sidecar is decided by the injector's own
  MutatingWebhookConfiguration in the plan (istiod chart ``templates/mutatingwebhook.yaml``
  at 1.17.3 and 1.29.0): a pod is injected when some webhook's ``namespaceSelector``
  matches its namespace's labels and ``objectSelector`` its labels; the annotation
  ``sidecar.istio.io/inject: "false"`` still opts out (istio/istio ``pkg/kube/inject/
  webhook.go``, ``injectRequired``). Gateways run Envoy as their main container
  (``proxyv2`` image), so they enforce policy without injection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlplane.policy.access import match

NAME_LABEL = "kubernetes.io/metadata.name"
#: Kinds whose pod template is ``spec.template`` (CronJob: ``spec.jobTemplate.spec.template``).
POD_OWNERS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
INJECT = "sidecar.istio.io/inject"


@dataclass(frozen=True)
class Workload:
    """Pods of one controller (they share labels, identity and mesh membership)."""

    namespace: str
    name: str
    kind: str
    labels: Mapping[str, str]
    service_account: str
    proxied: bool
    gateway: bool = False
    ports: tuple[int, ...] = ()
    named_ports: tuple[tuple[str, int], ...] = ()

    @property
    def principal(self) -> str:
        """The SPIFFE identity Istio gives the pods (trust domain cluster.local)."""
        return f"cluster.local/ns/{self.namespace}/sa/{self.service_account}"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Service:
    """A Service: its selector and ``port -> targetPort`` (numbers; names resolved)."""

    namespace: str
    name: str
    selector: Mapping[str, str]
    ports: Mapping[int, int]
    external_name: str | None = None


@dataclass
class Cluster:
    """Everything the evaluator reads, indexed."""

    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    workloads: list[Workload] = field(default_factory=list)
    services: dict[tuple[str, str], Service] = field(default_factory=dict)
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    root_namespace: str = "istio-system"

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return self.objects.get(kind, [])

    def namespace_labels(self, name: str) -> dict[str, str]:
        return self.namespaces.get(name, {NAME_LABEL: name})

    def service(self, namespace: str, name: str) -> Service | None:
        return self.services.get((namespace, name))

    def backends(self, service: Service) -> list[Workload]:
        """The workloads a Service selects (a Service without selector selects none)."""
        if not service.selector:
            return []
        return [w for w in self.workloads
                if w.namespace == service.namespace and match.match_labels(service.selector, w.labels)]

    def workload(self, namespace: str, name: str) -> Workload | None:
        return next((w for w in self.workloads if w.namespace == namespace and w.name == name), None)

    def find(self, namespace: str, labels: Mapping[str, str]) -> list[Workload]:
        return [w for w in self.workloads if w.namespace == namespace and match.match_labels(labels, w.labels)]


def _pod_template(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in POD_OWNERS:
        return spec.get("template")
    if kind == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    if kind == "Pod":
        return obj
    return None


def _injected(webhooks: list[Mapping[str, Any]], ns_labels: Mapping[str, str], pod_meta: Mapping[str, Any]) -> bool:
    labels = pod_meta.get("labels") or {}
    if (pod_meta.get("annotations") or {}).get(INJECT) == "false":
        return False
    return any(match.labels(hook.get("namespaceSelector"), ns_labels) and match.labels(hook.get("objectSelector"), labels)
               for hook in webhooks)


def _injector_webhooks(objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    hooks: list[Mapping[str, Any]] = []
    for obj in objects:
        if obj.get("kind") == "MutatingWebhookConfiguration" and "sidecar-injector" in obj["metadata"]["name"]:
            hooks += [h for h in obj.get("webhooks") or () if "sidecar-injector" in h.get("name", "")]
    return hooks


def _runs_envoy(spec: Mapping[str, Any]) -> bool:
    return any("proxyv2" in str(c.get("image", "")) or c.get("name") == "istio-proxy"
               for c in spec.get("containers") or ())


def _port_number(value: Any, named: Mapping[str, int]) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value) if value.isdigit() else named.get(value)
    return None


def build(objects: Iterable[Mapping[str, Any]], injector_webhooks: list[Mapping[str, Any]] | None = None) -> Cluster:
    """Index Kubernetes objects into a :class:`Cluster`.

    Args:
        objects: Object bodies (``apiVersion``, ``kind``, ``metadata``...).
        injector_webhooks: The injector's webhooks, when not among ``objects`` (a cluster's
            own Istio); default: read from ``objects``.
    """
    objects = list(objects)
    cluster = Cluster()
    for obj in objects:
        cluster.objects.setdefault(obj.get("kind", ""), []).append(obj)  # type: ignore[arg-type]
        if obj.get("kind") == "Namespace":
            name = obj["metadata"]["name"]
            merged = cluster.namespaces.setdefault(name, {NAME_LABEL: name})
            merged.update(obj["metadata"].get("labels") or {})
    for meshcfg in cluster.of_kind("ConfigMap"):
        if meshcfg["metadata"].get("name") == "istio" and "rootNamespace:" in str((meshcfg.get("data") or {}).get("mesh", "")):
            text = meshcfg["data"]["mesh"]
            cluster.root_namespace = text.split("rootNamespace:", 1)[1].split()[0].strip("'\"")
    hooks = injector_webhooks if injector_webhooks is not None else _injector_webhooks(objects)
    named_ports: dict[tuple[str, str], dict[str, int]] = {}
    for obj in objects:
        template = _pod_template(obj)
        if template is None:
            continue
        meta, spec = template.get("metadata") or {}, template.get("spec") or {}
        namespace = obj["metadata"].get("namespace", "default")
        ports: dict[str, int] = {}
        for container in spec.get("containers") or ():
            for port in container.get("ports") or ():
                ports[port.get("name") or str(port["containerPort"])] = port["containerPort"]
        named_ports[(namespace, obj["metadata"]["name"])] = ports
        cluster.workloads.append(Workload(
            namespace=namespace, name=obj["metadata"]["name"], kind=obj["kind"],
            labels=dict(meta.get("labels") or {}),
            service_account=spec.get("serviceAccountName") or spec.get("serviceAccount") or "default",
            proxied=_runs_envoy(spec) or _injected(hooks, cluster.namespace_labels(namespace), meta),
            gateway=_runs_envoy(spec),
            ports=tuple(sorted(set(ports.values()))), named_ports=tuple(sorted(ports.items())),
        ))
    for obj in cluster.of_kind("Service"):
        spec = obj.get("spec") or {}
        namespace = obj["metadata"].get("namespace", "default")
        selector = dict(spec.get("selector") or {})
        service = Service(namespace, obj["metadata"]["name"], selector, {}, spec.get("externalName"))
        mapping: dict[int, int] = {}
        for port in spec.get("ports") or ():
            target = port.get("targetPort", port["port"])
            number = None
            for backend in cluster.backends(service):
                number = _port_number(target, named_ports.get((backend.namespace, backend.name), {}))
                if number is not None:
                    break
            mapping[port["port"]] = number if number is not None else (target if isinstance(target, int) else port["port"])
        cluster.services[(namespace, service.name)] = Service(namespace, service.name, selector, mapping,
                                                              spec.get("externalName"))
    return cluster
