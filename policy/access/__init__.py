"""The judge of isolation: an evaluator of Istio's and Kubernetes' access semantics.

``matrix.evaluate(stack, objects)`` takes a plan's Kubernetes objects (an expanded render),
adds what controllers create at run time (``runtime``, ``kfp_sync``) and decides, for
every persona and target, allowed or denied with the deciding rule. The rules live in
small modules, each citing its source: ``authz`` (AuthorizationPolicy), ``jwt``
(RequestAuthentication / Envoy's jwt_authn), ``mtls`` (PeerAuthentication), ``netpol``
(NetworkPolicy), ``routing`` (Gateways, VirtualServices), ``oauth2_proxy`` (the CUSTOM
provider). Pure Python over parsed manifests; no cluster, no Pulumi.
"""
