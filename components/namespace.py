"""``PlatformNamespace``: a namespace that is locked down from its first second.

Every namespace mlplane creates carries Pod Security Admission labels and starts with
NetworkPolicies that deny ingress except from its own pods and from the namespaces the
args name. Components that need more open it explicitly, so every opening is visible in
the plan.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import AfterValidator, Field

from components.base import ArgsModel
from components.naming import check_dns_label

PodSecurityLevel = Literal["privileged", "baseline", "restricted"]

#: Label that Kubernetes puts on every namespace (since 1.21) with its own name.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


class PlatformNamespaceArgs(ArgsModel):
    """Arguments of :class:`PlatformNamespace`."""

    namespace: Annotated[str, AfterValidator(check_dns_label)] = Field(
        description="The Kubernetes namespace name."
    )
    pod_security: PodSecurityLevel = Field(
        "restricted",
        description="Pod Security Admission level enforced (and audited and warned) in the namespace.",
    )
    allow_ingress_from: tuple[Annotated[str, AfterValidator(check_dns_label)], ...] = Field(
        (),
        description="Other namespaces whose pods may connect to pods in this one.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Extra labels on the namespace (e.g. istio-injection).",
    )


def pod_security_labels(level: PodSecurityLevel) -> dict[str, str]:
    """The Pod Security Admission labels for a level: enforced, audited and warned."""
    return {f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")}


class PlatformNamespace(pulumi.ComponentResource):
    """A namespace with Pod Security labels and deny-by-default ingress policies.

    Attributes:
        namespace: The namespace's name, once it exists (depend on this output to
            order objects after the namespace).
        resource: The Namespace object itself.
    """

    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:core:PlatformNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        labels = {**args.labels, **pod_security_labels(args.pod_security)}
        self.resource = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels=labels),
            opts=child,
        )
        self.namespace = self.resource.metadata.apply(lambda m: m.name)

        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[self.resource])
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny-ingress", namespace=self.namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress"]),
            opts=in_namespace,
        )
        peers = [k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector={})]
        peers += [
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_NAME_LABEL: other})
            )
            for other in args.allow_ingress_from
        ]
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-internal",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-internal-ingress", namespace=self.namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector={},
                policy_types=["Ingress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=peers)],
            ),
            opts=in_namespace,
        )
        self.register_outputs({"namespace": self.namespace})
