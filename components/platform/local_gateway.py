"""Knative's local gateway learns who calls: Istio mutual TLS on its listener.

Knative routes every in-cluster request for a serverless endpoint through
``knative-local-gateway`` (a Service in Istio's namespace, port 80 -> pod port 8081 of the
cluster-local gateway), whose Gateway server upstream declares as plain ``HTTP`` on both
trains (kubeflow/manifests ``common/knative/knative-serving/base/upstream/net-istio.yaml``
at v1.8.1 and 26.03; knative-extensions/net-istio ``config/203-local-gateway.yaml`` is the same at
knative-v1.10.1 and knative-v1.21.1). Plain HTTP carries no caller identity, so an
AuthorizationPolicy there cannot tell one namespace from another: any namespace allowed to
call one serverless endpoint reached, through this gateway, every other one whose revision
admits the gateway.

mlplane makes that listener terminate Istio's own mutual TLS instead:

- the Gateway server on 8081 becomes ``protocol: HTTPS`` with ``tls.mode: ISTIO_MUTUAL``
  (istio/istio ``pkg/config/validation/validation.go`` at 1.29.0: an HTTPS server needs TLS
  settings, and ISTIO_MUTUAL takes no credential). The listener then requires a client
  certificate signed by the mesh's CA (``pilot/pkg/networking/core/listener.go``,
  ``BuildListenerTLSContext``: ``RequireClientCertificate`` for ISTIO_MUTUAL, at 1.29.0;
  ``pilot/pkg/networking/core/v1alpha3/listener.go`` at 1.17.3), and its policies see the
  caller's principal and namespace;
- a DestinationRule for the Service's host makes every client Envoy (sidecars, the ingress
  gateway, the local gateway itself) originate Istio mTLS to it: auto mTLS alone would not,
  since it applies only to endpoints labelled ``security.istio.io/tlsMode: istio``, which the
  injector sets and the gateway's pods, not injected, lack (``pilot/pkg/serviceregistry/kube/
  conversion.go`` ``PodTLSMode``; ``pilot/pkg/networking/core/cluster_tls.go``).

Knative itself is unaffected: net-istio's readiness prober probes a Gateway server only
through a Service port of the same number among the Services labelled like the Gateway's
selector (knative-extensions/net-istio ``pkg/reconciler/ingress/lister.go``,
``listGatewayTargets``, at knative-v1.10.1 and knative-v1.21.1), and the cluster-local
gateway's Service has no port 8081 (kubeflow/manifests ``common/istio*/cluster-local-gateway/
base/cluster-local-gateway.yaml``: 15020 and 80), so this server was never probed. Meshed
callers of ``<name>-predictor.<ns>.svc.cluster.local`` mostly skip the gateway anyway (net-istio's
``mesh`` VirtualService, ``pkg/reconciler/ingress/resources/virtual_service.go``); callers
without a sidecar can no longer call serverless endpoints (documented in docs/security.md).
Each endpoint's own AuthorizationPolicy on the gateway (components/serving/exposure.py)
then names who may call its hosts.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pulumi

from mlplane.components.patch_transform import patch_transform

#: The local gateway Knative's config-istio names, and where its Gateway object lives.
LOCAL_GATEWAY = "knative-local-gateway"
KNATIVE_NAMESPACE = "knative-serving"
#: The gateway pods' listener port (the Service maps 80 to it; port translation is off).
LISTENER_PORT = 8081


def local_gateway_host(istio_namespace: str = "istio-system") -> str:
    """The in-cluster host of Knative's local gateway Service."""
    return f"{LOCAL_GATEWAY}.{istio_namespace}.svc.cluster.local"


def mutual_server(server: Mapping[str, Any]) -> dict[str, Any]:
    """A Gateway server on the listener port as an ISTIO_MUTUAL HTTPS server (a copy)."""
    patched = copy.deepcopy(dict(server))
    patched["port"] = {**patched.get("port", {}), "name": "https-mesh", "protocol": "HTTPS"}
    patched["tls"] = {"mode": "ISTIO_MUTUAL"}
    return patched


def patch_local_gateway(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """Knative's ``knative-local-gateway`` Gateway with its 8081 server on Istio mTLS; None for others."""
    meta = obj.get("metadata") or {}
    if obj.get("kind") != "Gateway" or meta.get("name") != LOCAL_GATEWAY:
        return None
    patched = copy.deepcopy(dict(obj))
    servers = (patched.get("spec") or {}).get("servers") or []
    patched["spec"]["servers"] = [mutual_server(s) if int((s.get("port") or {}).get("number", 0)) == LISTENER_PORT
                                  else s for s in servers]
    return patched if patched != obj else None


def local_gateway_transform() -> pulumi.ResourceTransform:
    """The ``ResourceTransform`` that runs :func:`patch_local_gateway` on each child."""
    return patch_transform(patch_local_gateway)


def destination_rule_body(istio_namespace: str = "istio-system") -> dict[str, Any]:
    """The DestinationRule making every client originate Istio mTLS to the local gateway."""
    return {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "DestinationRule",
        "metadata": {"name": f"{LOCAL_GATEWAY}-mtls", "namespace": istio_namespace},
        "spec": {"host": local_gateway_host(istio_namespace), "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}},
    }
