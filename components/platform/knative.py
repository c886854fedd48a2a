"""``KnativeServing``: Knative Serving with Istio networking, from kubeflow/manifests.

Knative publishes no Helm chart for Serving itself (only an operator, whose
``KnativeServing`` resource would add a CRD of its own); kubeflow/manifests' directory
already wires Serving to Istio, so it is installed from there at the release tag, then
Knative's cluster-local gateway. Both wait for Istio (Knative's objects include Istio
resources, which istiod's webhook validates).

The local gateway's directory ships the ALLOW AuthorizationPolicy that lets traffic
through the mesh's deny-all to it (``cluster-local-gateway`` in
common/istio*/cluster-local-gateway/base on both trains), and Knative's directory its own
namespace; mlplane declares neither again (a second object of a name fails AlreadyExists)
and patches the namespace's labels instead.

The local gateway's listener is switched to Istio mutual TLS, so it knows who calls
(:mod:`components.platform.local_gateway`).
"""

from __future__ import annotations

import pulumi
from pydantic import Field

from mlplane.components.platform.install import PartArgs, after, custom_resource, install_source
from mlplane.components.platform.local_gateway import destination_rule_body, local_gateway_transform
from mlplane.components.platform.resolve import ResolvedComponent



#: The ServiceAccount Knative's activator runs as, by release train: Knative 1.10 runs every
#: control-plane pod as ``controller``, 1.21 gives the activator its own (kubeflow/manifests
#: common/knative/knative-serving/base/upstream/serving-core.yaml, the activator Deployment's
#: ``serviceAccountName``, at v1.8.1 and 26.03).
ACTIVATOR_ACCOUNT = {"1.8.1": "controller", "26.03": "activator"}


class KnativeServingArgs(PartArgs):
    """Arguments of :class:`KnativeServing`."""

    component: ResolvedComponent = Field(description="Knative Serving as resolved from the release train.")
    istio_namespace: str = Field("istio-system", description="Where the local gateway's pods and Service run.")


class KnativeServing(pulumi.ComponentResource):
    """Knative Serving and its local gateway.

    Attributes:
        ready: Depend on this before creating Knative services (KServe in serverless mode).
    """

    def __init__(self, name: str, args: KnativeServingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:platform:KnativeServing", name, None, opts)
        previous: list[pulumi.Resource] = []
        self.ready: list[pulumi.Resource] = []
        mutual = pulumi.ResourceOptions(transforms=[local_gateway_transform()])
        for source in args.component.sources:
            previous = [install_source(f"{name}-{source.role}", args.component, source, None,
                                       pulumi.ResourceOptions.merge(after(self, args.after, previous), mutual))]
            self.ready = previous
        # Clients must speak Istio mTLS to the gateway's listener before it demands it.
        body = destination_rule_body(args.istio_namespace)
        self.ready = [*self.ready, custom_resource(f"{name}-local-gateway-mtls", body["apiVersion"], body["kind"],
                                                   body["metadata"], body["spec"], after(self, args.after))]
        self.register_outputs({})
