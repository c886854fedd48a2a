"""``PlatformNamespace``: a namespace that is locked down from its first second.

Every namespace mlplane creates carries Pod Security Admission labels and starts with
NetworkPolicies that deny ingress except from its own pods, from the namespaces the
args name and, on the ports the args open, from anywhere (webhooks, gateways).
Components that need more open it explicitly, so every opening is visible in
the plan.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import AfterValidator, Field

from mlplane.components.base import ArgsModel, depends_of
from mlplane.core.naming import check_dns_label

PodSecurityLevel = Literal["privileged", "baseline", "restricted"]


class NetworkOpening(ArgsModel):
    """One narrow NetworkPolicy opening: these pods, from those pods, on these ports.

    Peers combine as Kubernetes reads them (``NetworkPolicyPeer``): ``from_namespaces`` and
    ``from_namespace_labels`` pick namespaces, ``from_pods`` narrows them to pods with those
    labels (or, with neither namespace field, to pods of this namespace).
    """

    name: Annotated[str, AfterValidator(check_dns_label)] = Field(description="The NetworkPolicy's name.")
    pods: dict[str, Any] = Field(
        default_factory=dict,
        description="Label selector (matchLabels/matchExpressions) of the pods opened; {}: every pod.")
    from_namespaces: tuple[Annotated[str, AfterValidator(check_dns_label)], ...] = Field(
        (), description="Namespaces, by name, whose pods may connect.")
    from_namespace_labels: dict[str, str] = Field(
        default_factory=dict, description="Namespaces carrying these labels may connect (e.g. every profile's).")
    from_pods: dict[str, Any] = Field(
        default_factory=dict, description="Label selector narrowing the peers to these pods; {}: all of them.")
    ports: tuple[Annotated[int, Field(ge=1, le=65535)], ...] = Field(
        (), description="TCP ports opened; (): every port.")

    def peers(self) -> list[dict[str, Any]]:
        """The ``from`` peers of the ingress rule."""
        pods = {"podSelector": dict(self.from_pods)} if self.from_pods else {}
        found = [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}, **pods}
                 for name in self.from_namespaces]
        if self.from_namespace_labels:
            found.append({"namespaceSelector": {"matchLabels": dict(self.from_namespace_labels)}, **pods})
        if not found:
            found.append({"podSelector": dict(self.from_pods)})
        return found

    def spec(self) -> dict[str, Any]:
        """The NetworkPolicy's spec."""
        rule: dict[str, Any] = {"from": self.peers()}
        if self.ports:
            rule["ports"] = [{"port": port, "protocol": "TCP"} for port in self.ports]
        return {"podSelector": dict(self.pods), "policyTypes": ["Ingress"], "ingress": [rule]}

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
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Annotations on the namespace (e.g. the owner a Kubeflow profile adopts it by).",
    )
    pod_security_warn: PodSecurityLevel | None = Field(
        None,
        description="Level audited and warned at, when stricter than the enforced one (shows what blocks "
        "tightening). Default: the enforced level.",
    )
    upstream_owned: bool = Field(
        False,
        description="An upstream source installed by the plan creates this namespace itself (Knative's "
        "directory ships knative-serving): mlplane patches its labels (NamespacePatch, server-side apply) "
        "instead of creating it a second time, which the API server would refuse as AlreadyExists.",
    )
    protect: bool = Field(
        False,
        description="The namespace holds data the plan does not declare (a database, users' volumes): protect "
        "it and keep it on delete, since deleting a namespace deletes everything in it.",
    )
    open_ports: tuple[Annotated[int, Field(ge=1, le=65535)], ...] = Field(
        (),
        description="Pod ports any source may reach: admission webhooks (the API server is not a pod a "
        "policy can select) and gateway listeners (external clients).",
    )
    openings: tuple[NetworkOpening, ...] = Field(
        (), description="Narrow openings: named pods from named peers on named ports, one NetworkPolicy each.")
    block_cloud_metadata: bool = Field(
        False,
        description="Refuse pods' egress to the cloud's instance metadata endpoint (169.254.169.254, EKS's "
        "IPv6 fd00:ec2::254), which hands out the node's own cloud credentials; everything else stays open.")
    private_pods: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Pods (label key: values) that the same-namespace opening leaves out: they admit only "
        "what an opening names (the KFP profile controller's webhook, which mints credentials).")


#: The instance metadata endpoints (AWS, Azure and GCE share the IPv4 one; AWS's IPv6 one).
CLOUD_METADATA = ("169.254.169.254/32", "fd00:ec2::254/128")


def cloud_metadata_egress() -> dict[str, Any]:
    """A NetworkPolicy spec: every pod of the namespace may send anywhere but the metadata endpoint.

    Pods' own cluster traffic is allowed by a namespace selector as well, since whether
    ``ipBlock`` covers pod addresses is left to the implementation (kubernetes.io,
    "Network Policies": ipBlock "... cluster-external IPs").
    """
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [CLOUD_METADATA[0]]}},
                           {"ipBlock": {"cidr": "::/0", "except": [CLOUD_METADATA[1]]}},
                           {"namespaceSelector": {}}]}],
    }


def pod_security_labels(level: PodSecurityLevel, warn: PodSecurityLevel | None = None) -> dict[str, str]:
    """The Pod Security Admission labels: ``level`` enforced, ``warn`` (default: the same) audited and warned."""
    return {
        "pod-security.kubernetes.io/enforce": level,
        **{f"pod-security.kubernetes.io/{mode}": warn or level for mode in ("audit", "warn")},
    }


class PlatformNamespace(pulumi.ComponentResource):
    """A namespace with Pod Security labels and deny-by-default ingress policies.

    Attributes:
        namespace: The namespace's name, once it exists (depend on this output to
            order objects after the namespace).
        resource: The Namespace object itself.
    """

    namespace: pulumi.Output[str]
    namespace_name: str

    def __init__(self, name: str, args: PlatformNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:core:PlatformNamespace", name, None, opts)
        # Children wait for what the namespace waits for (an upstream source that creates it).
        child = pulumi.ResourceOptions(parent=self, depends_on=depends_of(opts))

        labels = {**args.labels, **pod_security_labels(args.pod_security, args.pod_security_warn)}
        metadata = k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels=labels, annotations=args.annotations or None)
        kept = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect,
                                                                          retain_on_delete=args.protect))
        # pulumi-kubernetes (4.29.0 and later) creates objects client-side and fails with
        # AlreadyExists on an object another resource created; its Patch resources share
        # an existing object's fields instead (CHANGELOG 4.29.0, "Use client-side create").
        self.resource: pulumi.CustomResource = (
            k8s.core.v1.NamespacePatch(f"{name}-ns", metadata=metadata, opts=kept) if args.upstream_owned
            else k8s.core.v1.Namespace(f"{name}-ns", metadata=metadata, opts=kept))
        self.namespace = self.resource.metadata.apply(lambda m: m.name)
        self.namespace_name = args.namespace

        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[self.resource])
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny-ingress", namespace=self.namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress"]),
            opts=in_namespace,
        )
        peers = [k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector={})]
        # NotIn also matches pods without the key (apimachinery labels.Selector), so every
        # other pod keeps the same-namespace opening.
        internal_pods = {"matchExpressions": [{"key": key, "operator": "NotIn", "values": list(values)}
                                              for key, values in sorted(args.private_pods.items())]} \
            if args.private_pods else {}
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
                pod_selector=internal_pods,
                policy_types=["Ingress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=peers)],
            ),
            opts=in_namespace,
        )
        if args.open_ports:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-ports",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-open-ports", namespace=self.namespace),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector={},
                    policy_types=["Ingress"],
                    ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol="TCP")
                               for port in args.open_ports],
                    )],
                ),
                opts=in_namespace,
            )
        if args.block_cloud_metadata:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-no-cloud-metadata",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="deny-cloud-metadata-egress", namespace=self.namespace),
                spec=cloud_metadata_egress(), opts=in_namespace)
        for opening in args.openings:
            spec = opening.spec()
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{opening.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=opening.name, namespace=self.namespace),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=spec["podSelector"], policy_types=spec["policyTypes"],
                    ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=rule["from"], ports=rule.get("ports"))
                             for rule in spec["ingress"]]),
                opts=in_namespace,
            )
        self.register_outputs({"namespace": self.namespace})
