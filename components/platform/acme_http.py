"""HTTP-01 through the Istio ingress gateway: what cert-manager's solver needs from the mesh.

cert-manager answers an HTTP-01 challenge with a solver pod, a Service and an Ingress
for ``http://<host>/.well-known/acme-challenge/<token>`` (cert-manager/cert-manager
``pkg/issuer/acme/http/ingress.go``, v1.12.2 and v1.19.4). Three things decide whether
the ACME server's GET on port 80 reaches it through the gateway:

1. **Istio must take the Ingress.** istiod converts an Ingress only when
   ``shouldProcessIngressWithClass`` says so (istio/istio 1.17.3
   ``pilot/pkg/config/kube/ingressv1/conversion.go``, 1.29.0
   ``pilot/pkg/config/kube/ingress/virtualservices.go``): with the annotation
   ``kubernetes.io/ingress.class`` equal to ``meshConfig.ingressClass`` (default ``istio``)
   in both ``STRICT`` and ``DEFAULT`` modes; with ``spec.ingressClassName``, only when an
   IngressClass of that name with controller ``istio.io/ingress-controller`` exists;
   with neither, only in ``DEFAULT`` mode. The default mode is ``STRICT``
   (``pkg/config/mesh/mesh.go``, both tags), and no IngressClass ``istio`` exists, so the
   ``ingressClassName: istio`` solver was never served. The solver therefore sets
   ``class: istio``, which cert-manager writes as that annotation (``ingress.go``:
   ``ingAnnotations[annotationIngressClass] = *http01IngressCfg.Class``); no cluster-scoped
   IngressClass is needed, so a cluster's own Istio with default settings serves it too.
   The derived Gateway selects ``istio: ingressgateway`` (``getIngressGatewaySelector``
   without ``ingressSelector``), the label of mlplane's gateway pods.
2. **Port 80 must not redirect the challenge.** A Gateway server with
   ``tls.httpsRedirect`` sets ``require_tls: ALL`` on the whole virtual host of its hosts,
   whichever Gateway's routes fill it (``pilot/pkg/networking/core/v1alpha3/gateway.go`` at
   1.17.3, ``pilot/pkg/networking/core/gateway.go`` at 1.29.0: ``buildGatewayHTTPRouteConfig``
   appends every gateway's routes for a host on a port into one virtual host and sets
   ``RequireTls`` if any server redirects). The ACME server would follow the redirect to
   443, where no certificate exists yet. So the platform's port 80 is its own Gateway
   without ``httpsRedirect``, and a VirtualService redirects every path to HTTPS *except*
   the challenge prefix (a route match, so the solver's exact-path route, appended to the
   same virtual host, answers the challenge).
3. **The login gate must let the GET through** (the gateway's AuthorizationPolicies:
   components/platform/gateway_guard.py on the isolation work, ``ACME_PATHS``).

The solver's Service is ``ClusterIP`` (cert-manager's default is ``NodePort``): the gateway
reaches it inside the cluster, nothing else needs to.
"""

from __future__ import annotations

import re

#: The path prefix of every HTTP-01 challenge (RFC 8555 section 8.3).
ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
#: meshConfig.ingressClass's default (istio/istio pkg/config/mesh/mesh.go, 1.17.3 and 1.29.0).
ISTIO_INGRESS_CLASS = "istio"
#: Name of the Gateway of the platform's port 80 (HTTP) when it serves TLS on 443.
HTTP_GATEWAY = "kubeflow-http"
#: Name of the VirtualService that sends port 80 to HTTPS.
HTTPS_REDIRECT = "https-redirect"


def http01_solver() -> dict[str, object]:
    """The ClusterIssuer's HTTP-01 solver: an Ingress Istio takes (see the module doc)."""
    return {"http01": {"ingress": {"class": ISTIO_INGRESS_CLASS, "serviceType": "ClusterIP"}}}


def not_prefix_regex(prefix: str) -> str:
    """An RE2 regex that fully matches every path that does *not* start with ``prefix``.

    RE2 (Envoy's ``safe_regex``, which Istio's ``uri.regex`` becomes) has no lookahead,
    so the complement is spelled out: a path differs from ``prefix`` at some first
    character, or is a proper prefix of it. Paths start with ``/``, as ``prefix`` does.
    """
    branches = [re.escape(prefix[:i]) + "[^" + re.escape(prefix[i]) + "].*" for i in range(1, len(prefix))]
    branches += [re.escape(prefix[:i]) for i in range(1, len(prefix))]
    return "(?:" + "|".join(branches) + ")"


def redirect_routes(acme: bool) -> list[dict[str, object]]:
    """The port-80 VirtualService's routes: everything to HTTPS, the challenge prefix excepted with ACME."""
    match = {"uri": {"regex": not_prefix_regex(ACME_CHALLENGE_PREFIX)}} if acme else {"uri": {"prefix": "/"}}
    return [{"match": [match], "redirect": {"scheme": "https", "redirectCode": 301}}]
