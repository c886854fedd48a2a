"""``CertManager``: cert-manager, the issuers Kubeflow's webhooks and the ingress use.

Kubeflow's kustomize directories request their webhook certificates from the
ClusterIssuer ``kubeflow-self-signing-issuer``; mlplane creates it (instead of
kubeflow/manifests' ``kubeflow-issuer`` directory) and waits until it is Ready, which
also proves cert-manager's webhook answers. Everything with a webhook or a
certificate depends on :attr:`CertManager.ready`.
"""

from __future__ import annotations

import pulumi
from pydantic import Field

from mlplane.components.platform.acme_http import http01_solver
from mlplane.components.platform.install import READY, PartArgs, after, custom_resource, install_source
from mlplane.components.platform.resolve import ResolvedComponent
from mlplane.components.platform.spec import CloudDnsSolver, DnsSolver, IssuerSettings, Route53Solver

#: The ClusterIssuer kubeflow/manifests' Certificates name.
WEBHOOK_ISSUER = "kubeflow-self-signing-issuer"
#: The ClusterIssuer of the ingress certificate when ACME is configured.
ACME_ISSUER = "mlplane-acme"
#: The platform CA (self-signed mode): its Certificate, Secret and CA ClusterIssuer share the name.
PLATFORM_CA = "mlplane-platform-ca"
#: The Secret (in the gateway's namespace) holding the ingress certificate.
INGRESS_TLS_SECRET = "kubeflow-ingress-tls"

CERT_MANAGER_API = "cert-manager.io/v1"


class CertManagerArgs(PartArgs):
    """Arguments of :class:`CertManager`."""

    component: ResolvedComponent = Field(description="cert-manager as resolved from the release train.")
    issuer: IssuerSettings = Field(description="Which issuer signs the ingress certificate.")
    host: str | None = Field(None, description="The ingress host; a certificate is issued for it when tls is on.")
    tls: bool = Field(False, description="Whether to issue the ingress certificate.")
    gateway_namespace: str = Field("istio-system", description="Namespace of the ingress gateway (holds the TLS secret).")


def chart_values(issuer: IssuerSettings | None = None) -> dict[str, object]:
    """mlplane's values for the cert-manager chart: stable names, restricted pods, and the
    workload identity of a DNS-01 issuer (:func:`workload_identity`)."""
    return {
        "fullnameOverride": "cert-manager",
        "global": {"leaderElection": {"namespace": "cert-manager"}},
        "podDisruptionBudget": {"enabled": False},
        **(workload_identity(issuer.dns) if issuer is not None and issuer.dns is not None else {}),
    }


def platform_ca_spec() -> dict[str, object]:
    """The platform CA's Certificate: a CA (``isCA``), signed by the self-signed ClusterIssuer.

    Ten years, ECDSA P-256; its leaves keep cert-manager's defaults (90 days, renewed
    before expiry), so only the CA needs distributing to clients.
    """
    return {
        "isCA": True,
        "commonName": "mlplane platform CA",
        "secretName": PLATFORM_CA,
        "duration": "87600h",
        "privateKey": {"algorithm": "ECDSA", "size": 256},
        "issuerRef": {"kind": "ClusterIssuer", "name": WEBHOOK_ISSUER, "group": "cert-manager.io"},
    }


def trust_note(namespace: str) -> str:
    """How users fetch and trust the platform CA's certificate (printed by ``mlplane preview``)."""
    return ("The platform's TLS certificates are signed by its own CA (mlplane:kubeflow.issuer.kind self-signed). "
            "After `pulumi up`, give users its certificate to trust (browser or OS trust store, "
            "REQUESTS_CA_BUNDLE / SSL_CERT_FILE for clients):\n"
            f"  kubectl get secret {PLATFORM_CA} -n {namespace} -o jsonpath='{{.data.ca\\.crt}}' "
            "| base64 -d > mlplane-platform-ca.crt\n")


def workload_identity(dns: DnsSolver) -> dict[str, object]:
    """The cert-manager chart values that give its controller the DNS provider's cloud identity.

    The chart's ``serviceAccount.annotations``/``labels`` and ``podLabels`` (cert-manager
    charts v1.12.2 and v1.19.4, values.yaml and templates/serviceaccount.yaml). A
    ClusterIssuer uses the controller's ambient credentials (``--cluster-issuer-ambient-
    credentials``, default true: cert-manager/cert-manager v1.12.2
    cmd/controller/app/options/options.go, v1.19.4 internal/apis/config/controller/v1alpha1/
    defaults.go), which each provider reads from the environment the cloud's webhook gives a
    pod of an annotated ServiceAccount:

    - cloud-dns: ``google.DefaultClient`` (pkg/issuer/acme/dns/clouddns/clouddns.go), i.e.
      GKE's metadata server for a ServiceAccount annotated ``iam.gke.io/gcp-service-account``;
    - route53: the AWS SDK's default chain (pkg/issuer/acme/dns/route53/route53.go, "using
      ambient credentials"), i.e. IRSA's web identity token for ``eks.amazonaws.com/role-arn``;
    - azure-dns: ``AZURE_FEDERATED_TOKEN_FILE`` (pkg/issuer/acme/dns/azuredns/azuredns.go at
      both tags), which Azure workload identity's webhook mounts into pods labelled
      ``azure.workload.identity/use: "true"`` whose ServiceAccount names the client ID.
    """
    if isinstance(dns, CloudDnsSolver):
        return {"serviceAccount": {"annotations": {"iam.gke.io/gcp-service-account": dns.service_account}}}
    if isinstance(dns, Route53Solver):
        return {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": dns.role_arn}}}
    return {"serviceAccount": {"annotations": {"azure.workload.identity/client-id": dns.client_id},
                               "labels": {AZURE_USE: "true"}},
            "podLabels": {AZURE_USE: "true"}}


AZURE_USE = "azure.workload.identity/use"


def dns01_solver(dns: DnsSolver) -> dict[str, object]:
    """The ClusterIssuer's DNS-01 solver (cert-manager.io/v1 ``ACMEChallengeSolverDNS01``: cloudDNS,
    route53, azureDNS; pkg/apis/acme/v1/types_issuer.go at v1.12.2 and v1.19.4), with no secret:
    the credentials are the controller's ambient ones (:func:`workload_identity`)."""
    if isinstance(dns, CloudDnsSolver):
        return {"dns01": {"cloudDNS": {"project": dns.project}}}
    if isinstance(dns, Route53Solver):
        return {"dns01": {"route53": {"region": dns.region,
                                      **({"hostedZoneID": dns.hosted_zone_id} if dns.hosted_zone_id else {})}}}
    return {"dns01": {"azureDNS": {"subscriptionID": dns.subscription_id, "resourceGroupName": dns.resource_group,
                                   "hostedZoneName": dns.zone, "environment": "AzurePublicCloud",
                                   "managedIdentity": {"clientID": dns.client_id}}}}


class CertManager(pulumi.ComponentResource):
    """cert-manager (unless the cluster has one) and the platform's ClusterIssuers.

    Attributes:
        chart: The chart, or None when the cluster's cert-manager is used.
        ready: Depend on this before creating anything with a certificate or a webhook.
        ingress_issuer: Name of the ClusterIssuer that signs the ingress certificate.
        certificate: The ingress Certificate, when TLS is on.
    """

    def __init__(self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:platform:CertManager", name, None, opts)
        component = args.component
        self.chart = None
        if component.enabled:
            self.chart = install_source(f"{name}-chart", component, component.sources[0], chart_values(args.issuer),
                                        after(self, args.after))
        webhook_issuer = custom_resource(
            f"{name}-webhook-issuer", CERT_MANAGER_API, "ClusterIssuer", {"name": WEBHOOK_ISSUER},
            {"selfSigned": {}}, after(self, self.chart, args.after), wait_for=READY,
        )
        self.ready: list[pulumi.Resource] = [webhook_issuer]
        self.ingress_issuer = WEBHOOK_ISSUER
        if args.issuer.kind == "self-signed":
            # One platform CA, self-signed, whose certificate users trust once; it signs every
            # host's leaf (cert-manager's documented bootstrap: a selfSigned issuer makes an isCA
            # Certificate, a `ca` issuer signs with its Secret; cert-manager.io/docs/configuration/
            # selfsigned/ "Bootstrapping CA Issuers"). A ClusterIssuer reads that Secret from
            # cert-manager's cluster resource namespace, its own by default (docs/configuration/ca/).
            self.ingress_issuer = PLATFORM_CA
            ca = custom_resource(
                f"{name}-platform-ca", CERT_MANAGER_API, "Certificate",
                {"name": PLATFORM_CA, "namespace": component.namespace},
                platform_ca_spec(), after(self, self.ready, args.after), wait_for=READY)
            ca_issuer = custom_resource(
                f"{name}-platform-ca-issuer", CERT_MANAGER_API, "ClusterIssuer", {"name": PLATFORM_CA},
                {"ca": {"secretName": PLATFORM_CA}}, after(self, ca, args.after), wait_for=READY)
            self.ready += [ca, ca_issuer]
        if args.issuer.kind == "acme":
            self.ingress_issuer = ACME_ISSUER
            acme = custom_resource(
                f"{name}-acme-issuer", CERT_MANAGER_API, "ClusterIssuer", {"name": ACME_ISSUER},
                {"acme": {
                    "email": args.issuer.email,
                    "server": args.issuer.server,
                    "privateKeySecretRef": {"name": f"{ACME_ISSUER}-account-key"},
                    # HTTP-01 answered through the Istio ingress gateway (acme_http.py: why
                    # class), or DNS-01 in the cloud's DNS with its workload identity.
                    "solvers": [dns01_solver(args.issuer.dns) if args.issuer.dns else http01_solver()],
                }},
                after(self, self.chart, args.after), wait_for=READY,
            )
            self.ready.append(acme)
        self.certificate = None
        # A certificate the team keeps (existing-secret) is used as it is: nothing issues one.
        if args.tls and args.host and args.issuer.kind != "existing-secret":
            self.certificate = custom_resource(
                f"{name}-ingress-cert", CERT_MANAGER_API, "Certificate",
                {"name": "kubeflow-ingress", "namespace": args.gateway_namespace},
                {"secretName": INGRESS_TLS_SECRET, "dnsNames": [args.host],
                 "issuerRef": {"kind": "ClusterIssuer", "name": self.ingress_issuer, "group": "cert-manager.io"}},
                after(self, self.ready, args.after), wait_for=READY,
            )
        self.register_outputs({"ingress_issuer": self.ingress_issuer})
