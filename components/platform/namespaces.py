"""Which namespaces the platform needs, at which Pod Security level, open to whom.

Pure: the platform layer creates a :class:`~components.namespace.PlatformNamespace`
for each entry. Exceptions to ``restricted``, and why:

- ``kubeflow`` enforces what upstream enforces: ``restricted`` on 26.03; on 1.8.1, which
  sets no level and runs MySQL and MinIO as root, ``baseline`` (warning at ``restricted``).
- profile namespaces enforce ``baseline`` by default (a profile may say ``restricted``):
  users' notebook images do not all set the restricted security contexts.
  ``knative-serving`` follows the level Knative's own namespace object sets: ``restricted``
  on 26.03; on 1.8.1, which sets none, ``baseline``. ``baseline`` still forbids privileged
  pods, host namespaces and hostPath volumes; the warnings show what blocks tightening.
- ``istio-cni`` is ``privileged``: the Istio CNI node agent rewrites each node's CNI
  configuration through hostPath mounts. Running it there is what lets every meshed
  namespace drop the privileged ``istio-init`` container.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlplane.components.mesh import GATEWAY_PODS
from mlplane.components.namespace import NetworkOpening, PlatformNamespaceArgs
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

#: Releases whose ``kubeflow`` namespace upstream enforces ``restricted`` on.
KUBEFLOW_RESTRICTED = ("26.03",)
#: The KFP UI's ServiceAccount (its principal is KFAM's and the profile controller's KFP_UI_PRINCIPAL).
KFP_UI_SERVICE_ACCOUNT = "ml-pipeline-ui"
#: oauth2-proxy's ServiceAccount (the chart names it after ``fullnameOverride``).
OAUTH2_PROXY_SERVICE_ACCOUNT = "oauth2-proxy"

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


def principal(namespace: str, service_account: str, trust_domain: str = "cluster.local") -> str:
    """A workload's mesh identity as AuthorizationPolicy ``principals`` name it (SPIFFE path)."""
    return f"{trust_domain}/ns/{namespace}/sa/{service_account}"


INGRESS_GATEWAY_PODS = {"matchLabels": {"istio": "ingressgateway"}}
#: Every profile namespace carries this label (the profile controller sets it on the
#: namespaces it makes; mlplane on the ones it declares: PROFILE_LABELS).
PROFILE_NAMESPACES = {"app.kubernetes.io/part-of": "kubeflow-profile"}
#: The KFP profile controller: a metacontroller hook that creates each profile's KFP
#: objects and, on 26.03, mints its object-store keys (kubeflow/pipelines
#: manifests/kustomize/base/installs/multi-user/pipelines-profile-controller/sync.py). Only
#: metacontroller calls it (its CompositeController's hook URL, same directory).
KFP_PROFILE_CONTROLLER = ("app", ("kubeflow-pipelines-profile-controller",))
METACONTROLLER_PODS = {"matchLabels": {"app": "metacontroller"}}

#: Backends in ``kubeflow`` that pods of profile namespaces call, and on which ports: the
#: selectors and ports of kubeflow/manifests 26.03 common/kubeflow-namespace/base/kubeflow/
#: (ml-pipeline.yaml, metadata-grpc-server.yaml, katib-db-manager.yaml, model-registry.yaml,
#: model-catalog.yaml), applied on both trains; plus the object store pipeline steps write
#: artifacts to: 26.03's SeaweedFS S3 port (its own NetworkPolicy, kubeflow/pipelines
#: manifests/kustomize/third-party/seaweedfs/base/seaweedfs/seaweedfs-networkpolicy.yaml, opens
#: only 8333 to profiles) and 1.8.1's MinIO (app=minio, port 9000).
PROFILE_BACKENDS: tuple[tuple[str, dict[str, str], tuple[int, ...]], ...] = (
    ("kfp-api", {"app": "ml-pipeline"}, (8888, 8887)),
    ("kfp-metadata", {"component": "metadata-grpc-server"}, (8080,)),
    ("katib-db-manager", {"katib.kubeflow.org/component": "db-manager"}, (6789,)),
    ("model-registry", {"component": "model-registry-server"}, (8080,)),
    ("model-catalog", {"component": "model-catalog-server"}, (8080,)),
    ("kfp-minio", {"app": "minio"}, (9000,)),
)

#: Callers in ``kubeflow`` and ``knative-serving`` that reach workloads of a profile
#: namespace (the principals the profile controller's ``ns-owner-access-istio`` names:
#: kubeflow/kubeflow v1.8.0 components/profile-controller/controllers/profile_controller.go,
#: getAuthorizationPolicy: the KFP UI for owners, the notebook controller's culling GETs;
#: Knative's activator and autoscaler for probes and metrics).
PROFILE_CALLERS: tuple[tuple[str, dict[str, str]], ...] = (
    ("kubeflow", {"app": "ml-pipeline-ui"}),
    ("kubeflow", {"app": "notebook-controller"}),
    ("knative-serving", {"app": "activator"}),
    ("knative-serving", {"app": "autoscaler"}),
)


def _gateways_in(istio_ns: str, pods: dict[str, object] = GATEWAY_PODS) -> NetworkOpening:
    return NetworkOpening(name="allow-gateways", from_namespaces=(istio_ns,), from_pods=dict(pods))


def _kubeflow_openings(istio_ns: str) -> tuple[NetworkOpening, ...]:
    """kubeflow's openings beyond its own namespace (upstream 26.03's per-workload policies)."""
    everyone_but_webhook = {"matchExpressions": [{"key": KFP_PROFILE_CONTROLLER[0], "operator": "NotIn",
                                                  "values": list(KFP_PROFILE_CONTROLLER[1])}]}
    return (
        # The gateway routes to the web apps; each app's AuthorizationPolicy names the gateway.
        NetworkOpening(name="allow-ingress-gateway", pods=everyone_but_webhook, from_namespaces=(istio_ns,),
                       from_pods=dict(INGRESS_GATEWAY_PODS)),
        *(NetworkOpening(name=f"allow-profiles-to-{name}", pods={"matchLabels": labels},
                         from_namespace_labels=dict(PROFILE_NAMESPACES), ports=ports)
          for name, labels, ports in PROFILE_BACKENDS),
        NetworkOpening(name="allow-kfp-profile-controller-hook",
                       pods={"matchLabels": {KFP_PROFILE_CONTROLLER[0]: KFP_PROFILE_CONTROLLER[1][0]}},
                       from_pods=dict(METACONTROLLER_PODS)),
    )


def _profile_openings(istio_ns: str, knative: str | None) -> tuple[NetworkOpening, ...]:
    callers = [(namespace, pods) for namespace, pods in PROFILE_CALLERS if knative or namespace == "kubeflow"]
    return (
        _gateways_in(istio_ns),
        *(NetworkOpening(name=f"allow-{pods['app']}", from_namespaces=(knative if ns == "knative-serving" and knative
                                                                     else ns,),
                         from_pods={"matchLabels": dict(pods)})
          for ns, pods in callers),
    )


def platform_namespaces(spec: KubeflowSpec, resolved: Mapping[str, ResolvedComponent],
                        block_cloud_metadata: bool = False) -> dict[str, PlatformNamespaceArgs]:
    """The namespaces the platform creates, by role.

    Roles are ``kubeflow``, ``ns-<namespace>`` for add-ons (so two add-ons configured
    into one namespace share it) and ``profile-<name>`` for profiles. Namespaces of
    ``existing`` add-ons are not created (the cluster has them).

    No namespace admits another one as a whole: each opening names the pods it lets in
    (the gateways, a named platform caller) and, where upstream does, the ports. With
    ``block_cloud_metadata`` (clusters whose metadata endpoint hands out the node's cloud
    credentials: :func:`blocks_cloud_metadata`), profile pods cannot reach it.
    """
    istio_ns = resolved["istio"].namespace
    knative = resolved["knative_serving"]

    keeps_data = spec.protect_data and any(resolved[key].enabled for key in DATA_COMPONENTS)
    wanted: list[tuple[str, PlatformNamespaceArgs]] = [(KUBEFLOW_NAMESPACE, PlatformNamespaceArgs(
        namespace=KUBEFLOW_NAMESPACE, protect=keeps_data,
        open_ports=KUBEFLOW_WEBHOOK_PORTS, openings=_kubeflow_openings(istio_ns),
        private_pods={KFP_PROFILE_CONTROLLER[0]: KFP_PROFILE_CONTROLLER[1]},
        labels={**MESHED, "control-plane": "kubeflow"},
        **kubeflow_pod_security(spec.release),
    ))]
    if resolved["cert_manager"].enabled:
        wanted.append(_addon(resolved["cert_manager"].namespace, open_ports=CERT_MANAGER_WEBHOOK_PORTS))
    if resolved["istio"].enabled:
        # The gateways' listeners and istiod's ports are open to every client; nothing else is.
        wanted.append(_addon(istio_ns, open_ports=ISTIO_PORTS, **istio_pod_security(spec.release, knative.enabled)))
        wanted.append(_addon(ISTIO_CNI_NAMESPACE, pod_security="privileged"))
    if resolved["dex"].enabled:
        openings = [_gateways_in(istio_ns, INGRESS_GATEWAY_PODS)]
        if resolved["oauth2_proxy"].enabled:
            openings.append(NetworkOpening(name="allow-oauth2-proxy", from_namespaces=(resolved["oauth2_proxy"].namespace,),
                                           from_pods={"matchLabels": {"app.kubernetes.io/name": "oauth2-proxy"}}))
        wanted.append(_addon(resolved["dex"].namespace, openings=tuple(openings), labels=MESHED))
    if resolved["oauth2_proxy"].enabled:
        wanted.append(_addon(resolved["oauth2_proxy"].namespace, openings=(_gateways_in(istio_ns, INGRESS_GATEWAY_PODS),),
                             labels=MESHED))
    if knative.enabled:
        # Knative's directory creates this namespace itself: mlplane patches its labels. Its
        # own labels must agree with them (server-side apply refuses another value for a
        # label upstream sets): 26.03's enforces restricted, 1.8.1's sets no level
        # (tests/test_expansion_namespaces.py checks both against the expansion).
        level = KNATIVE_POD_SECURITY.get(spec.release, "baseline")
        wanted.append(_addon(knative.namespace, pod_security=level,
                             pod_security_warn="restricted" if level != "restricted" else None,
                             open_ports=KNATIVE_WEBHOOK_PORTS, upstream_owned=True,
                             # The gateways hand requests for scaled-to-zero revisions to the activator
                             # (its ports 8012 HTTP/1, 8013 HTTP/2: knative/serving config/core/
                             # deployments/activator.yaml), as 26.03's allow-istio-gateways-to-activator.
                             openings=(NetworkOpening(name="allow-gateways-to-activator",
                                                      pods={"matchLabels": {"app": "activator"}},
                                                      from_namespaces=(istio_ns,), from_pods=dict(GATEWAY_PODS),
                                                      ports=(8012, 8013)),)))
    for profile in spec.profiles:
        wanted.append((profile_role(profile.name), PlatformNamespaceArgs(
            namespace=profile.name, pod_security=profile.pod_security,
            pod_security_warn="restricted" if profile.pod_security != "restricted" else None,
            openings=_profile_openings(istio_ns, knative.namespace if knative.enabled else None),
            block_cloud_metadata=block_cloud_metadata,
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
        "openings": (*first.openings, *(o for o in second.openings if o not in first.openings)),
        "labels": {**first.labels, **second.labels},
        "protect": first.protect or second.protect,
    })


def blocks_cloud_metadata(cluster_kind: str) -> bool:
    """Whether tenant pods are kept from the instance metadata endpoint on this cluster kind.

    Everywhere but GKE: on EKS and AKS (and self-hosted clouds) it serves the node's own
    role or managed identity to any pod that asks; workload identities there come from
    projected tokens, not from it. GKE Workload Identity serves the pod's own
    ServiceAccount's identity from that address (cloud.google.com/kubernetes-engine/docs/
    concepts/workload-identity, "GKE metadata server"), which artifact access needs.
    """
    return cluster_kind != "gke"


def mesh_allows(spec: KubeflowSpec, resolved: Mapping[str, ResolvedComponent],
                gateway_principal: str) -> tuple[MeshAllow, ...]:
    """The Istio ALLOW policies mlplane adds to platform namespaces, each naming its callers' identities.

    Only the login flow's namespaces need one: Dex is called by the gateway (``/dex`` routes)
    and by oauth2-proxy (token redemption), oauth2-proxy by the gateway (ext_authz and
    ``/oauth2``). ``kubeflow`` and ``knative-serving`` keep upstream's per-workload policies
    alone, and profile namespaces the profile controller's and the contributors' policies:
    an ALLOW for a whole namespace would OR over every narrow one (Istio evaluates ALLOW
    policies as a union: istio.io "Authorization Policy", "ALLOW ... if any matches").
    """
    allows: dict[str, list[str]] = {}
    dex, proxy = resolved["dex"], resolved["oauth2_proxy"]
    if proxy.enabled:
        allows.setdefault(proxy.namespace, []).append(gateway_principal)
    if dex.enabled:
        callers = allows.setdefault(dex.namespace, [])
        callers.append(gateway_principal)
        if proxy.enabled:
            callers.append(principal(proxy.namespace, OAUTH2_PROXY_SERVICE_ACCOUNT))
    return tuple(MeshAllow(namespace=namespace, name="allow-login-callers", principals=tuple(_unique(tuple(found))))
                 for namespace, found in sorted(allows.items()))


def istio_pod_security(release: str, knative: bool) -> dict[str, str]:
    """Istio's namespace: ``restricted``, except where an upstream pod there cannot meet it.

    Knative's cluster-local gateway comes from kubeflow/manifests (common/istio-1-17/
    cluster-local-gateway at v1.8.1), whose Deployment sets no seccomp profile, so the
    ReplicaSet controller's pods are refused under ``restricted`` (``mlplane verify`` on the
    1.8.1 onprem stack: FailedCreate, seccompProfile). There ``baseline`` (warning at
    ``restricted``); upstream sets no level at all. The 26.03 gateway passes ``restricted``.
    """
    if knative and release not in KUBEFLOW_RESTRICTED:
        return {"pod_security": "baseline", "pod_security_warn": "restricted"}
    return {"pod_security": "restricted"}


def kubeflow_pod_security(release: str) -> dict[str, str]:
    """``kubeflow``'s Pod Security levels on ``release``: upstream's where it sets one, else baseline.

    kubeflow/manifests 26.03 enforces ``restricted`` (common/kubeflow-namespace/base/kubeflow/
    namespace.yaml); v1.8.1 sets no level (common/kubeflow-namespace/base/namespace.yaml), and
    its MySQL and MinIO run as root, so ``baseline`` there, warning at ``restricted``.
    """
    if release in KUBEFLOW_RESTRICTED:
        return {"pod_security": "restricted"}
    return {"pod_security": "baseline", "pod_security_warn": "restricted"}
