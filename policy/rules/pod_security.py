"""Pod Security Standard "restricted" on every pod template mlplane declares.

Checked as the Pod Security Admission controller checks them (Kubernetes 1.25+
"restricted", which includes "baseline"); a container-level setting overrides the pod's:

- ``runAsNonRoot``: true on the pod or on every container, and false nowhere;
  ``runAsUser`` never 0;
- ``allowPrivilegeEscalation``: false on every container;
- ``seccompProfile.type``: ``RuntimeDefault`` or ``Localhost`` on the pod or on every
  container, ``Unconfined`` nowhere;
- ``capabilities``: every container drops ``ALL`` and adds nothing but ``NET_BIND_SERVICE``;
- baseline: no privileged container, no host network/PID/IPC, no host ports, only the
  restricted volume types (hostPath is the no-host-path policy's business).

Init containers count. KServe's model container counts (KServe copies its security
context into the predictor pod).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mlplane.policy.exceptions import waived
from mlplane.policy.rules.base import ResourceContext, ResourceRule, get, is_list
from mlplane.policy.rules.pods import Container, PodTemplate, pod_templates

NAME = "pod-security-restricted"
#: Volume types Pod Security "restricted" allows (hostPath is reported by no-host-path).
ALLOWED_VOLUME_TYPES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                  "persistentVolumeClaim", "projected", "secret", "hostPath"})
_SECCOMP_OK = ("RuntimeDefault", "Localhost")


def _effective(container: Container, pod_context: Any, key: str) -> Any:
    own = get(container.body, "securityContext", key)
    return own if own is not None else get(pod_context, key)


def _container_problems(container: Container, pod_context: Any) -> Iterator[tuple[str, str]]:
    body = container.body
    where = f"{container.path} ({container.name!r})"
    if _effective(container, pod_context, "runAsNonRoot") is not True:
        yield "runAsNonRoot", f"{where}: runAsNonRoot must be true (on the container or the pod)"
    if _effective(container, pod_context, "runAsUser") == 0:
        yield "runAsUser", f"{where}: runAsUser must not be 0 (root)"
    if get(body, "securityContext", "allowPrivilegeEscalation") is not False:
        yield "allowPrivilegeEscalation", f"{where}: securityContext.allowPrivilegeEscalation must be false"
    seccomp = _effective(container, pod_context, "seccompProfile")
    if get(seccomp, "type") not in _SECCOMP_OK:
        yield "seccompProfile", f"{where}: seccompProfile.type must be RuntimeDefault (or Localhost)"
    drop = get(body, "securityContext", "capabilities", "drop")
    if not is_list(drop) or "ALL" not in list(drop):
        yield "capabilities", f"{where}: securityContext.capabilities.drop must contain ALL"
    add = get(body, "securityContext", "capabilities", "add")
    if is_list(add) and any(cap != "NET_BIND_SERVICE" for cap in add):
        yield "capabilities", f"{where}: capabilities.add may hold only NET_BIND_SERVICE (got {list(add)})"
    if get(body, "securityContext", "privileged") is True:
        yield "privileged", f"{where}: privileged containers are not allowed"
    ports = body.get("ports")
    for port in ports if is_list(ports) else []:
        if get(port, "hostPort"):
            yield "hostPorts", f"{where}: hostPort {get(port, 'hostPort')} is not allowed"


def _pod_problems(template: PodTemplate) -> Iterator[tuple[str, str]]:
    spec = template.spec
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            yield "hostNamespaces", f"{template.path}: {key} is not allowed"
    volumes = spec.get("volumes")
    for volume in volumes if is_list(volumes) else []:
        if not isinstance(volume, Mapping):
            continue
        kinds = [k for k in volume if k != "name"]
        if any(k not in ALLOWED_VOLUME_TYPES for k in kinds):
            yield "volumeTypes", (f"{template.path}: volume {volume.get('name')!r} is of type {kinds}; restricted "
                                  f"allows {sorted(ALLOWED_VOLUME_TYPES - {'hostPath'})}")
    pod_context = spec.get("securityContext")
    for container in template.containers:
        yield from _container_problems(container, pod_context)


def problems(type_: str, props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (check id, message) of the object's pod templates, before exceptions."""
    return [p for template in pod_templates(type_, props) for p in _pod_problems(template)]


def check(type_: str, props: Mapping[str, Any], context: ResourceContext) -> list[str]:
    """Messages for the restricted fields an object's pods lack, minus documented exceptions."""
    allowed = waived(NAME, type_, props)
    return [message for check_id, message in problems(type_, props) if check_id not in allowed]


RULE = ResourceRule(
    name=NAME,
    description="Every pod template meets Pod Security 'restricted': non-root, no privilege escalation, "
                "RuntimeDefault seccomp, all capabilities dropped (documented exceptions by name).",
    check=check,
)
