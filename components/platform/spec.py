"""What a stack says about its platform: the models behind ``mlplane:kubeflow`` and ``mlplane:auth``.

These are component args and stack-config sections at once (the stack file's schema is
made from them). Every field is checked while the config loads; rules that span
fields or sections live in :mod:`infra.config.kubeflow` and :mod:`infra.config.auth`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field

from mlplane.components.base import HelmValues, ArgsModel, SecretValue
from mlplane.components.charts import check_version
from mlplane.components.credentials.stores import StoreId
from mlplane.components.namespace import PodSecurityLevel
from mlplane.core.naming import check_dns_label, is_dns_subdomain
from mlplane.components.platform.gateway import GatewaySettings
from mlplane.components.platform.notebook_culling import NotebookCulling
from mlplane.components.platform.releases import DEFAULT_RELEASE, RELEASE_NAMES, ReleaseName
from mlplane.components.sources import SourcesSpec

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_DURATION = re.compile(r"^(\d+(h|m|s))+$")


def check_email(value: str) -> str:
    """Validate an e-mail address (the login name of Kubeflow users).

    Raises:
        ValueError: Not an address of the form ``name@domain.tld``.
    """
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise ValueError("must be an e-mail address like alice@example.com")
    return value


def check_host(value: str) -> str:
    """Validate a DNS host name (lower case, dots allowed, no scheme or port)."""
    if not is_dns_subdomain(value) or "." not in value:
        raise ValueError("must be a fully qualified host name like kubeflow.example.com (no scheme, no port)")
    return value


def check_https_url(value: str) -> str:
    """Validate an https:// URL (issuers and ACME servers must be TLS)."""
    if not isinstance(value, str) or not re.match(r"^https://[^\s/$.?#][^\s]*$", value):
        raise ValueError("must be an https:// URL")
    return value


def _check_role_arn(value: str) -> str:
    if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$", value):
        raise ValueError("must be an IAM role ARN like arn:aws:iam::123456789012:role/cert-manager-dns")
    return value


def check_duration(value: str) -> str:
    """Validate a Go duration such as ``24h`` or ``1h30m``."""
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError("must be a duration like 24h, 30m or 1h30m")
    return value


def _release_hint(value: Any) -> Any:
    # YAML reads an unquoted 26.03 as the number 26.03; say so instead of "not allowed".
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f'must be a string; quote it in YAML (release: "{value}"), or YAML reads it as a '
                         f"number (allowed: {', '.join(RELEASE_NAMES)})")
    return value


Email = Annotated[str, AfterValidator(check_email)]
DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
Version = Annotated[str, AfterValidator(check_version)]


class ComponentSettings(ArgsModel):
    """Overrides of one component of the release train."""

    enabled: bool | None = Field(
        None,
        description="Install the component. Default: on when the release includes it.",
    )
    version: Version | None = Field(
        None,
        description=(
            "Pin another version than the release's: the chart version for Helm-installed components, "
            "the kubeflow/manifests git tag for kustomize-installed ones."
        ),
    )
    namespace: DnsLabel | None = Field(
        None,
        description="Namespace to install into (Helm-installed components only; kubeflow/manifests fix theirs).",
    )
    values: HelmValues = Field(
        default_factory=dict,
        description=(
            "Helm values merged over mlplane's (the one escape hatch). Components of several charts "
            "(istio, kserve) take them per chart role, e.g. `{istiod: {...}}`."
        ),
    )


class InfraSettings(ComponentSettings):
    """Overrides of an add-on the cluster may already have (cert-manager, Istio)."""

    existing: bool = Field(
        False,
        description="Use the cluster's own installation instead of installing one; mlplane still adds its "
                    "issuers/policies, which need that installation's CRDs.",
    )


#: How an existing mesh redirects a meshed pod's traffic without ``istio-init``: the Istio
#: CNI node agent, or ambient mode (whose ztunnel needs that agent too).
TrafficRedirection = Literal["cni", "ambient"]


class IstioSettings(InfraSettings):
    """Overrides of Istio; with ``existing``, what the cluster's mesh runs."""

    traffic_redirection: TrafficRedirection | None = Field(
        None,
        description="With existing: true, required: how the cluster's mesh redirects a pod's traffic. cni: the "
                    "Istio CNI node agent runs and istiod's injector knows it (values.istio_cni.enabled on 1.17, "
                    "values.pilot.cni.enabled on 1.29); ambient: ambient mode (ztunnel and the CNI agent). Without "
                    "either, istiod injects istio-init with NET_ADMIN and NET_RAW, which the Pod Security levels "
                    "of mlplane's namespaces (baseline, restricted) refuse, and every meshed pod is rejected. "
                    "mlplane never lowers a namespace's level for it; `mlplane preview` prints the check.")


class KServeSettings(ComponentSettings):
    """Overrides of KServe."""

    deployment_mode: Literal["serverless", "raw"] = Field(
        "serverless",
        description="serverless: Knative revisions with scale to zero (needs Knative Serving); "
                    "raw: plain Deployments and Services.",
    )


class NotebooksSettings(ComponentSettings):
    """Overrides of the notebooks component (controller, Jupyter web app, PodDefaults)."""

    culling: NotebookCulling = Field(
        default_factory=NotebookCulling,
        description="Idle culling of notebook servers: one setting of the notebook controller for every "
                    "server of the platform (upstream has no per-server switch; see docs/workbenches.md).")


class Components(ArgsModel):
    """Every component of the platform, each overridable."""

    cert_manager: InfraSettings = Field(default_factory=InfraSettings, description="cert-manager (webhook and ingress certificates).")
    istio: IstioSettings = Field(default_factory=IstioSettings, description="Istio: base, CNI, istiod and the ingress gateway.")
    dex: ComponentSettings = Field(default_factory=ComponentSettings, description="Dex, the OpenID Connect identity provider.")
    oauth2_proxy: ComponentSettings = Field(default_factory=ComponentSettings, description="oauth2-proxy, the gateway's login.")
    knative_serving: ComponentSettings = Field(default_factory=ComponentSettings, description="Knative Serving (KServe's serverless mode).")
    kubeflow_roles: ComponentSettings = Field(default_factory=ComponentSettings, description="Kubeflow's aggregated ClusterRoles (kubeflow-admin/edit/view).")
    profiles: ComponentSettings = Field(default_factory=ComponentSettings, description="Profile controller and KFAM (multi-user namespaces).")
    central_dashboard: ComponentSettings = Field(default_factory=ComponentSettings, description="The central dashboard.")
    notebooks: NotebooksSettings = Field(default_factory=NotebooksSettings, description="Notebook controller, Jupyter web app and PodDefaults webhook.")
    pipelines: ComponentSettings = Field(default_factory=ComponentSettings, description="Kubeflow Pipelines (multi-user).")
    katib: ComponentSettings = Field(default_factory=ComponentSettings, description="Katib (hyperparameter tuning).")
    training: ComponentSettings = Field(default_factory=ComponentSettings, description="Training operator (1.8.1) or Trainer (26.03).")
    kserve: KServeSettings = Field(default_factory=KServeSettings, description="KServe (model serving).")
    models_web_app: ComponentSettings = Field(default_factory=ComponentSettings, description="KServe's models web app.")
    tensorboards: ComponentSettings = Field(default_factory=ComponentSettings, description="Tensorboard controller and web app.")
    volumes_web_app: ComponentSettings = Field(default_factory=ComponentSettings, description="Volumes web app and PVC viewer controller.")
    model_registry: ComponentSettings = Field(default_factory=ComponentSettings, description="Model Registry (26.03 and later).")


class IngressSettings(ArgsModel):
    """How users reach the platform through the Istio ingress gateway."""

    host: Annotated[str, AfterValidator(check_host)] | None = Field(
        None,
        description="External host name, e.g. kubeflow.example.com. Default: none (any host; reach it with "
                    "`kubectl port-forward svc/istio-ingressgateway -n istio-system 8080:80`).",
    )
    tls: bool | None = Field(
        None,
        description="Serve HTTPS with a certificate from the configured issuer. Default: on when a host is set.",
    )
    cleartext: bool = Field(
        False,
        description="Serve the platform over plain HTTP although the gateway is exposed outside the cluster "
                    "(gateway.mode other than cluster-ip): passwords and session cookies then cross the network "
                    "unencrypted. Only for a gateway reached on this machine alone (kind/k3d mapping node ports "
                    "to localhost). Default: false, an exposed gateway needs a host with TLS.",
    )

    @property
    def effective_tls(self) -> bool:
        """Whether the gateway serves HTTPS."""
        return self.tls if self.tls is not None else self.host is not None


class CloudDnsSolver(ArgsModel):
    """DNS-01 in Google Cloud DNS, as a Google service account through GKE workload identity."""

    provider: Literal["cloud-dns"] = Field(description="Google Cloud DNS.")
    project: str = Field(min_length=1, description="The project of the managed zone.")
    service_account: Annotated[str, AfterValidator(check_email)] = Field(
        description="The Google service account cert-manager acts as (roles/dns.admin on the zone's project), "
                    "bound to the Kubernetes ServiceAccount cert-manager/cert-manager with "
                    "roles/iam.workloadIdentityUser.")


class Route53Solver(ArgsModel):
    """DNS-01 in Amazon Route 53, as an IAM role through IRSA (EKS)."""

    provider: Literal["route53"] = Field(description="Amazon Route 53.")
    region: str = Field(min_length=1, description="AWS region of the API calls, e.g. eu-west-1.")
    hosted_zone_id: str | None = Field(None, description="The hosted zone (default: found from the host name).")
    role_arn: Annotated[str, AfterValidator(_check_role_arn)] = Field(
        description="IAM role cert-manager assumes with its ServiceAccount token (route53:ChangeResourceRecordSets, "
                    "GetChange, ListHostedZonesByName), trusting the cluster's OIDC provider for "
                    "system:serviceaccount:cert-manager:cert-manager.")


class AzureDnsSolver(ArgsModel):
    """DNS-01 in Azure DNS, as a user-assigned managed identity through Azure workload identity (AKS)."""

    provider: Literal["azure-dns"] = Field(description="Azure DNS.")
    subscription_id: str = Field(min_length=1, description="Subscription of the DNS zone.")
    resource_group: str = Field(min_length=1, description="Resource group of the DNS zone.")
    zone: Annotated[str, AfterValidator(check_host)] = Field(description="The DNS zone, e.g. ml.acme.example.")
    client_id: str = Field(min_length=1, description="Client ID of the managed identity (DNS Zone Contributor on "
                           "the zone) with a federated credential for system:serviceaccount:cert-manager:cert-manager.")


DnsSolver = Annotated[Union[CloudDnsSolver, Route53Solver, AzureDnsSolver],
                      Field(discriminator="provider", description="The DNS provider answering DNS-01.")]


class IssuerSettings(ArgsModel):
    """What signs the ingress certificate: a ClusterIssuer, or a certificate you already have."""

    kind: Literal["self-signed", "acme", "existing-secret"] = Field(
        "self-signed",
        description="self-signed: a certificate nobody else trusts (dev, air-gapped); acme: Let's Encrypt or "
                    "another ACME server (HTTP-01 through the ingress gateway, or DNS-01 with dns); "
                    "existing-secret: a kubernetes.io/tls Secret you keep in the gateway's namespace (secret).",
    )
    email: Email | None = Field(None, description="ACME account e-mail (required for acme).")
    server: Annotated[str, AfterValidator(check_https_url)] = Field(
        "https://acme-v02.api.letsencrypt.org/directory",
        description="ACME directory URL.",
    )
    dns: DnsSolver | None = Field(
        None, description="acme: answer DNS-01 in this DNS provider (its credentials through workload identity) "
                          "instead of HTTP-01; for hosts the ACME server cannot reach on port 80.")
    secret: DnsLabel | None = Field(
        None, description="existing-secret: name of the kubernetes.io/tls Secret (tls.crt, tls.key) in the gateway's "
                          "namespace (istio-system); `mlplane preview` prints the check that it is there.")


class Contributor(ArgsModel):
    """A user who may work in a profile besides its owner."""

    email: Email = Field(description="The user's login e-mail.")
    role: Literal["edit", "view"] = Field("edit", description="Kubeflow role in the profile: edit or view.")


class ProfileSpec(ArgsModel):
    """A Kubeflow profile: a namespace owned by one user, shared with contributors."""

    name: DnsLabel = Field(description="Profile and namespace name, e.g. team-vision.")
    owner: Email = Field(description="The owner's login e-mail.")
    contributors: tuple[Contributor, ...] = Field((), description="Other users and their role.")
    pod_security: PodSecurityLevel = Field(
        "baseline",
        description="Pod Security level enforced in the profile namespace (notebook images need baseline).",
    )
    pipelines_access: bool = Field(
        False,
        description="Let the profile's notebooks call the Kubeflow Pipelines API: upstream's access-ml-pipeline "
                    "PodDefault mounts a ServiceAccount token with the audience pipelines.kubeflow.org, which "
                    "kfp.Client() reads (docs/workbenches.md). Needs pipelines and notebooks.",
    )


#: Components whose manifests create a database or volumes (outside the plan's view:
#: pulumi-kubernetes expands them on the cluster), and what they keep there.
DATA_COMPONENTS: dict[str, str] = {
    "pipelines": "Kubeflow Pipelines' MySQL database and artifact store",
    "katib": "Katib's MySQL database of experiments",
    "model_registry": "the Model Registry's database",
}


class CredentialsSettings(ArgsModel):
    """The generated credentials of the upstream stores (docs/security.md, credential inventory)."""

    rotate: dict[StoreId, Annotated[str, Field(min_length=1)]] = Field(
        default_factory=dict,
        description="Rotation token by store (kfp-object-store, kfp-mysql, katib-mysql, model-registry-db): "
                    "a new token generates a new credential for that store and its migration Job writes it "
                    "into the running store. Absent: generated once, kept across renders.")


class KubeflowSpec(ArgsModel):
    """The platform: which release, which components, how it is reached, who uses it."""

    release: Annotated[ReleaseName, BeforeValidator(_release_hint)] = Field(
        DEFAULT_RELEASE,
        description=f"Kubeflow release train: {' or '.join(RELEASE_NAMES)} (pins every version).",
    )
    ingress: IngressSettings = Field(default_factory=IngressSettings, description="Host and TLS of the ingress gateway.")
    gateway: GatewaySettings = Field(
        default_factory=GatewaySettings,
        description="How the ingress gateway is reached from outside the cluster (Service type, ports, load "
                    "balancer annotations). Default: cluster-ip (kubectl port-forward).")
    issuer: IssuerSettings = Field(default_factory=IssuerSettings, description="Issuer of the ingress certificate.")
    components: Components = Field(default_factory=Components, description="Per-component overrides.")
    profiles: tuple[ProfileSpec, ...] = Field((), description="Profiles (user namespaces) to create.")
    sources: SourcesSpec = Field(
        default_factory=SourcesSpec,
        description="Mirrors or local copies of the upstream charts and kubeflow/manifests (air-gapped clusters).",
    )
    credentials: CredentialsSettings = Field(
        default_factory=CredentialsSettings,
        description="Generated credentials of the Kubeflow stores (every upstream default is replaced).")
    protect_data: bool = Field(
        True,
        description="Protect what holds the platform's data from deletion and replacement (protect and "
                    "retainOnDelete): the manifests of components with a database (pipelines, katib, "
                    "model_registry), the kubeflow namespace they live in, and profiles with their namespaces "
                    "(users' notebook volumes).",
    )


class DexUser(ArgsModel):
    """A static Dex user (a login without an upstream identity provider)."""

    email: Email = Field(description="Login e-mail.")
    username: str | None = Field(None, description="Display name. Default: the e-mail's local part.", min_length=1)
    password_hash: SecretValue | None = Field(
        None,
        description="bcrypt hash of the password, as a secret "
                    "(`pulumi config set --secret --path 'mlplane:auth.dex.users[0].password_hash' '$2y$12$...'`).",
    )
    generate_password: bool = Field(
        False,
        description="Generate a random password instead (pulumi-random; read it with "
                    "`pulumi stack output dex_passwords --show-secrets`). For dev stacks.",
    )

    @classmethod
    def secret_required(cls, field: str, raw: Any) -> bool:
        """Whether a secret field must be set, given the user's entry (``mlplane secrets``)."""
        return field == "password_hash" and not (isinstance(raw, dict) and raw.get("generate_password") is True)

    @property
    def display_name(self) -> str:
        """The username Dex shows."""
        return self.username or self.email.split("@", 1)[0]


class OidcConnector(ArgsModel):
    """An upstream OpenID Connect provider that Dex delegates logins to."""

    id: DnsLabel = Field(description="Connector id, e.g. corp-sso.")
    name: str = Field(description="Name on the login page.", min_length=1)
    issuer: Annotated[str, AfterValidator(check_https_url)] = Field(description="The provider's issuer URL.")
    client_id: str = Field(description="OAuth client id registered at the provider.", min_length=1)
    client_secret: SecretValue | None = Field(
        None, description="OAuth client secret, as a secret (`secure:`); required: `mlplane secrets` sets it.")
    scopes: tuple[str, ...] = Field(("openid", "profile", "email"), description="Scopes to request.")

    @classmethod
    def secret_required(cls, field: str, raw: Any) -> bool:
        """The client secret is required (the loader refuses, or offline stands in, an unset one)."""
        return field == "client_secret"


class DexSettings(ArgsModel):
    """Who can log in through Dex."""

    users: tuple[DexUser, ...] = Field((), description="Static users with password hashes.")
    connector: OidcConnector | None = Field(None, description="An upstream OIDC provider.")


class OAuth2ProxySettings(ArgsModel):
    """The gateway's login proxy."""

    client_secret: SecretValue | None = Field(
        None, description="Secret shared by oauth2-proxy and Dex. Default: generated (pulumi-random).")
    cookie_secret: SecretValue | None = Field(
        None, description="Cookie encryption secret (32 bytes). Default: generated (pulumi-random).")
    cookie_expire: Annotated[str, AfterValidator(check_duration)] = Field("24h", description="Session lifetime.")
    email_domains: tuple[str, ...] = Field(("*",), description="E-mail domains allowed to log in (`*`: any).")
    any_account: bool = Field(
        False,
        description="With an upstream connector (dex.connector), let every account of that provider log in "
                    "(email_domains: ['*']). Default: false, so such a stack names its e-mail domains; with "
                    "static users only, Dex itself knows every account.")
    mesh_provider: DnsLabel | None = Field(
        None, description="Name of the extension provider (meshConfig.extensionProviders[].name) under which the "
        "mesh knows oauth2-proxy; the gateway's CUSTOM policies name it. Required with istio: {existing: true} "
        "(the cluster's mesh config must register it; the error and `mlplane preview` print the entry). "
        "Default: oauth2-proxy, registered in the Istio mlplane installs.")


class AuthSpec(ArgsModel):
    """Authentication: Dex (users, upstream provider) and oauth2-proxy."""

    dex: DexSettings = Field(default_factory=DexSettings, description="Dex: static users and an upstream connector.")
    oauth2_proxy: OAuth2ProxySettings = Field(default_factory=OAuth2ProxySettings, description="oauth2-proxy settings.")
    groups: tuple[str, ...] = Field(
        (), description="Groups the identity provider puts into tokens (the connector's groups claim) that "
                        "endpoints and web apps may name as their callers.")
