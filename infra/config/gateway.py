"""``mlplane:kubeflow.gateway``: checks that need the cluster kind (see components/platform/gateway.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mlplane.components.platform.gateway import gateway_problems
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig


@rule
def gateway_fits_its_mode_and_cluster(config: "StackConfig") -> Iterator[Finding]:
    """Load-balancer settings only with mode load-balancer; distinct node ports; known internal LBs."""
    kubeflow = config.kubeflow
    if kubeflow is None:
        return
    for path, message, value, allowed in gateway_problems(kubeflow.gateway, config.cluster.kind):
        yield Finding(("mlplane:kubeflow", "gateway", *path), message, value, allowed)
    istio = kubeflow.components.istio
    if kubeflow.gateway.mode != "cluster-ip" and (istio.existing or istio.enabled is False):
        # The gateway chart is Istio's; with the cluster's own Istio mlplane installs no gateway to shape.
        yield Finding(("mlplane:kubeflow", "gateway", "mode"), "mlplane installs no ingress gateway here "
                      "(components.istio is existing or off), so it cannot expose one", kubeflow.gateway.mode,
                      "cluster-ip (expose your own Istio's gateway yourself), or let mlplane install Istio")


#: Modes that expose the gateway's Service outside the cluster.
EXPOSED_MODES = ("node-port", "load-balancer", "existing-load-balancer")


@rule
def exposed_gateway_needs_login_and_tls(config: "StackConfig") -> Iterator[Finding]:
    """An exposed gateway has an authenticator and serves TLS (or the stack opts into cleartext)."""
    from mlplane.components.platform.resolve import resolve

    kubeflow = config.kubeflow
    if kubeflow is None or kubeflow.gateway.mode not in EXPOSED_MODES:
        return
    resolved = resolve(kubeflow)
    if not resolved["istio"].available:
        return
    mode = kubeflow.gateway.mode
    if not resolved["oauth2_proxy"].enabled:
        yield Finding(("mlplane:kubeflow", "components", "oauth2_proxy", "enabled"),
                      f"the gateway is exposed (gateway.mode {mode}) and nothing logs users in: without oauth2-proxy "
                      "every request without a Dex token is refused, and nothing asks for one",
                      False, "oauth2_proxy enabled (the default), or gateway.mode: cluster-ip")
    if not kubeflow.ingress.effective_tls and not kubeflow.ingress.cleartext:
        yield Finding(("mlplane:kubeflow", "ingress", "tls"),
                      f"the gateway is exposed (gateway.mode {mode}) over plain HTTP: passwords and session cookies "
                      "would cross the network unencrypted", kubeflow.ingress.tls,
                      "ingress.host (TLS is on with a host), or ingress.cleartext: true to serve plain HTTP on purpose")
    if kubeflow.ingress.cleartext and kubeflow.ingress.effective_tls:
        yield Finding(("mlplane:kubeflow", "ingress", "cleartext"), "the gateway serves TLS; cleartext opts out of it",
                      True, "leave cleartext out, or tls: false")
