"""``KnativeServing``: Knative Serving with Istio networking, from kubeflow/manifests.

Knative publishes no Helm chart for Serving itself (only an operator, whose
``KnativeServing`` resource would add a CRD of its own); kubeflow/manifests' directory
already wires Serving to Istio, so it is installed from there at the release tag, then
Knative's cluster-local gateway. Both wait for Istio (Knative's objects include Istio
resources, which istiod's webhook validates).
"""

from __future__ import annotations

import pulumi
from pydantic import Field

from components.platform.install import PartArgs, after, install_source
from components.platform.resolve import ResolvedComponent

#: Labels of Knative's cluster-local gateway (in Istio's namespace).
LOCAL_GATEWAY_LABELS = {"app": "cluster-local-gateway", "istio": "cluster-local-gateway"}


class KnativeServingArgs(PartArgs):
    """Arguments of :class:`KnativeServing`."""

    component: ResolvedComponent = Field(description="Knative Serving as resolved from the release train.")


class KnativeServing(pulumi.ComponentResource):
    """Knative Serving and its local gateway.

    Attributes:
        ready: Depend on this before creating Knative services (KServe in serverless mode).
    """

    def __init__(self, name: str, args: KnativeServingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:platform:KnativeServing", name, None, opts)
        previous: list[pulumi.Resource] = []
        self.ready: list[pulumi.Resource] = []
        for source in args.component.sources:
            previous = [install_source(f"{name}-{source.role}", args.component, source, None,
                                       after(self, args.after, previous))]
            self.ready = previous
        self.register_outputs({})
