"""Which namespaces the platform needs, at which Pod Security level, open to whom.

Pure: the platform layer creates a :class:`~components.namespace.PlatformNamespace`
for each entry. Exceptions to ``restricted``, and why:

- ``kubeflow`` and profile namespaces enforce ``baseline`` (and warn and audit at
  ``restricted``): the upstream kubeflow/manifests workloads (MySQL, MinIO/SeaweedFS, the
  web apps) and users' notebook images do not all set the restricted security contexts.
  ``knative-serving`` follows the level Knative's own namespace object sets: ``restricted``
  on 26.03; on 1.8.1, which sets none, ``baseline``. ``baseline`` still forbids privileged
  pods, host namespaces and hostPath volumes; the warnings show what blocks tightening.
- ``istio-cni`` is ``privileged``: the Istio CNI node agent rewrites each node's CNI
  configuration through hostPath mounts. Running it there is what lets every meshed
  namespace drop the privileged ``istio-init`` container.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlplane.components.namespace import PlatformNamespaceArgs
from mlplane.components.platform.istio import MeshAllow
from mlplane.components.platform.resolve import ResolvedComponent
from mlplane.components.platform.spec import DATA_COMPONENTS, KubeflowSpec

KUBEFLOW_NAMESPACE = "kubeflow"

#: The Pod Security level Knative's own namespace object enforces, by release (the label
#: kubeflow/manifests' common/knative/knative-serving sets; absent on 1.8.1).
KNATIVE_POD_SECURITY: Mapping[str, str] = {"26.03": "restricted"}
ISTIO_CNI_NAMESPACE = "istio-cni"

#: Ports that the API server calls on admission webhooks in the Kubeflow namespace
#: (PodDefaults 4443; KFP, Katib 8443; KServe, training operator/Trainer 9443).
KUBEFLOW_WEBHOOK_PORTS = (4443, 8443, 9443)
#: cert-manager's webhook (securePort).
CERT_MANAGER_WEBHOOK_PORTS = (10250,)
#: istiod (xDS 15012, injection/validation webhook 15017) and the gateways' listeners: the
#: ingress gateway's pods listen on 80 and 443 (the gateway chart's service targetPorts,
#: 1.17.3 and 1.29.0; tests/test_gateway_exposure.py), Knative's local gateway on 8080/8443.
ISTIO_PORTS = (80, 443, 8080, 8443, 15012, 15017, 15021)
#: Knative Serving's webhook.
KNATIVE_WEBHOOK_PORTS = (8443,)

#: Labels that Kubeflow's profile controller gives the namespaces it owns.
PROFILE_LABELS: Mapping[str, str] = {
    "istio-injection": "enabled",
    "app.kubernetes.io/part-of": "kubeflow-profile",
    "katib.kubeflow.org/metrics-collector-injection": "enabled",
    "serving.kubeflow.org/inferenceservice": "enabled",
    "pipelines.kubeflow.org/enabled": "true",
}

MESHED = {"istio-injection": "enabled"}


def profile_role(name: str) -> str:
    """The role (component name) of a profile's namespace."""
    return f"profile-{name}"


def platform_namespaces(spec: KubeflowSpec, resolved: Mapping[str, ResolvedComponent]) -> dict[str, PlatformNamespaceArgs]:
    """The namespaces the platform creates, by role.

    Roles are ``kubeflow``, ``ns-<namespace>`` for add-ons (so two add-ons configured
    into one namespace share it) and ``profile-<name>`` for profiles. Namespaces of
    ``existing`` add-ons are not created (the cluster has them).
    """
    profiles = tuple(p.name for p in spec.profiles)
    istio_ns = resolved["istio"].namespace
    knative = resolved["knative_serving"]
    serving_peers = (knative.namespace,) if knative.enabled else ()

    keeps_data = spec.protect_data and any(resolved[key].enabled for key in DATA_COMPONENTS)
    wanted: list[tuple[str, PlatformNamespaceArgs]] = [(KUBEFLOW_NAMESPACE, PlatformNamespaceArgs(
        namespace=KUBEFLOW_NAMESPACE, pod_security="baseline", pod_security_warn="restricted", protect=keeps_data,
        allow_ingress_from=_unique((istio_ns, *serving_peers, *profiles)),
        open_ports=KUBEFLOW_WEBHOOK_PORTS,
        labels={**MESHED, "control-plane": "kubeflow"},
    ))]
    if resolved["cert_manager"].enabled:
        wanted.append(_addon(resolved["cert_manager"].namespace, open_ports=CERT_MANAGER_WEBHOOK_PORTS))
    if resolved["istio"].enabled:
        wanted.append(_addon(istio_ns, open_ports=ISTIO_PORTS,
                             allow_ingress_from=_unique((KUBEFLOW_NAMESPACE, *serving_peers, *profiles))))
        wanted.append(_addon(ISTIO_CNI_NAMESPACE, pod_security="privileged"))
    if resolved["dex"].enabled:
        peers = (istio_ns, resolved["oauth2_proxy"].namespace) if resolved["oauth2_proxy"].enabled else (istio_ns,)
        wanted.append(_addon(resolved["dex"].namespace, allow_ingress_from=_unique(peers), labels=MESHED))
    if resolved["oauth2_proxy"].enabled:
        wanted.append(_addon(resolved["oauth2_proxy"].namespace, allow_ingress_from=(istio_ns,), labels=MESHED))
    if knative.enabled:
        # Knative's directory creates this namespace itself: mlplane patches its labels. Its
        # own labels must agree with them (server-side apply refuses another value for a
        # label upstream sets): 26.03's enforces restricted, 1.8.1's sets no level
        # (tests/test_expansion_namespaces.py checks both against the expansion).
        level = KNATIVE_POD_SECURITY.get(spec.release, "baseline")
        wanted.append(_addon(knative.namespace, pod_security=level,
                             pod_security_warn="restricted" if level != "restricted" else None,
                             open_ports=KNATIVE_WEBHOOK_PORTS, upstream_owned=True,
                             allow_ingress_from=_unique((istio_ns, KUBEFLOW_NAMESPACE, *profiles))))
    for profile in spec.profiles:
        wanted.append((profile_role(profile.name), PlatformNamespaceArgs(
            namespace=profile.name, pod_security=profile.pod_security,
            pod_security_warn="restricted" if profile.pod_security != "restricted" else None,
            allow_ingress_from=_unique((istio_ns, KUBEFLOW_NAMESPACE, *serving_peers)),
            labels=dict(PROFILE_LABELS), annotations={"owner": profile.owner}, protect=spec.protect_data,
        )))

    merged: dict[str, PlatformNamespaceArgs] = {}
    for role, args in wanted:
        if role in merged:
            merged[role] = _merge(merged[role], args)
        else:
            merged[role] = args
    return merged


def _addon(namespace: str, **fields: object) -> tuple[str, PlatformNamespaceArgs]:
    return f"ns-{namespace}", PlatformNamespaceArgs(namespace=namespace, **fields)  # type: ignore[arg-type]


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


_LEVELS = ("restricted", "baseline", "privileged")


def _merge(first: PlatformNamespaceArgs, second: PlatformNamespaceArgs) -> PlatformNamespaceArgs:
    """Two add-ons in one namespace: the looser level, both sets of peers and ports."""
    level = max(first.pod_security, second.pod_security, key=_LEVELS.index)
    return first.model_copy(update={
        "pod_security": level,
        "allow_ingress_from": _unique((*first.allow_ingress_from, *second.allow_ingress_from)),
        "open_ports": tuple(sorted({*first.open_ports, *second.open_ports})),
        "labels": {**first.labels, **second.labels},
        "protect": first.protect or second.protect,
    })


def mesh_allows(spec: KubeflowSpec, resolved: Mapping[str, ResolvedComponent]) -> tuple[MeshAllow, ...]:
    """The Istio ALLOW policies matching the namespaces' NetworkPolicies.

    Each meshed platform namespace accepts requests from itself and from the peers its
    NetworkPolicy admits. Namespaces outside the mesh (cert-manager, Istio's own) need
    none: Istio's policies only act on workloads with a sidecar.
    """
    outside = {resolved["cert_manager"].namespace, resolved["istio"].namespace, ISTIO_CNI_NAMESPACE}
    return tuple(
        MeshAllow(namespace=args.namespace, sources=_unique((args.namespace, *args.allow_ingress_from)))
        for args in platform_namespaces(spec, resolved).values()
        if args.namespace not in outside
    )
