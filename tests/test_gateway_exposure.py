"""``mlplane:kubeflow.gateway``: every mode rendered through Istio's real gateway charts and policy-checked.

The values each stack's plan gives the ``gateway`` chart are rendered with Helm's Go SDK
(``helm_python``) against the pinned charts in ``../shared/upstream/charts`` (1.17.3 and
1.29.0); the Service that comes out must have the intended type, ports, node ports,
annotations and address, pass the policy rule ``no-external-services`` through its
opt-in, and expose only ports that istio-system's NetworkPolicy admits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.components.platform.gateway import (
    CHART_PORTS,
    CLOUD_ANNOTATIONS,
    EXPOSURE_OPT_IN,
    GatewaySettings,
    gateway_service_values,
    parse_port_range,
)
from mlplane.components.platform.istio import INGRESS_GATEWAY, INGRESS_LABELS
from mlplane.components.platform.namespaces import ISTIO_PORTS
from mlplane.infra.cli import main
from mlplane.policy.rules import exposure
from mlplane.policy.rules.base import ResourceContext

from .conftest import ROOT, STACKS, rendered
from .upstream import SHARED_UPSTREAM, needs_upstream

CHARTS = SHARED_UPSTREAM / "charts"
VERSIONS = ("1.17.3", "1.29.0")
needs_charts = needs_upstream

#: What each shipped stack chooses, and the Service type that must come out.
SHIPPED = {"dev": ("node-port", "NodePort"), "onprem": ("existing-load-balancer", "NodePort"),
           "gke": ("load-balancer", "LoadBalancer"), "eks": ("load-balancer", "LoadBalancer"),
           "aks": ("load-balancer", "LoadBalancer")}


def render_service(version: str, values: dict[str, Any]) -> dict[str, Any]:
    """The Service the real gateway chart renders from ``values``."""
    import helm_python

    rendered_files = helm_python.Chart.load(str(CHARTS / f"gateway-{version}")).render(
        values=values, name="platform-istio-gateway", namespace="istio-system", is_install=True)
    services = [doc for name, text in rendered_files.items() if name.endswith((".yaml", ".yml"))
                for doc in yaml.safe_load_all(text)
                if isinstance(doc, dict) and doc.get("kind") == "Service"]
    assert len(services) == 1, services
    return services[0]


def plan_gateway_values(stack: str) -> tuple[str, dict[str, Any]]:
    """The gateway chart's version and values as a stack's plan records them."""
    chart = rendered(stack).named("platform-istio-gateway")
    return chart.inputs["version"], chart.inputs["values"]


def opt_in_is_what_passes(service: dict[str, Any]) -> None:
    """The policy passes the Service, and would refuse it without the opt-in (for exposed types)."""
    assert exposure.check("kubernetes:core/v1:Service", service, ResourceContext()) == []
    if service["spec"]["type"] in exposure.EXTERNAL_TYPES:
        bare = {**service, "metadata": {**service["metadata"], "annotations": {
            k: v for k, v in (service["metadata"].get("annotations") or {}).items() if k != EXPOSURE_OPT_IN}}}
        assert exposure.check("kubernetes:core/v1:Service", bare, ResourceContext()) != []


def test_every_stack_is_covered() -> None:
    assert sorted(SHIPPED) == sorted(STACKS)


@needs_charts
@pytest.mark.parametrize("version", VERSIONS)
def test_chart_ports_are_the_charts_own(version: str) -> None:
    # Setting service.ports replaces the chart's list: mlplane's copy must equal it.
    values = yaml.safe_load((CHARTS / f"gateway-{version}" / "values.yaml").read_text())
    values = values.get("_internal_defaults_do_not_set", values)
    assert [dict(p) for p in values["service"]["ports"]] == list(CHART_PORTS)


@needs_charts
@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_renders_the_gateway_service_it_chose(stack: str) -> None:
    version, values = plan_gateway_values(stack)
    config_mode, service_type = SHIPPED[stack]
    service = render_service(version, values)
    spec = service["spec"]
    assert service["metadata"]["name"] == INGRESS_GATEWAY
    assert spec["type"] == service_type
    assert spec["selector"] == {**spec["selector"], **{"istio": INGRESS_LABELS["istio"]}}
    assert {p["targetPort"] for p in spec["ports"]} <= set(ISTIO_PORTS)  # the NetworkPolicy admits them
    annotations = service["metadata"].get("annotations") or {}
    assert config_mode in annotations[EXPOSURE_OPT_IN]
    if service_type == "NodePort":
        assert {p["name"]: p.get("nodePort") for p in spec["ports"]} == {
            "status-port": None, "http2": 30080, "https": 30443}
    opt_in_is_what_passes(service)


@needs_charts
def test_eks_gateway_is_an_internet_facing_nlb_with_ip_targets() -> None:
    version, values = plan_gateway_values("eks")
    annotations = render_service(version, values)["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"


MODES = [
    ("cluster-ip", "local", {}),
    ("node-port", "local", {"node_ports": {"http": 31080, "https": 31443}}),
    ("existing-load-balancer", "selfhosted", {}),
    ("load-balancer", "selfhosted", {"address": "203.0.113.10", "source_ranges": ["198.51.100.0/24"]}),
    ("load-balancer", "gke", {"internal": True}),
    ("load-balancer", "eks", {"internal": True, "annotations": {"service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443"}}),
    ("load-balancer", "aks", {"internal": True}),
    ("load-balancer", "aks", {}),
]


@needs_charts
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("mode", "kind", "extra"), MODES)
def test_each_mode_renders_as_intended(version: str, mode: str, kind: str, extra: dict[str, Any]) -> None:
    settings = GatewaySettings.model_validate({"mode": mode, **extra})
    values = {"name": INGRESS_GATEWAY, "labels": dict(INGRESS_LABELS),
              "service": gateway_service_values(settings, kind)}
    service = render_service(version, values)
    spec, annotations = service["spec"], service["metadata"].get("annotations") or {}
    expected_type = {"cluster-ip": "ClusterIP", "node-port": "NodePort", "existing-load-balancer": "NodePort",
                     "load-balancer": "LoadBalancer"}[mode]
    assert spec["type"] == expected_type
    assert [p["port"] for p in spec["ports"]] == [15021, 80, 443]
    if expected_type == "NodePort":
        ports = settings.node_ports
        assert [p.get("nodePort") for p in spec["ports"]] == [None, ports.http, ports.https]
    else:
        assert all("nodePort" not in p for p in spec["ports"])
    if mode == "load-balancer":
        for key, value in CLOUD_ANNOTATIONS.get(kind, {}).get(settings.internal, {}).items():
            assert annotations[key] == value
        for key, value in settings.annotations.items():
            assert annotations[key] == value
        assert spec.get("loadBalancerIP") == settings.address
        assert spec.get("loadBalancerSourceRanges", []) == list(settings.source_ranges)
    else:
        assert "loadBalancerIP" not in spec and "loadBalancerSourceRanges" not in spec
    assert (EXPOSURE_OPT_IN in annotations) == (expected_type != "ClusterIP")
    opt_in_is_what_passes(service)


def _stack_with_gateway(tmp_path: Path, gateway: str, cluster: str = "kind: local") -> Path:
    text = (ROOT / "Pulumi.dev.yaml").read_text().replace(
        "    gateway:\n      mode: node-port\n      node_ports: {http: 30080, https: 30443}\n", gateway)
    text = text.replace("    kind: local\n", f"    {cluster}\n", 1)
    path = tmp_path / "Pulumi.gw.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("gateway", "message"), [
    ("    gateway: {mode: node-port, internal: true}\n",
     "mlplane:kubeflow.gateway.internal: only a load-balancer gateway takes internal (got True; allowed: mode: "
     "load-balancer, or leave it out)"),
    ("    gateway: {mode: node-port, node_ports: {http: 30080, https: 30080}}\n",
     "mlplane:kubeflow.gateway.node_ports.https: the HTTP and HTTPS node ports are the same"),
    ("    gateway: {mode: load-balancer, internal: true}\n",
     "mlplane:kubeflow.gateway.internal: mlplane knows no internal load balancer annotation for local clusters"),
    ("    gateway: {mode: loadbalancer}\n",
     "mlplane:kubeflow.gateway.mode: not an allowed value (got 'loadbalancer'; allowed: 'cluster-ip', "
     "'node-port', 'load-balancer' or 'existing-load-balancer')"),
    ("    gateway: {mode: load-balancer, source_ranges: [10.0.0.1/8]}\n",
     "mlplane:kubeflow.gateway.source_ranges[0]: must be a CIDR range such as 203.0.113.0/24"),
    # Kubernetes' default --service-node-port-range is 30000-32767, inclusive (gateway.py cites the source).
    ("    gateway: {mode: node-port, node_ports: {http: 80, https: 30443}}\n",
     "mlplane:kubeflow.gateway.node_ports.http: outside Kubernetes' default node-port range; the API server "
     "refuses the Service (got 80; allowed: 30000-32767, or set node_ports.range to your cluster's "
     "--service-node-port-range)"),
    ("    gateway: {mode: existing-load-balancer, node_ports: {http: 30080, https: 32768}}\n",
     "mlplane:kubeflow.gateway.node_ports.https: outside Kubernetes' default node-port range"),
    ("    gateway: {mode: node-port, node_ports: {http: 29999, https: 30443}}\n",
     "mlplane:kubeflow.gateway.node_ports.http: outside Kubernetes' default node-port range"),
    ("    gateway: {mode: node-port, node_ports: {http: 8080, https: 30443, range: 9000-32767}}\n",
     "mlplane:kubeflow.gateway.node_ports.http: outside the cluster's node-port range (node_ports.range); the API "
     "server refuses the Service (got 8080; allowed: 9000-32767)"),
    ("    gateway: {mode: node-port, node_ports: {range: 32767-30000}}\n",
     "mlplane:kubeflow.gateway.node_ports.range: must be a port range as the API server's "
     "--service-node-port-range reads it: low-high such as 30000-32767"),
    ("    gateway: {mode: node-port, node_ports: {range: 30000-70000}}\n",
     "mlplane:kubeflow.gateway.node_ports.range: must be a port range as the API server's"),
    # Modes whose Service takes no fixed node ports refuse them rather than ignore them.
    ("    gateway: {mode: cluster-ip, node_ports: {http: 30080, https: 30443}}\n",
     "mlplane:kubeflow.gateway.node_ports: node ports only apply in the node-port and existing-load-balancer "
     "modes; mode cluster-ip ignores them (got {'http': 30080, 'https': 30443}; allowed: mode: node-port or "
     "existing-load-balancer, or leave node_ports out)"),
    ("    gateway: {node_ports: {http: 30080}}\n",
     "mlplane:kubeflow.gateway.node_ports: node ports only apply in the node-port and existing-load-balancer "
     "modes; mode cluster-ip ignores them (got {'http': 30080}"),
    ("    gateway: {mode: load-balancer, node_ports: {https: 30443}}\n",
     "mlplane:kubeflow.gateway.node_ports: node ports only apply in the node-port and existing-load-balancer "
     "modes; mode load-balancer ignores them"),
])
def test_gateway_settings_that_do_not_fit_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 gateway: str, message: str) -> None:
    path = _stack_with_gateway(tmp_path, gateway)
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_exposed_gateway_needs_mlplanes_istio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _stack_with_gateway(tmp_path, "    gateway: {mode: node-port}\n")
    path.write_text(path.read_text().replace("    components:\n", "    components:\n      istio: {existing: true, traffic_redirection: cni}\n", 1))
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    assert ("mlplane:kubeflow.gateway.mode: mlplane installs no ingress gateway here (components.istio is existing "
            "or off), so it cannot expose one (got 'node-port'; allowed: cluster-ip") in capsys.readouterr().err


@pytest.mark.parametrize(("node_ports", "expected"), [
    ({"http": 30000, "https": 32767}, (30000, 32767)),  # both ends of the default range are in it
    ({"http": 8080, "https": 8443, "range": "80-32767"}, (8080, 8443)),  # a cluster started with a wider range
    ({"http": 32767, "https": 32766, "range": "32766-32767"}, (32767, 32766)),
])
def test_node_ports_inside_the_range_are_accepted_and_set(node_ports: dict[str, Any],
                                                          expected: tuple[int, int]) -> None:
    from mlplane.components.platform.gateway import gateway_problems

    settings = GatewaySettings.model_validate({"mode": "node-port", "node_ports": node_ports})
    assert gateway_problems(settings, "local") == []
    ports = {p["name"]: p.get("nodePort") for p in gateway_service_values(settings, "local")["ports"]}
    assert (ports["http2"], ports["https"]) == expected


def test_the_default_range_is_kubernetes_default() -> None:
    """30000-32767: PortRange{Base: 30000, Size: 2768} printed as Base-(Base+Size-1), as apimachinery does."""
    from mlplane.components.platform.gateway import DEFAULT_NODE_PORT_RANGE, parse_port_range

    base, size = 30000, 2768  # kubernetes/kubernetes pkg/kubeapiserver/options/options.go
    assert parse_port_range(DEFAULT_NODE_PORT_RANGE) == (base, base + size - 1)
    assert GatewaySettings().node_ports.range == DEFAULT_NODE_PORT_RANGE


@pytest.mark.parametrize(("text", "expected"), [
    ("30000-32767", (30000, 32767)), (" 30000-32767 ", (30000, 32767)),
    ("30000+2767", (30000, 32767)),  # apimachinery's PlusNotation: low to low + offset
    ("31000", (31000, 31000)),  # a single port
])
def test_node_port_ranges_read_as_the_api_server_reads_them(text: str, expected: tuple[int, int]) -> None:
    assert parse_port_range(text) == expected


@pytest.mark.parametrize("text", ["", "30000-", "-32767", "a-b", "30000+", "65000+1000", "0-10", "30000-32767-1",
                                  "30000+-1"])
def test_malformed_node_port_ranges_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="low-high such as 30000-32767, low\\+offset"):
        parse_port_range(text)
