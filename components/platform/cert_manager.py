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

from mlplane.components.platform.install import READY, PartArgs, after, custom_resource, install_source
from mlplane.components.platform.resolve import ResolvedComponent
from mlplane.components.platform.spec import IssuerSettings

#: The ClusterIssuer kubeflow/manifests' Certificates name.
WEBHOOK_ISSUER = "kubeflow-self-signing-issuer"
#: The ClusterIssuer of the ingress certificate when ACME is configured.
ACME_ISSUER = "mlplane-acme"
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


def chart_values() -> dict[str, object]:
    """mlplane's values for the cert-manager chart: stable names, restricted pods."""
    return {
        "fullnameOverride": "cert-manager",
        "global": {"leaderElection": {"namespace": "cert-manager"}},
        "podDisruptionBudget": {"enabled": False},
    }


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
            self.chart = install_source(f"{name}-chart", component, component.sources[0], chart_values(),
                                        after(self, args.after))
        webhook_issuer = custom_resource(
            f"{name}-webhook-issuer", CERT_MANAGER_API, "ClusterIssuer", {"name": WEBHOOK_ISSUER},
            {"selfSigned": {}}, after(self, self.chart, args.after), wait_for=READY,
        )
        self.ready: list[pulumi.Resource] = [webhook_issuer]
        self.ingress_issuer = WEBHOOK_ISSUER
        if args.issuer.kind == "acme":
            self.ingress_issuer = ACME_ISSUER
            acme = custom_resource(
                f"{name}-acme-issuer", CERT_MANAGER_API, "ClusterIssuer", {"name": ACME_ISSUER},
                {"acme": {
                    "email": args.issuer.email,
                    "server": args.issuer.server,
                    "privateKeySecretRef": {"name": f"{ACME_ISSUER}-account-key"},
                    # HTTP-01 answered through the Istio ingress gateway.
                    "solvers": [{"http01": {"ingress": {"ingressClassName": "istio"}}}],
                }},
                after(self, self.chart, args.after), wait_for=READY,
            )
            self.ready.append(acme)
        self.certificate = None
        if args.tls and args.host:
            self.certificate = custom_resource(
                f"{name}-ingress-cert", CERT_MANAGER_API, "Certificate",
                {"name": "kubeflow-ingress", "namespace": args.gateway_namespace},
                {"secretName": INGRESS_TLS_SECRET, "dnsNames": [args.host],
                 "issuerRef": {"kind": "ClusterIssuer", "name": self.ingress_issuer, "group": "cert-manager.io"}},
                after(self, self.ready, args.after), wait_for=READY,
            )
        self.register_outputs({"ingress_issuer": self.ingress_issuer})
