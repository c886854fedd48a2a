"""``mlplane:kubeflow.gateway``: checks that need the cluster kind (see components/platform/gateway.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from components.platform.gateway import gateway_problems
from infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from infra.config.stack import StackConfig


@rule
def gateway_fits_its_mode_and_cluster(config: "StackConfig") -> Iterator[Finding]:
    """Load-balancer settings only with mode load-balancer; distinct node ports; known internal LBs."""
    if config.kubeflow is None:
        return
    for path, message, value, allowed in gateway_problems(config.kubeflow.gateway, config.cluster.kind):
        yield Finding(("mlplane:kubeflow", "gateway", *path), message, value, allowed)
