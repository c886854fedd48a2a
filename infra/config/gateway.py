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
