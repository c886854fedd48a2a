"""How mlplane's run-to-completion pods stay out of the Istio mesh.

An Istio sidecar injected as an ordinary container never exits, so a Job whose pod got
one never completes, and ``pulumi up`` (which awaits Jobs) waits until its timeout.
Istio 1.17 (release v1.8.1) has no native sidecars; Istio 1.29 (release 26.03) injects
them as native sidecars only where istiod enables them and Kubernetes supports them
(``istiod-1.29.0/files/injection-template.yaml``: ``$nativeSidecar`` from the
``sidecar.istio.io/nativeSidecar`` annotation or ``.NativeSidecars``; istio/istio
``pilot/pkg/features/experimental.go``: ``ENABLE_NATIVE_SIDECARS`` "Requires
SidecarContainer feature flag"), which a plan cannot know about a cluster.

So every pod that runs to completion (pipeline steps' Jobs, PyTorchJob and TrainJob
pods) opts out of injection on both trains, as Kubeflow Pipelines does for its own
steps: kubeflow/pipelines ``backend/src/common/util/consts.go``
(``AnnotationKeyIstioSidecarInject = "sidecar.istio.io/inject"``, value ``"false"``),
set on every workflow template by ``SetAnnotationsToAllTemplatesIfKeyNotExist`` in
``backend/src/apiserver/resource/resource_manager.go``. mlplane sets it both as a label
(the injector's MutatingWebhookConfiguration skips pods whose ``sidecar.istio.io/inject``
label is ``"false"`` in its ``objectSelector``: ``istiod-<version>/templates/
mutatingwebhook.yaml``, checked by tests/test_upstream_behaviours.py on both trains) and
as the annotation KFP uses (honoured by the injector itself).
"""

from __future__ import annotations

from typing import Any

#: Istio's injection switch, as label and annotation.
INJECT_KEY = "sidecar.istio.io/inject"
#: The value that turns injection off.
INJECT_OFF = "false"


def without_sidecar(metadata: dict[str, Any]) -> dict[str, Any]:
    """A pod template's ``metadata`` with Istio injection turned off (a copy).

    Args:
        metadata: The template's metadata (``labels``, ``annotations``).

    Returns:
        The metadata with ``sidecar.istio.io/inject: "false"`` as a label and an annotation.
    """
    return {
        **metadata,
        "labels": {**(metadata.get("labels") or {}), INJECT_KEY: INJECT_OFF},
        "annotations": {**(metadata.get("annotations") or {}), INJECT_KEY: INJECT_OFF},
    }


#: Pods of the ingress gateway (Istio's gateway chart: ``istio: ingressgateway``) and of
#: Knative's cluster-local gateway (``istio: cluster-local-gateway``, kubeflow/manifests
#: common/istio*/cluster-local-gateway/base on both trains), both in Istio's namespace; as
#: a NetworkPolicy pod selector.
GATEWAY_PODS: dict[str, Any] = {"matchExpressions": [{"key": "istio", "operator": "In",
                                                      "values": ["ingressgateway", "cluster-local-gateway"]}]}
