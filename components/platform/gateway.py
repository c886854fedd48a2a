"""How the ingress gateway is reached from outside the cluster: ``mlplane:kubeflow.gateway``.

The gateway is Istio's ``gateway`` chart; its Service is shaped by the chart's
``service`` values (``type``, ``ports``, ``annotations``, ``loadBalancerIP``,
``loadBalancerSourceRanges``; istio/istio, manifests/charts/gateway/templates/service.yaml
at 1.17.3 and 1.29.0, checked by rendering both charts in tests/test_gateway_exposure.py).

Every mode but ``cluster-ip`` exposes a Service outside the cluster, which the policy
rule ``no-external-services`` refuses without the annotation
``mlplane.dev/exposure-opt-in``: the gateway opts in with its reason (it is the one
entry, behind TLS and the login).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from mlplane.components.base import ArgsModel

#: The annotation that opts a Service into outside exposure (policy/rules/exposure.py).
EXPOSURE_OPT_IN = "mlplane.dev/exposure-opt-in"

GatewayMode = Literal["cluster-ip", "node-port", "load-balancer", "existing-load-balancer"]

#: The gateway chart's own ``service.ports`` (values.yaml of 1.17.3 and 1.29.0, equal):
#: setting ``ports`` replaces the list, so a NodePort keeps every entry and adds ``nodePort``.
CHART_PORTS: tuple[dict[str, Any], ...] = (
    {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
    {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80},
    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443},
)

#: Service annotations per cluster kind for a LoadBalancer, external and internal.
#: GKE: no annotation gives an external passthrough Network Load Balancer;
#: ``networking.gke.io/load-balancer-type: "Internal"`` an internal one (GKE docs,
#: "LoadBalancer Service parameters").
#: EKS: the AWS Load Balancer Controller takes Services annotated
#: ``aws-load-balancer-type: external`` (the in-tree controller then ignores them), with IP
#: targets; it makes internal NLBs unless ``aws-load-balancer-scheme: internet-facing``
#: (kubernetes-sigs/aws-load-balancer-controller, docs/guide/service/nlb.md and annotations.md).
#: AKS: the cluster's Standard load balancer by default; ``azure-load-balancer-internal:
#: "true"`` for an internal one (MicrosoftDocs/azure-docs, articles/aks/internal-lb.md).
_AWS = "service.beta.kubernetes.io/aws-load-balancer-"
CLOUD_ANNOTATIONS: dict[str, dict[bool, dict[str, str]]] = {
    "gke": {False: {}, True: {"networking.gke.io/load-balancer-type": "Internal"}},
    "eks": {
        False: {f"{_AWS}type": "external", f"{_AWS}nlb-target-type": "ip", f"{_AWS}scheme": "internet-facing"},
        True: {f"{_AWS}type": "external", f"{_AWS}nlb-target-type": "ip", f"{_AWS}scheme": "internal"},
    },
    "aks": {False: {}, True: {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}},
}


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("must be a CIDR range such as 203.0.113.0/24") from None
    return value


def _check_ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError("must be an IP address such as 203.0.113.10") from None
    return value


#: Kubernetes' default ``--service-node-port-range``: ``PortRange{Base: 30000, Size: 2768}``
#: (kubernetes/kubernetes, pkg/kubeapiserver/options/options.go: DefaultServiceNodePortRange),
#: inclusive at both ends, so 30000-32767 (staging/src/k8s.io/apimachinery/pkg/util/net/
#: port_range.go: ``Contains`` is ``p >= Base && p-Base < Size``; ``String`` prints Base+Size-1).
#: The API server refuses a Service whose nodePort lies outside the cluster's range.
DEFAULT_NODE_PORT_RANGE = "30000-32767"

#: The modes that make the gateway a NodePort Service with mlplane's fixed node ports.
NODE_PORT_MODES = ("node-port", "existing-load-balancer")


def parse_port_range(value: str) -> tuple[int, int]:
    """The API server's ``--service-node-port-range`` as ``(low, high)``, inclusive.

    Accepts the forms apimachinery's ``PortRange.Set`` reads: ``low-high`` (every
    version), a single port (kubernetes/kubernetes 125732d3,
    staging/src/k8s.io/apimachinery/pkg/util/net/port_range.go: "a single port number")
    and ``low+offset``, meaning ``low`` to ``low + offset`` (later versions of the same
    file: ``PlusNotation``, ``high = low + offset``).

    Raises:
        ValueError: None of those forms, or not ``1 <= low <= high <= 65535``.
    """
    text = value.strip()
    low, sign, rest = text.partition("-") if "-" in text else text.partition("+")
    numbers = (low, rest) if sign else (low, low)
    if not all(n.isdigit() for n in numbers):
        raise ValueError(_RANGE_FORMS)
    first, second = int(numbers[0]), int(numbers[1])
    high = first + second if sign == "+" else second
    if not 1 <= first <= high <= 65535:
        raise ValueError(_RANGE_FORMS)
    return first, high


_RANGE_FORMS = ("must be a port range as the API server's --service-node-port-range reads it: low-high such as "
                "30000-32767, low+offset such as 30000+2767, or one port; with 1 <= low <= high <= 65535")


def _check_port_range(value: str) -> str:
    parse_port_range(value)
    return value


class NodePorts(ArgsModel):
    """The fixed node ports of a NodePort gateway, inside the cluster's node-port range."""

    http: int = Field(30080, ge=1, le=65535, description="Node port of the gateway's HTTP port (80).")
    https: int = Field(30443, ge=1, le=65535, description="Node port of the gateway's HTTPS port (443).")
    range: Annotated[str, AfterValidator(_check_port_range)] = Field(
        DEFAULT_NODE_PORT_RANGE,
        description="The cluster's node-port range (the API server's --service-node-port-range), as that "
                    "flag reads it: low-high inclusive, low+offset or one port; Kubernetes' default is 30000-32767. Set it only if your cluster's API server "
                    "was started with another range (e.g. k3s --service-node-port-range).")


class GatewaySettings(ArgsModel):
    """How the ingress gateway's Service is reached from outside the cluster."""

    mode: GatewayMode = Field(
        "cluster-ip",
        description="cluster-ip: inside the cluster only (reach it with kubectl port-forward); node-port: on "
                    "every node at node_ports (kind/k3d map them to the host); load-balancer: the cloud's (or "
                    "MetalLB's) load balancer, annotated for the cluster kind; existing-load-balancer: a load "
                    "balancer you run forwards to node_ports on the nodes.",
    )
    node_ports: NodePorts = Field(default_factory=NodePorts,
                                  description="node-port and existing-load-balancer: the fixed node ports (the "
                                              "other modes take none: refused there).")
    internal: bool = Field(False, description="load-balancer: an internal (private network only) load balancer.")
    address: Annotated[str, AfterValidator(_check_ip)] | None = Field(
        None, description="load-balancer: a reserved IP address for it (loadBalancerIP), e.g. a static IP.")
    source_ranges: tuple[Annotated[str, AfterValidator(_check_cidr)], ...] = Field(
        (), description="load-balancer: only these client CIDR ranges may connect (loadBalancerSourceRanges).")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Service annotations merged over mlplane's (e.g. a certificate ARN).")


def gateway_service_values(settings: GatewaySettings, cluster_kind: str) -> dict[str, Any]:
    """The gateway chart's ``service`` values for ``settings`` on a cluster of ``cluster_kind``.

    Args:
        settings: ``mlplane:kubeflow.gateway``.
        cluster_kind: ``local``, ``selfhosted``, ``gke``, ``eks`` or ``aks``.

    Returns:
        ``{"type": ..., ...}``: what goes under ``service`` in the chart's values.
    """
    if settings.mode == "cluster-ip":
        return {"type": "ClusterIP", **({"annotations": dict(settings.annotations)} if settings.annotations else {})}
    reason = (f"mlplane:kubeflow.gateway.mode {settings.mode}: the Istio ingress gateway is the platform's one "
              "entry (TLS, login)")
    if settings.mode in NODE_PORT_MODES:
        fixed = {"http2": settings.node_ports.http, "https": settings.node_ports.https}
        ports = [{**port, "nodePort": fixed[port["name"]]} if port["name"] in fixed else dict(port)
                 for port in CHART_PORTS]
        return {"type": "NodePort", "ports": ports,
                "annotations": {EXPOSURE_OPT_IN: reason, **settings.annotations}}
    cloud = CLOUD_ANNOTATIONS.get(cluster_kind, {}).get(settings.internal, {})
    values: dict[str, Any] = {"type": "LoadBalancer",
                              "annotations": {**cloud, EXPOSURE_OPT_IN: reason, **settings.annotations}}
    if settings.address is not None:
        values["loadBalancerIP"] = settings.address
    if settings.source_ranges:
        values["loadBalancerSourceRanges"] = list(settings.source_ranges)
    return values


def gateway_problems(settings: GatewaySettings, cluster_kind: str) -> list[tuple[tuple[str, ...], str, Any, str]]:
    """Settings that do not fit the mode or the cluster: ``(path, message, value, allowed)``."""
    problems = []
    if settings.mode != "load-balancer":
        for key in ("internal", "address", "source_ranges"):
            if key in settings.model_fields_set and getattr(settings, key) not in (False, None, ()):
                problems.append(((key,), f"only a load-balancer gateway takes {key}", getattr(settings, key),
                                 "mode: load-balancer, or leave it out"))
    if settings.mode not in NODE_PORT_MODES and "node_ports" in settings.model_fields_set:
        # A ClusterIP Service has no node ports, and a LoadBalancer's are allocated by the
        # cluster: the values would be silently ignored.
        problems.append((("node_ports",), f"node ports only apply in the {' and '.join(NODE_PORT_MODES)} modes; "
                         f"mode {settings.mode} ignores them", settings.node_ports.model_dump(include=settings.node_ports.model_fields_set),
                         f"mode: {' or '.join(NODE_PORT_MODES)}, or leave node_ports out"))
        return problems
    if settings.node_ports.http == settings.node_ports.https:
        problems.append((("node_ports", "https"), "the HTTP and HTTPS node ports are the same",
                         settings.node_ports.https, "two different ports"))
    low, high = parse_port_range(settings.node_ports.range)
    for key in ("http", "https"):
        port = getattr(settings.node_ports, key)
        if not low <= port <= high:
            custom = settings.node_ports.range != DEFAULT_NODE_PORT_RANGE
            where = "the cluster's node-port range (node_ports.range)" if custom else \
                "Kubernetes' default node-port range"
            problems.append((("node_ports", key), f"outside {where}; the API server refuses the Service", port,
                             f"{low}-{high}" + ("" if custom else ", or set node_ports.range to your cluster's "
                                                "--service-node-port-range")))
    if settings.mode == "load-balancer" and settings.internal and cluster_kind not in CLOUD_ANNOTATIONS:
        problems.append((("internal",), f"mlplane knows no internal load balancer annotation for {cluster_kind} "
                         "clusters", True, "internal: false, and your load balancer's own annotations"))
    return problems
