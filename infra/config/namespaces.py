"""Every namespace the plan creates has one owner.

The workload namespace (``mlplane:cluster``), the in-cluster artifact store's
(``mlplane:storage``), the platform's (Kubeflow's and its add-ons', ``mlplane:kubeflow``)
and each profile's are separate Namespace objects; two of them with one name would be
two objects for one namespace, which only the render (or the cluster) would notice.
Kubernetes' own namespaces are never created by a stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlplane.infra.config.paths import format_path
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

#: Namespaces every cluster has; a stack must not declare them as its own.
KUBERNETES_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def _platform_owners(config: "StackConfig") -> dict[str, tuple[tuple[Any, ...], str]]:
    """The platform's namespaces (not profiles): name -> (key path that sets it, what it is)."""
    from mlplane.components.platform.namespaces import KUBEFLOW_NAMESPACE, platform_namespaces
    from mlplane.components.platform.resolve import resolve

    owners: dict[str, tuple[tuple[Any, ...], str]] = {KUBEFLOW_NAMESPACE: (("mlplane:kubeflow",), "Kubeflow's namespace")}
    spec = config.kubeflow
    if spec is None:
        return owners
    resolved = resolve(spec)
    profiles = {p.name for p in spec.profiles}
    for role, args in platform_namespaces(spec, resolved).items():
        if role.startswith("profile-") and args.namespace in profiles:
            continue
        key = next((k for k, c in resolved.items() if c.enabled and c.namespace == args.namespace
                    and getattr(getattr(spec.components, k, None), "namespace", None) is not None), None)
        path = ("mlplane:kubeflow", "components", key, "namespace") if key else ("mlplane:kubeflow",)
        owners.setdefault(args.namespace, (path, "a namespace of the platform's add-ons"))
    return owners


@rule
def namespaces_have_one_owner(config: "StackConfig") -> Iterator[Finding]:
    """The workload, artifact store, platform and profile namespaces are all different."""
    owners = _platform_owners(config)
    claims: list[tuple[str, tuple[Any, ...], str]] = []
    if config.kubeflow is not None:
        claims += [(p.name, ("mlplane:kubeflow", "profiles", i, "name"), "a profile's namespace")
                   for i, p in enumerate(config.kubeflow.profiles)]
    claims.append((config.cluster.workload_namespace, ("mlplane:cluster", "workload_namespace"),
                   "the workload namespace"))
    store = config.storage.artifacts if config.storage is not None else None
    if store is not None and store.kind == "in-cluster":
        claims.append((store.namespace, ("mlplane:storage", "artifacts", "namespace"),
                       "the in-cluster artifact store's namespace"))
    for name, path, what in claims:
        if path[1] == "profiles" and (name in KUBERNETES_NAMESPACES or owners.get(name, (("",),))[0][-1] != "namespace"):
            # Profiles named like the platform's own namespaces, or twice, are reported by
            # the section's own checks (components.platform.resolve.spec_problems).
            owners.setdefault(name, (path, what))
            continue
        if name in KUBERNETES_NAMESPACES:
            yield Finding(path, f"{name!r} is one of Kubernetes' own namespaces, not {what}", name,
                          "a namespace the stack creates, other than " + ", ".join(sorted(KUBERNETES_NAMESPACES)))
            continue
        if name in owners:
            where, other = owners[name]
            shown = format_path(where)
            yield Finding(path, f"{what} would also be {other} ({shown}); each namespace the plan creates "
                          "has one owner", name, f"another name than {name!r}")
            continue
        owners[name] = (path, what)
