"""The access matrix: personas x targets, each cell allowed or denied with the deciding rule.

Every persona tries every way it has (:func:`attempts`): an attacker's forged headers
and bogus ``Authorization`` values included. A cell is *allowed* when any attempt gets
through every hop, with that attempt's trail as the reason; otherwise denied, with the
reason of the persona's plainest attempt.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mlplane.policy.access import kfp_api, minio, netpol, rbac, scenario
from mlplane.policy.access.cluster import Service, Workload
from mlplane.policy.access.paths import World, from_outside, to_service
from mlplane.policy.access.request import Http, Verdict, allow, deny

PERSONAS = ("anonymous", "owner of A", "edit contributor of A", "view contributor of A", "user of B only",
            "pod in A", "pod in B", "the gateway", "KFP UI")
METADATA_ADDRESS = "169.254.169.254"
LOGIN_PREFIXES = ("/dex/", "/oauth2/")
USER = "kubeflow-userid"
#: The Kubernetes API server's RBAC decides these targets (kubectl with a user's or a pod's credentials).
KUBE_API = "Kubernetes API in A"
#: The object store's S3 API port: reachable from pipeline steps; what they may read is the credential's business.
S3_API = "object store S3 API"


@dataclass(frozen=True)
class Target:
    """Something to reach: through a gateway route (``path``, ``host``) and/or a Service."""

    name: str
    group: str
    service: Service | None = None
    port: int = 80
    path: str = "/"
    host: str | None = None
    method: str = "GET"
    public: bool = False
    address: str | None = None
    artifact_of: str | None = None
    kube_request: rbac.Request | None = None
    #: What the KFP API server authorizes for this call (its SubjectAccessReview), see :mod:`kfp_api`.
    kfp_request: rbac.Request | None = None
    #: The gateway port its host is served on, where that is not the platform host's (its own Gateway).
    gateway_port: int | None = None


@dataclass(frozen=True)
class Cell:
    persona: str
    target: str
    verdict: Verdict


@dataclass
class Matrix:
    stack: str
    people: scenario.People
    targets: list[Target]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def cell(self, persona: str, target: str) -> Cell:
        return self.cells[(persona, target)]

    @property
    def counts(self) -> tuple[int, int, int]:
        allowed = sum(1 for c in self.cells.values() if c.verdict.allowed)
        return len(self.cells), allowed, len(self.cells) - allowed


def _gateway_service(world: World) -> Service | None:
    return world.cluster.service("istio-system", "istio-ingressgateway")


def _platform_host(world: World) -> tuple[str, int]:
    hosts, ports = set(), set()
    for gw in world.cluster.of_kind("Gateway"):
        if gw["metadata"]["name"] == "kubeflow-gateway":
            for server in gw["spec"]["servers"]:
                hosts.update(server["hosts"])
                ports.add(int(server["port"]["number"]))
    host = next((h for h in sorted(hosts) if h != "*"), "kubeflow.example")
    return host, (443 if 443 in ports else 80)


def _served_port(world: World, vs: Mapping[str, Any]) -> int | None:
    """The port of the first Gateway server (HTTPS first) that a VirtualService's gateways open for its host."""
    from mlplane.policy.access.routing import served_ports
    ports = served_ports(world.cluster, vs, (vs["spec"].get("hosts") or [""])[0])
    return 443 if 443 in ports else min(ports, default=None)


def _service_of(world: World, host: str, namespace: str) -> Service | None:
    from mlplane.policy.access.routing import resolve_service
    return resolve_service(world.cluster, host, namespace)


def targets(world: World, who: scenario.People) -> list[Target]:
    """Every target of the matrix in this world."""
    cluster = world.cluster
    host, _ = _platform_host(world)
    found: list[Target] = []
    for vs in sorted(cluster.of_kind("VirtualService"), key=lambda v: (v["metadata"]["namespace"], v["metadata"]["name"])):
        spec, ns = vs.get("spec") or {}, vs["metadata"]["namespace"]
        if "kubeflow/kubeflow-gateway" not in (spec.get("gateways") or ()) or spec.get("hosts") != ["*"]:
            continue
        for entry in spec.get("http") or ():
            prefix = next((m["uri"]["prefix"] for m in entry.get("match") or () if "prefix" in m.get("uri", {})), None)
            if prefix is None or prefix.startswith(("/notebook/", "/tensorboard/")):
                continue
            dest = (entry.get("route") or [{}])[0].get("destination") or {}
            login = prefix.startswith(LOGIN_PREFIXES)
            found.append(Target(f"web {prefix}", "login" if login else "Kubeflow web apps and APIs",
                                _service_of(world, dest.get("host", ""), ns), int((dest.get("port") or {}).get("number", 80)),
                                prefix, public=login))
    if (challenge := _service_of(world, "cm-acme-http-solver", "istio-system")) is not None:
        found.append(Target("ACME challenge", "login", challenge, path="/.well-known/acme-challenge/t", public=True))
    named = [
        ("KFP API", "kubeflow", "ml-pipeline", 8888,
         f"/apis/v1beta1/runs?resource_reference_key.type=NAMESPACE&resource_reference_key.id={who.a}", "GET"),
        ("KFAM", "kubeflow", "profiles-kfam", 8081, "/kfam/v1/bindings", "POST"),
        ("MLMD", "kubeflow", "metadata-grpc-service", 8080, "/ml_metadata.MetadataStoreService/GetArtifacts", "POST"),
        ("model registry", "kubeflow", "model-registry-service", 8080, "/api/model_registry/v1alpha3/registered_models", "GET"),
        ("visualization server", "kubeflow", "ml-pipeline-visualizationserver", 8888, "/", "POST"),
        ("visualization server of A", who.a, "ml-pipeline-visualizationserver", 8888, "/", "POST"),
        ("profile-controller webhook", "kubeflow", "kubeflow-pipelines-profile-controller", 80, "/sync", "POST"),
    ]
    for name, ns, svc, port, path, method in named:
        if (service := cluster.service(ns, svc)) is not None:
            kfp = rbac.Request("list", "runs", who.a, group="pipelines.kubeflow.org") if name == "KFP API" else None
            found.append(Target(name, "Kubeflow backends", service, port, path, method=method, kfp_request=kfp))
    for service in sorted(cluster.services.values(), key=lambda s: (s.namespace, s.name)):
        if service.namespace != "kubeflow":
            continue
        if "mysql" in service.name or service.name.endswith("-db"):
            found += [Target(f"database {service.name}:{p}", "databases", service, p) for p in sorted(service.ports)]
        if service.name in ("seaweedfs", "minio-service"):
            s3 = 8333 if 8333 in service.ports else 9000 if 9000 in service.ports else next(iter(sorted(service.ports)))
            # The S3 API is open to pipeline steps by design (isolation is per-profile credentials,
            # judged by the artifacts cell below); the store's other ports (filer, master, volume,
            # admin, console) are not. SeaweedFS's 9000 ("http-s3-compat") targets the S3 listener too
            # (kubeflow/manifests applications/pipeline/upstream/third-party/seaweedfs/base/seaweedfs/seaweedfs-service.yaml).
            found += [Target(f"object store {service.name}:{p}",
                             S3_API if service.ports[p] == service.ports[s3] else "object store ports", service, p)
                      for p in sorted(service.ports)]
            found.append(Target("A's artifacts through the object store", "A's artifacts", service, s3,
                                f"/mlpipeline/private-artifacts/{who.a}/run/x", artifact_of=who.a))
    if (ui := cluster.service("kubeflow", "ml-pipeline-ui")) is not None:
        found.append(Target("A's artifacts through the KFP UI", "A's artifacts", ui, 80,
                            f"/pipeline/artifacts/get?source=s3&bucket=mlpipeline&key=private-artifacts/{who.a}/run/x"
                            f"&namespace={who.a}", artifact_of=who.a))
        # Without a namespace the UI serves the object itself, with the platform's store key.
        found.append(Target("A's artifacts through the KFP UI, no namespace named", "A's artifacts", ui, 80,
                            f"/pipeline/artifacts/get?source=s3&bucket=mlpipeline&key=private-artifacts/{who.a}/run/x",
                            artifact_of=who.a))
    for kind, prefix in (("notebook", "notebook"), ("TensorBoard", "tensorboard")):
        if (svc := cluster.service(who.a, "probe")) is not None:
            found.append(Target(f"A's {kind}", "profile A", svc, 80, f"/{prefix}/{who.a}/probe/"))
    if (svc := cluster.service(who.a, "probe-predictor")) is not None:
        found.append(Target("A's endpoint", "profile A", svc, 80, "/v1/models/probe:predict",
                            host=f"probe-{who.a}.example.com", method="POST"))
    for vs in sorted(cluster.of_kind("VirtualService"), key=lambda v: v["metadata"]["name"]):
        spec = vs.get("spec") or {}
        if vs["metadata"]["namespace"] != "mlplane" or spec.get("hosts") == ["*"]:
            continue  # mlplane's own hosts: endpoints and web apps in the workload namespace
        last = (spec.get("http") or [{}])[-1]
        dest = (last.get("route") or [{}])[0].get("destination") or {}
        service = _service_of(world, dest.get("host", ""), vs["metadata"]["namespace"])
        public = any(h in _public_hosts(world) for h in spec.get("hosts") or ())
        found.append(Target(f"mlplane {spec['hosts'][0]}", "mlplane's endpoints and web apps", service,
                            int((dest.get("port") or {}).get("number", 80)), "/", host=spec["hosts"][0], public=public,
                            gateway_port=_served_port(world, vs)))
    found.append(Target("cloud metadata endpoint", "cloud", address=METADATA_ADDRESS))
    found += [Target(name, KUBE_API, kube_request=request) for name, request in (
        ("create pods in A", rbac.Request("create", "pods", who.a)),
        ("read secrets in A", rbac.Request("get", "secrets", who.a)),
        ("exec into A's pods", rbac.Request("create", "pods", who.a, subresource="exec")),
    )]
    _ = host
    return found


def _public_hosts(world: World) -> list[str]:
    hosts = set()
    for policy in world.cluster.of_kind("AuthorizationPolicy"):
        for rule in (policy.get("spec") or {}).get("rules") or ():
            for to in rule.get("to") or ():
                hosts.update(h for h in (to.get("operation") or {}).get("notHosts") or () if not h.endswith(":*"))
    return sorted(hosts)


def _source(world: World, persona: str, who: scenario.People) -> Workload | None:
    cluster = world.cluster
    if persona in ("pod in A", "pod in B"):
        namespace = who.a if persona == "pod in A" else who.b
        return Workload(namespace, "attacker", "Pod", {"app": "attacker"}, "default-editor",
                        proxied=any(w.proxied for w in cluster.workloads if w.namespace == namespace)
                        or cluster.namespace_labels(namespace).get("istio-injection") == "enabled")
    if persona == "the gateway":
        return next((w for w in cluster.workloads if w.namespace == "istio-system" and w.labels.get("istio") == "ingressgateway"), None)
    if persona == "KFP UI":
        return cluster.workload("kubeflow", "ml-pipeline-ui")
    return None


def _user(persona: str, who: scenario.People) -> str | None:
    return {"owner of A": who.owner_a, "edit contributor of A": who.edit_a, "view contributor of A": who.view_a,
            "user of B only": who.user_b}.get(persona)


def _stolen_token(world: World, who: scenario.People) -> str | None:
    """A's owner's token, when the gateway forwards users' tokens to the backends they visit."""
    forwards = any(rule.get("forwardOriginalToken") for o in world.cluster.of_kind("RequestAuthentication")
                   for rule in (o.get("spec") or {}).get("jwtRules") or ())
    return world.sessions.known[f"session-{who.owner_a}"][1] if forwards else None


def _outside_attempts(world: World, persona: str, who: scenario.People, base: Http) -> list[Http]:
    user = _user(persona, who)
    if user is not None:
        cookie = base.with_headers(cookie=f"_oauth2_proxy_kubeflow=session-{user}")
        return [cookie] + ([cookie.with_headers(kubeflow_userid=who.owner_a)] if user != who.owner_a else [])
    forged = base.with_headers(authorization="x", kubeflow_userid=who.owner_a)
    tries = [base, base.with_headers(authorization="x"), forged]
    tries += [replace(forged, host=h, port=80) for h in _public_hosts(world)]
    return tries


def _identity(world: World, persona: str, who: scenario.People) -> rbac.Identity:
    """Who a persona is to the Kubernetes API server (its user, or its pod's ServiceAccount)."""
    if (user := _user(persona, who)) is not None:
        return rbac.Identity.person(user)
    if (source := _source(world, persona, who)) is not None:
        return rbac.Identity.service_account(source.namespace, source.service_account)
    return rbac.Identity.anonymous()


def _evaluate(world: World, persona: str, target: Target, who: scenario.People) -> Verdict:
    if target.kube_request is not None:
        objects = [o for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
                   for o in world.cluster.of_kind(kind)]
        return rbac.decide(objects, _identity(world, persona, who), target.kube_request)
    gateway = _gateway_service(world)
    host, port = _platform_host(world)
    source = _source(world, persona, who)
    base = Http(host=target.host or host, path=target.path, method=target.method, port=target.gateway_port or port)
    if target.address is not None:
        if source is None:
            return deny(f"{target.address} is link-local: not reachable from outside the cluster")
        verdict = netpol.connect(world.cluster, netpol.Endpoint(source), netpol.Endpoint(address=target.address), 80)
        if verdict and world.metadata_server == "gke":
            return deny(f"{verdict.reason} -> but the GKE metadata server answers there (every node pool runs "
                        "GKE_METADATA, a declared prerequisite): it gives a pod only its own Kubernetes "
                        "ServiceAccount's federated identity, never the node's service account (Google Cloud, "
                        "Workload Identity Federation for GKE; GKE API WorkloadMetadataConfig.Mode)")
        return verdict
    verdicts: list[Verdict] = []
    if source is None:
        if gateway is None:
            return deny("no ingress gateway")
        for http in _outside_attempts(world, persona, who, base):
            if (elsewhere := _routed_elsewhere(world, gateway, http, target)) is not None:
                verdicts.append(elsewhere)
                continue
            verdict, trail = from_outside(world, gateway, http)
            verdicts.append(_after(world, target, http, verdict, trail, _user(persona, who)))
            if verdicts[-1]:
                return verdicts[-1]
        return verdicts[0]
    if target.service is None:
        return deny("nothing serves it")
    direct = Http(host=f"{target.service.name}.{target.service.namespace}.svc.cluster.local", path=target.path,
                  method=target.method, port=target.port)
    headers: list[Mapping[str, str]] = [{}]
    if persona == "KFP UI":
        headers = [{USER: who.user_b}]
    elif persona.startswith("pod"):
        headers = [{}, {USER: who.owner_a}]
    for extra in headers:
        http = replace(direct, headers=dict(extra))
        verdict, trail = to_service(world, source, target.service, target.port, http)
        verdicts.append(_after(world, target, http, verdict, trail, extra.get(USER), source))
        if verdicts[-1]:
            return verdicts[-1]
    if persona.startswith("pod") and (entry := _named_service(world, target)) is not None:
        # The in-cluster name of a serverless endpoint is Knative's local gateway (an ExternalName):
        # a pod may call it with its sidecar, or with its sidecar bypassed (plain TCP from the pod).
        # Host with and without a port: Istio's ``hosts`` match literally (istio/istio pilot/pkg/
        # security/authz/model/generator.go, hostGenerator), Envoy's routes match both forms.
        for client in (source, replace(source, proxied=False)):
            for authority in (target.host or "", f"{target.host}:80"):
                http = Http(host=authority, path=target.path, method=target.method, port=80)
                verdict, trail = to_service(world, client, entry, 80, http)
                verdicts.append(_after(world, target, http, verdict, trail, None, client))
                if verdicts[-1]:
                    how = "with its sidecar" if client.proxied else "without a sidecar"
                    return allow(f"through {entry.namespace}/{entry.name} ({how}, Host {authority}): "
                                 f"{verdicts[-1].reason}")
    if persona.startswith("pod") and gateway is not None:
        tries = [base.with_headers(authorization="x", kubeflow_userid=who.owner_a)]
        if (token := _stolen_token(world, who)) is not None:
            tries.append(base.with_headers(authorization=f"Bearer {token}"))
        for http in tries:
            verdict, trail = to_service(world, source, gateway, port, http)
            verdicts.append(_after(world, target, http, verdict, trail, None, source))
            if verdicts[-1]:
                return allow(f"through the gateway: {verdicts[-1].reason}")
    return verdicts[0]


def _named_service(world: World, target: Target) -> Service | None:
    """The Service a pod reaches by ``target``'s in-cluster host name, when it is not the target's own
    (a serverless endpoint's ``<name>-predictor.<ns>.svc.cluster.local`` names Knative's local gateway)."""
    if not target.host or target.service is None:
        return None
    from mlplane.policy.access.routing import resolve_service
    named = resolve_service(world.cluster, target.host, target.service.namespace)
    if named is None or (named.namespace, named.name) == (target.service.namespace, target.service.name):
        return None
    return named


def _routed_elsewhere(world: World, gateway: Service, http: Http, target: Target) -> Verdict | None:
    """A denial when the gateway's route for ``http`` does not lead to ``target``'s Service."""
    if target.service is None:
        return None
    from mlplane.policy.access.paths import backend
    from mlplane.policy.access.routing import resolve_service, route
    workload, pod_port = backend(world.cluster, gateway, http.port)
    if workload is None:
        return deny("no ingress gateway")
    found = route(world.cluster, workload, replace(http, port=pod_port))
    wanted = resolve_service(world.cluster, target.service.name, target.service.namespace)
    if found is not None and found.service is not None and wanted is not None and \
            (found.service.namespace, found.service.name) != (wanted.namespace, wanted.name):
        return deny(f"no gateway route reaches it ({found.virtual_service} takes {http.path.split('?', 1)[0]})")
    return None


def _after(world: World, target: Target, http: Http, verdict: Verdict, trail: list[str], user: str | None,
           source: Workload | None = None) -> Verdict:
    """The application's own decision behind the mesh, where the target has one."""
    if not verdict:
        return verdict
    reason = " -> ".join(trail) if trail else verdict.reason
    if target.kfp_request is not None:
        caller = rbac.Identity.service_account(source.namespace, source.service_account) if source is not None else None
        objects = [o for kind in ("Deployment", "ConfigMap", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
                   for o in world.cluster.of_kind(kind)]
        return kfp_api.decide(objects, target.kfp_request, user or http.header(USER), caller, reason)
    if target.artifact_of and "KFP UI" in target.name:
        return _ui_artifact(world, target, user, reason)
    if target.artifact_of and source is not None:
        return _s3_credential(world, target, source, reason)
    return allow(reason)


def _ui_artifact(world: World, target: Target, user: str | None, reason: str) -> Verdict:
    ui = world.cluster.workload("kubeflow", "ml-pipeline-ui")
    env = {}
    for obj in world.cluster.of_kind("Deployment"):
        if obj["metadata"]["name"] == "ml-pipeline-ui":
            from mlplane.policy.access.kfp_sync import _container_env
            env = _container_env([*world.cluster.of_kind("ConfigMap")], obj)
    # The UI proxies only when URLSearchParams' first ``namespace`` is non-empty (handlers/artifacts.ts,
    # getNamespaceFromUrl); form decoding as the WHATWG URL standard's application/x-www-form-urlencoded.
    query = urllib.parse.parse_qsl(target.path.partition("?")[2], keep_blank_values=True)
    named = next((value for key, value in query if key == "namespace"), "")
    if not named:
        return allow(f"{reason} -> without a namespace the KFP UI serves the artifact with its own store key and "
                     "checks nobody (kubeflow/pipelines frontend/server/handlers/artifacts.ts at 2.0.5 and 2.16.0)")
    if env.get("ARTIFACTS_SERVICE_PROXY_ENABLED", "false").lower() != "true" or ui is None:
        return allow(f"{reason} -> KFP UI serves the artifact with its own store key and checks no namespace "
                     "(kubeflow/pipelines frontend/server/handlers/artifacts.ts at 2.0.5 and 2.16.0)")
    proxy = world.cluster.service(target.artifact_of or "", "ml-pipeline-ui-artifact")
    if proxy is None:
        return deny(f"{reason} -> no artifact proxy in {target.artifact_of}")
    verdict, trail = to_service(world, ui, proxy, 80, Http(path=target.path, headers={USER: user} if user else {}))
    return allow(f"{reason} -> {' -> '.join(trail)}") if verdict else verdict


def _s3_credential(world: World, target: Target, source: Workload, reason: str) -> Verdict:
    policy = world.s3_policies.get(source.namespace)
    bucket, key = target.path.lstrip("/").split("/", 1)
    if policy is None and world.minio_users:
        return _minio_credential(world, target, source, reason, bucket, key)
    if policy is None:
        return allow(f"{reason} -> the namespace's artifact Secret holds the store's admin key (no per-namespace policy)")
    for resource in policy:
        pattern = resource.split(":::", 1)[-1]
        if pattern.endswith("*") and key.startswith(pattern[:-1]) or key == pattern:
            return allow(f"{reason} -> {source.namespace}'s S3 policy allows {pattern}")
    return deny(f"{reason} -> but {source.namespace}'s S3 identity may only use {', '.join(policy)}")


def _minio_credential(world: World, target: Target, source: Workload, reason: str, bucket: str, key: str
                      ) -> Verdict:
    """MinIO's decision for the key the source's namespace holds (its ``mlpipeline-minio-artifact``)."""
    secret = next((o for o in world.cluster.of_kind("Secret") if o["metadata"].get("namespace") == source.namespace
                   and o["metadata"]["name"] == "mlpipeline-minio-artifact"), None)
    if secret is None:
        return deny(f"{reason} -> but {source.namespace} holds no object-store key (no mlpipeline-minio-artifact)")
    data = secret.get("data") or {}
    access = base64.b64decode(data["accesskey"]).decode() if "accesskey" in data else \
        str((secret.get("stringData") or {}).get("accesskey"))
    if access not in world.minio_users:
        return allow(f"{reason} -> {source.namespace}'s mlpipeline-minio-artifact holds a key that is no declared "
                     "MinIO user: the profile controller's MINIO_ACCESS_KEY, MinIO's root (owner: allowed "
                     "everything, minio/minio RELEASE.2019-08-14T20-37-41Z cmd/iam.go IsAllowed)")
    owner, document = world.minio_users[access]
    folder = f"{key.split('/', 2)[0]}/{target.artifact_of}/" if key.count("/") >= 2 else ""
    calls = minio.object_access(document, bucket, key, folder)
    if calls:
        return allow(f"{reason} -> MinIO user {access} (policy of {owner}) may {', '.join(calls)} on {bucket}/{key}")
    return deny(f"{reason} -> but MinIO user {access} (policy of {owner}) may not get, put, delete {bucket}/{key} "
                f"nor list {folder} (its policy evaluated as MinIO does: policy/access/minio.py)")


def evaluate(stack: str, objects: list[Mapping[str, Any]], metadata_server: str | None = None) -> Matrix:
    """The whole matrix of one plan (its Kubernetes objects).

    Args:
        stack: The stack's name (for reports).
        objects: The plan's Kubernetes objects.
        metadata_server: ``"gke"`` when the stack's prerequisites guarantee the GKE metadata
            server on every node (:data:`mlplane.infra.prerequisites.GKE_METADATA_SERVER`);
            None for the cloud's plain instance metadata service.
    """
    world, who = scenario.world(objects)
    world.metadata_server = metadata_server
    result = Matrix(stack, who, targets(world, who))
    for persona in PERSONAS:
        for target in result.targets:
            result.cells[(persona, target.name)] = Cell(persona, target.name, _evaluate(world, persona, target, who))
    return result
