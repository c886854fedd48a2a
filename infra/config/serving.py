"""``mlplane:serving``: model endpoints and the web apps in front of them.

Each endpoint names a model (format and location) or a custom server container,
resources, an accelerator request, a replica range, an optional canary, and a host
(exposed through the Istio ingress gateway with TLS and, unless ``public: true``,
login). Each web app names its container and the endpoint it talks to. The section's
own checks run in its models; the rules here check it against the rest of the stack:
KServe's mode (``mlplane:kubeflow``), the artifact store (``mlplane:storage``), the
accelerator pools (``mlplane:accelerators``), namespaces, hosts and references.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from mlplane.components.base import ArgsModel
from mlplane.components.scheduling import SchedulingError, place, pools_for
from mlplane.components.serving.checks import backend_for, backend_issues, derived_name_issues, store_issue
from mlplane.components.serving.config import EndpointConfig, Exposed, WebAppConfig
from mlplane.components.serving.spec import ServingBackend
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

SECTION = "mlplane:serving"


class ServingConfig(ArgsModel):
    """Model endpoints and web apps of a stack."""

    endpoints: tuple[EndpointConfig, ...] = Field((), description="Model endpoints.")
    web_apps: tuple[WebAppConfig, ...] = Field((), description="Web apps (UIs) in front of endpoints.")


@dataclass(frozen=True)
class ServingPlatform:
    """What the rest of the stack offers serving, from the config alone (pure).

    Attributes:
        backend: Where endpoints run (KServe's mode, or plain Deployments).
        gateway: Whether the Istio ingress gateway exists.
        issuer: Whether cert-manager (with mlplane's issuer) exists.
        login: Whether oauth2-proxy logs users in at the gateway.
        platform_host: The platform's own host, if any.
        namespaces: Namespaces endpoints and apps may run in.
        workload_namespace: The default one (where the artifact store's ServiceAccount is).
        store_scheme: The artifact store's URI scheme, or None without a store.
        store_credentials: How pods get the store's credentials, or None.
        existing_certificate: The platform's certificate is a Secret the team keeps
            (issuer kind existing-secret): there is no issuer for other hosts.
    """

    backend: ServingBackend
    gateway: bool
    issuer: bool
    login: bool
    platform_host: str | None
    namespaces: tuple[str, ...]
    workload_namespace: str
    store_scheme: str | None
    store_credentials: str | None
    profiles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    existing_certificate: bool = False
    store_kind: str | None = None


def serving_platform(config: "StackConfig") -> ServingPlatform:
    """What serving can count on in this stack (KServe, gateway, issuer, login, store)."""
    from mlplane.components.platform.resolve import resolve
    from mlplane.components.storage.spec import artifact_store_facts

    workload = config.cluster.workload_namespace
    spec = config.kubeflow
    namespaces: tuple[str, ...] = (workload,)
    profiles: tuple[str, ...] = ()
    backend: ServingBackend = "deployment"
    gateway = issuer = login = False
    host = None
    if spec is not None:
        resolved = resolve(spec)
        kserve = resolved["kserve"]
        backend = backend_for(kserve.available, spec.components.kserve.deployment_mode)
        gateway = resolved["istio"].available
        issuer = resolved["cert_manager"].available
        login = resolved["oauth2_proxy"].enabled
        host = spec.ingress.host
        namespaces += tuple(p.name for p in spec.profiles if p.name != workload)
        profiles = tuple(p.name for p in spec.profiles)
    store = config.storage.artifacts if config.storage is not None else None
    facts = artifact_store_facts(store, namespace=workload) if store is not None else None
    return ServingPlatform(
        existing_certificate=spec is not None and spec.issuer.kind == "existing-secret",
        store_kind=facts.kind if facts else None,
        backend=backend, gateway=gateway, issuer=issuer, login=login, platform_host=host, namespaces=namespaces,
        workload_namespace=workload, store_scheme=facts.scheme if facts else None,
        store_credentials=facts.credentials if facts else None, profiles=profiles, groups=tuple(config.auth.groups),
    )


def _exposure_findings(path: tuple[Any, ...], item: Exposed, platform: ServingPlatform) -> Iterator[Finding]:
    if item.host is None:
        return
    if not platform.gateway:
        yield Finding((*path, "host"), "a host is served through the Istio ingress gateway, and this stack has no "
                      "Istio", item.host, "no host, or enable istio in mlplane:kubeflow.components")
    if not platform.issuer:
        yield Finding((*path, "host"), "a host gets its TLS certificate from cert-manager, and this stack has none",
                      item.host, "no host, or enable cert_manager in mlplane:kubeflow.components")
    if platform.existing_certificate:
        yield Finding((*path, "host"), "the platform's certificate is a Secret you keep (mlplane:kubeflow.issuer.kind "
                      "existing-secret), so no issuer signs a certificate for another host", item.host,
                      "no host (reach it through the platform's host), or issuer kind acme or self-signed")
    if not item.public and not platform.login:
        yield Finding((*path, "public"), f"host {item.host!r} requires login, and this stack has no oauth2-proxy",
                      item.public, "public: true (explicitly without login), or enable dex and oauth2_proxy")
    if item.public and platform.gateway and platform.platform_host is None:
        # Without ingress.host, kubeflow-gateway serves every host and Kubeflow's routes match
        # any Host header: the public host's login exemption would cover them too.
        yield Finding((*path, "public"), f"public host {item.host!r} would exempt Kubeflow's routes from the login: "
                      "without mlplane:kubeflow.ingress.host the Kubeflow gateway answers every host, this one too",
                      item.public, "set mlplane:kubeflow.ingress.host (another host), or public: false")


def _caller_findings(path: tuple[Any, ...], item: Exposed, platform: ServingPlatform) -> Iterator[Finding]:
    for index, group in enumerate(item.groups):
        if group not in platform.groups:
            yield Finding((*path, "groups", index), "not a group mlplane:auth.groups declares", group,
                          ", ".join(platform.groups) or "declare the provider's groups in mlplane:auth.groups first")
    for index, profile in enumerate(item.profiles):
        if profile not in platform.profiles:
            yield Finding((*path, "profiles", index), "not a profile mlplane:kubeflow.profiles declares", profile,
                          ", ".join(platform.profiles) or "declare the profile in mlplane:kubeflow.profiles first")
    namespace = getattr(item, "namespace", None) or platform.workload_namespace
    if item.host is not None and not item.public and platform.login and not item.names_callers() \
            and namespace not in platform.profiles:
        # Issue 22 item 5: a host says who may call it; "anyone who can log in" must be said out loud.
        yield Finding((*path, "host"), f"host {item.host!r} would admit every account that may log in: it runs in "
                      f"namespace {namespace!r}, which is no profile whose members could be its default callers",
                      item.host, "users, groups or profiles (who may call it), or any_account: true (every account "
                      "that may log in, explicitly)")
    known = (*platform.namespaces, "kubeflow")
    for index, caller in enumerate(item.allow_from):
        if caller not in known:
            yield Finding((*path, "allow_from", index), "not a namespace this stack declares; it would let in "
                          "whatever runs there", caller, ", ".join(known) + " (the workload namespace, a profile, "
                          "or kubeflow)")


def _namespace_findings(path: tuple[Any, ...], namespace: str | None, platform: ServingPlatform) -> Iterator[Finding]:
    if namespace is not None and namespace not in platform.namespaces:
        yield Finding((*path, "namespace"), "not a namespace this stack creates", namespace,
                      ", ".join(platform.namespaces) + " (the workload namespace or a profile)")


class _Seen:
    """Names and hosts already taken, for uniqueness across endpoints and apps."""

    def __init__(self, platform: ServingPlatform) -> None:
        self.names: set[str] = set()
        self.hosts: dict[str, tuple[Any, ...]] = {}
        if platform.platform_host:
            self.hosts[platform.platform_host] = ("mlplane:kubeflow", "ingress", "host")

    def findings(self, path: tuple[Any, ...], item: EndpointConfig | WebAppConfig) -> Iterator[Finding]:
        if item.name in self.names:
            yield Finding((*path, "name"), "name used twice in mlplane:serving (endpoints and web apps share "
                          "Kubernetes names)", item.name, "unique names")
        self.names.add(item.name)
        if item.host is not None:
            if item.host in self.hosts:
                where = describe(self.hosts[item.host])
                yield Finding((*path, "host"), f"host already used by {where} (also here: {describe((*path, 'host'))})",
                              item.host, "one host per endpoint or app")
            self.hosts.setdefault(item.host, (*path, "host"))


def describe(path: tuple[Any, ...]) -> str:
    """Where an endpoint or app is declared, for messages: a key path, or a pipeline's step."""
    if len(path) >= 4 and path[0] == "mlplane:pipelines":
        return f"pipeline {path[2]!r}, step {path[3]!r}"
    return path[0] + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:]) if path else ""


def _common_findings(path: tuple[Any, ...], item: EndpointConfig | WebAppConfig, platform: ServingPlatform,
                     seen: _Seen) -> Iterator[Finding]:
    """What endpoints and apps share: unique names and hosts, known namespaces, exposure."""
    yield from seen.findings(path, item)
    yield from _namespace_findings(path, item.namespace, platform)
    yield from _exposure_findings(path, item, platform)
    yield from _caller_findings(path, item, platform)


@rule
def serving_fits_the_stack(config: "StackConfig") -> Iterator[Finding]:
    """Endpoints and apps against KServe's mode, the artifact store, pools, namespaces and hosts."""
    serving = config.serving
    if serving is None:
        return
    platform = serving_platform(config)
    seen = _Seen(platform)
    served: dict[str, str] = {}
    for index, endpoint in enumerate(serving.endpoints):
        path = (SECTION, "endpoints", index)
        yield from _common_findings(path, endpoint, platform, seen)
        yield from _endpoint_findings(path, endpoint, platform, config)
        claim = endpoint.model.volume.claim if endpoint.model is not None and endpoint.model.volume else None
        if claim is None or one_node_volume(claim, endpoint.namespace or platform.workload_namespace, config) is None:
            continue
        if claim in served:  # with pipelines, pipelines/claims.py judges steps and serve steps too
            yield Finding((*path, "model", "volume", "claim"), f"endpoints {served[claim]!r} and {endpoint.name!r} "
                          f"serve from claim {claim}, which attaches to one node at a time: on different nodes the "
                          "later one waits on Multi-Attach", claim, "one endpoint per such claim, a class that mounts "
                          "on many nodes (an nfs class, access_modes: [ReadWriteMany]), or model.uri")
        served.setdefault(claim, endpoint.name)
    endpoints = {e.name for e in serving.endpoints}
    for index, app in enumerate(serving.web_apps):
        path = (SECTION, "web_apps", index)
        yield from _common_findings(path, app, platform, seen)
        if app.backend is not None and app.backend.endpoint not in endpoints:
            yield Finding((*path, "backend", "endpoint"), "not an endpoint of mlplane:serving.endpoints",
                          app.backend.endpoint, ", ".join(sorted(endpoints)) or "none declared")


def step_findings(config: "StackConfig",
                  items: list[tuple[tuple[Any, ...], EndpointConfig | WebAppConfig]]) -> Iterator[Finding]:
    """Check endpoints and web apps that pipeline steps declare, as if they were in ``mlplane:serving``.

    Their names and hosts must not clash with the section's, nor with each other.
    """
    platform = serving_platform(config)
    seen = _Seen(platform)
    if config.serving is not None:  # take the section's names and hosts first
        for key, entries in (("endpoints", config.serving.endpoints), ("web_apps", config.serving.web_apps)):
            for index, item in enumerate(entries):
                list(seen.findings((SECTION, key, index), item))
    for path, item in items:
        yield from _common_findings(path, item, platform, seen)
        if isinstance(item, EndpointConfig):
            yield from _endpoint_findings(path, item, platform, config)


def _endpoint_findings(path: tuple[Any, ...], endpoint: EndpointConfig, platform: ServingPlatform,
                       config: "StackConfig") -> Iterator[Finding]:
    """An endpoint against KServe's mode, the artifact store and the accelerator pools."""
    for issue in backend_issues(platform.backend, endpoint.replicas, endpoint.canary_percent):
        yield Finding((*path, *issue.path), issue.message, issue.value, issue.allowed)
    namespace = endpoint.namespace or platform.workload_namespace
    for issue in derived_name_issues(endpoint.name, namespace, platform.backend):
        yield Finding((*path, *issue.path), issue.message, issue.value, issue.allowed)
    yield from _one_node_model_findings(path, endpoint, platform, config)
    issue = store_issue(endpoint.model, platform.store_scheme)
    if issue is not None:
        yield Finding((*path, *issue.path), issue.message, issue.value, issue.allowed)
    elif endpoint.model is not None and endpoint.model.uri is not None:
        yield from _store_access(path, endpoint, platform)
    if endpoint.runtime_image is not None and platform.backend != "deployment":
        yield Finding((*path, "runtime_image"), "KServe picks the serving runtime of the model format; "
                      "runtime_image applies to plain Deployments only", endpoint.runtime_image,
                      "runtime_version (the runtime image's tag) while KServe is enabled")
    if endpoint.runtime_version is not None and (platform.backend == "deployment" or endpoint.model is None):
        yield Finding((*path, "runtime_version"), "runtime_version picks the tag of a KServe serving runtime's "
                      "image; this endpoint has none", endpoint.runtime_version,
                      "runtime_image without KServe; the container's own image for a custom server")
    if endpoint.accelerator is not None:
        pools = pools_for(config)
        try:
            place(endpoint.accelerator, pools, stack=config.source.stack)
        except SchedulingError as exc:
            yield Finding((*path, "accelerator"), str(exc), endpoint.accelerator.describe(),
                          ", ".join(p.name for p in pools) or "no accelerator (the stack has no pools)")


def one_node_volume(claim: str, namespace: str, config: "StackConfig") -> tuple[int, Any] | None:
    """The declared volume (index, spec) behind ``claim`` in ``namespace`` when it attaches to one node only."""
    storage = config.storage
    if storage is None:
        return None
    from mlplane.components.storage.rules import one_node_claim

    workload = config.cluster.workload_namespace
    return next(((index, v) for index, v in enumerate(storage.volumes) if v.claim_name == claim
                 and (v.namespace or workload) == namespace
                 and one_node_claim(v.access_modes, v.storage_class, storage.classes)), None)


def _one_node_model_findings(path: tuple[Any, ...], endpoint: EndpointConfig, platform: ServingPlatform,
                             config: "StackConfig") -> Iterator[Finding]:
    """A model on a claim that attaches to one node: one pod at a time, never a surge pod elsewhere.

    Two pods of the endpoint on two nodes never both start: the second waits on
    "Multi-Attach error" (kserve/kserve#3409). mlplane makes one replica work by replacing
    the pod (Recreate) where the backend lets it: plain Deployments, and KServe raw mode from
    0.16 (26.03). Knative (serverless) always starts a revision's pod before the old one
    stops; KServe 0.11.2 (1.8.1) always surges its raw Deployments.
    """
    if endpoint.model is None or endpoint.model.volume is None:
        return
    namespace = endpoint.namespace or platform.workload_namespace
    storage, claim = config.storage, endpoint.model.volume.claim
    homes = [(i, v.namespace or platform.workload_namespace) for i, v in
             enumerate(storage.volumes if storage is not None else ()) if v.claim_name == claim]
    if homes and all(home != namespace for _, home in homes):
        index, home = homes[0]
        yield Finding((*path, "model", "volume", "claim"), f"mlplane:storage.volumes[{index}] creates this claim in "
                      f"namespace {home}; the endpoint runs in {namespace}, where no such claim exists", claim,
                      f"mlplane:storage.volumes[{index}].namespace: {namespace}, or the endpoint in {home}")
    found = one_node_volume(claim, namespace, config)
    if found is None:
        return
    index, volume = found
    storage_class = next(c for c in config.storage.classes if c.name == volume.storage_class)  # type: ignore[union-attr]
    what = (f"the model's volume (mlplane:storage.volumes[{index}], claim {volume.claim_name}, "
            f"{'/'.join(volume.access_modes)} on {storage_class.kind} class {volume.storage_class!r}) attaches to one "
            "node at a time, so a second pod of the endpoint on another node waits on Multi-Attach forever")
    ways = ("give the volume a class that mounts on many nodes (an nfs class, access_modes: [ReadWriteMany]), or "
            "serve the model from the artifact store (model.uri)")
    if endpoint.replicas.max > 1:
        yield Finding((*path, "replicas", "max"), f"{what}: more than one replica cannot share it",
                      endpoint.replicas.max, f"1 (mlplane then replaces the pod on updates), or {ways}")
    release = config.kubeflow.release if config.kubeflow is not None else None
    if platform.backend == "kserve-serverless":
        yield Finding((*path, "model", "volume", "claim"), f"{what}: Knative starts each new revision's pod before "
                      "the old one stops", endpoint.model.volume.claim,
                      f"components.kserve.deployment_mode: raw with one replica (mlplane replaces the pod), or {ways}")
    elif platform.backend == "kserve-raw" and release == "1.8.1":
        yield Finding((*path, "model", "volume", "claim"), f"{what}: KServe 0.11.2 (release 1.8.1) always rolls "
                      "its raw Deployments out with a surge pod (no deploymentStrategy until KServe 0.16)",
                      endpoint.model.volume.claim, f"release 26.03 (KServe 0.16: mlplane sets Recreate), or {ways}")


def _store_access(path: tuple[Any, ...], endpoint: EndpointConfig, platform: ServingPlatform) -> Iterator[Finding]:
    namespace = endpoint.namespace or platform.workload_namespace
    if namespace != platform.workload_namespace:
        yield Finding((*path, "namespace"), "a model URI is read with the artifact store's ServiceAccount, which "
                      f"exists in the workload namespace {platform.workload_namespace!r} only", namespace,
                      f"{platform.workload_namespace}, or a model on a volume")
    # An existing S3-compatible store's Secret carries KServe's annotations and is listed by
    # the ServiceAccount (components/storage/s3_compatible.py); the in-cluster store's is not.
    if platform.backend != "deployment" and platform.store_kind == "in-cluster":
        yield Finding((*path, "model", "uri"), "KServe's storage initializer cannot read the in-cluster store's "
                      "keys (it takes credentials from cloud identities)", endpoint.model.uri if endpoint.model else None,
                      "a model on a volume (model.volume), or a cloud artifact store")
