"""What the ingress gateway lets through without a verified login: ``GatewayGuard``.

Kubeflow's login is two policies on the gateway (kubeflow/manifests 26.03,
``common/oauth2-proxy/components/istio-external-auth/``): a CUSTOM rule that sends
requests *without* an ``Authorization`` header to oauth2-proxy, and a
RequestAuthentication that verifies Dex's tokens. A request *with* any ``Authorization``
header skips oauth2-proxy, and Envoy's JWT filter treats a header it cannot read as a
bearer token as no token at all, which a RequestAuthentication accepts (istio/istio,
``security/v1beta1/request_authentication.proto``: "a request without a token is
accepted, but has no authenticated identity"). So ``Authorization: x`` would reach every
route with no identity. Upstream 26.03 closes that with ``istio-ingressgateway-require-jwt``,
a DENY of every request without a request principal (``notRequestPrincipals: ["*"]``)
outside the login flow's paths; mlplane declares the same DENY, on both release trains,
and narrows its exemptions further:

- Dex's and oauth2-proxy's own paths (``/dex/*``, ``/dex/**``, ``/oauth2/*``, upstream's list);
- the ACME HTTP-01 challenge path ``/.well-known/acme-challenge/*``, for GET on the HTTP
  port (80) only (RFC 8555 section 8.3: the CA fetches the key authorization with a GET over
  plain HTTP on port 80);
- the hosts the stack declares public (``public: true`` endpoints and apps), those hosts only.

A DENY rule matches when all its conditions do; rules are ORed. "Exempt when the path is
ACME's *and* the method GET *and* the port 80" is therefore three rules: deny outside the
login and ACME paths; deny other methods; deny other ports (the same shape as Istio's
documented ``notPaths``/``notMethods`` examples: istio.io, "Authorization Policy" reference,
``Operation``). Each rule also carries ``notHosts`` for the public hosts.

The same filter sets HSTS (``Strict-Transport-Security``) on every response the gateway
sends over TLS (Envoy's Lua ``connection():ssl()`` is nil on plain connections:
envoyproxy/envoy docs, "Lua" filter, ``ssl()``), so it covers the platform's host and every
endpoint's and app's host alike.

Client-sent identity headers never pass: an EnvoyFilter puts a Lua filter first in the
gateway's HTTP filter chain, which removes ``kubeflow-userid`` and ``kubeflow-groups``
before oauth2-proxy, the JWT filter and the router see the request. Only the JWT
filter's ``outputClaimToHeaders`` sets them afterwards, from a verified token. (Without
it, a verified token that lacks a ``groups`` claim would let a client-sent
``kubeflow-groups`` through: Envoy's ``claim_to_headers`` only writes claims present in the
token, envoyproxy/envoy ``source/extensions/filters/http/jwt_authn/authenticator.cc``.)
The Lua filter ships in every Istio proxy image (istio/proxy ``bazel/extension_config/
extensions_build_config.bzl`` lists ``envoy.filters.http.lua``), on Istio 1.17 and 1.29 alike.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import Field

from mlplane.components.platform.install import PartArgs, after, custom_resource
from mlplane.components.platform.istio import SECURITY_API

#: Paths of the login flow itself (kubeflow/manifests 26.03, istio-external-auth's notPaths).
LOGIN_PATHS = ("/dex/*", "/dex/**", "/oauth2/*")
#: Where an ACME server fetches the HTTP-01 key authorization (RFC 8555 section 8.3).
ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
ACME_PATHS = (f"{ACME_CHALLENGE_PREFIX}*",)
#: The gateway pods' HTTP port (the gateway chart's ``http2`` targetPort, 1.17.3 and 1.29.0).
HTTP_PORT = "80"
#: Identity headers Kubeflow's apps trust; only the JWT filter may set them.
IDENTITY_HEADERS = ("kubeflow-userid", "kubeflow-groups")

ENVOY_FILTER_API = "networking.istio.io/v1alpha3"
#: Name of the DENY policy (upstream's).
REQUIRE_JWT = "istio-ingressgateway-require-jwt"
#: Name of the header-stripping EnvoyFilter.
STRIP_HEADERS = "strip-client-identity-headers"


def host_forms(hosts: tuple[str, ...]) -> list[str]:
    """Hosts as Istio matches the Host header: bare and with any port."""
    return sorted({*hosts, *(f"{host}:*" for host in hosts)})


def require_jwt_rules(public_hosts: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The rules of the gateway's DENY: no verified token, outside the exemptions, is refused.

    Args:
        public_hosts: Hosts served without login (exempt as a whole, nothing else is).

    Returns:
        AuthorizationPolicy rules (ORed): the three that together leave only the login
        paths, ACME's GET on port 80 and the public hosts without a request principal.
    """
    source = {"from": [{"source": {"notRequestPrincipals": ["*"]}}]}
    hosts = {"notHosts": host_forms(public_hosts)} if public_hosts else {}
    outside_login = list(LOGIN_PATHS)
    return [
        {**source, "to": [{"operation": {"notPaths": [*outside_login, *ACME_PATHS], **hosts}}]},
        {**source, "to": [{"operation": {"notPaths": outside_login, "notMethods": ["GET"], **hosts}}]},
        {**source, "to": [{"operation": {"notPaths": outside_login, "notPorts": [HTTP_PORT], **hosts}}]},
    ]


def require_jwt_spec(selector: dict[str, str], public_hosts: tuple[str, ...] = ()) -> dict[str, Any]:
    """The DENY AuthorizationPolicy's spec on the gateway pods selected by ``selector``."""
    return {"action": "DENY", "selector": {"matchLabels": dict(selector)}, "rules": require_jwt_rules(public_hosts)}


#: HSTS on every response served over TLS (RFC 6797 section 7.2: only over secure transport):
#: browsers then refuse plain HTTP to the host for a year.
HSTS = "max-age=31536000"

#: Where KFP's UI serves artifacts (kubeflow/pipelines 2.0.5 and 2.16.0 ``frontend/server/app.ts``:
#: ``/artifacts/*`` registered bare and under the base path ``/pipeline``; Express matches routes
#: case-insensitively, so the filter compares the lower-cased, decoded, slash-merged path).
UI_ARTIFACT_PREFIXES = ("/pipeline/artifacts/", "/artifacts/")

# Why the artifact check: KFP's UI proxies an artifact request to the named namespace's
# ``ml-pipeline-ui-artifact`` (whose AuthorizationPolicy admits only that profile's members)
# only when ``new URL(req.url).searchParams.get('namespace')`` is non-empty; otherwise it serves
# the object itself with the platform's own store key, checking nobody
# (``handlers/artifacts.ts``: ``getArtifactsProxyHandler``, ``getNamespaceFromUrl``, then
# ``getArtifactsHandler``, at 2.0.5 and 2.16.0). Istio's policies cannot see a query string,
# so the gateway refuses an artifact request whose first ``namespace`` parameter, decoded as
# URLSearchParams decodes it (``&``-separated, ``+`` and %XX), is not a DNS label: every
# artifact request then goes through a profile's proxy. A DNS label also keeps the value from
# steering the proxy's target host (CVE-2023-6570, fixed only in KFP 2.17.0).
_LUA = (
    "local function unescape(s)\n"
    '  return (string.gsub(s, "%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))\n'
    "end\n"
    "local function form_decode(s)\n"
    '  return unescape((string.gsub(s, "%+", " ")))\n'
    "end\n"
    "local function first_param(query, wanted)\n"
    '  for pair in string.gmatch(query, "[^&]+") do\n'
    '    local key, value = string.match(pair, "^([^=]*)=?(.*)$")\n'
    "    if form_decode(key) == wanted then return form_decode(value) end\n"
    "  end\n"
    "  return nil\n"
    "end\n"
    "local function ui_artifact(path)\n"
    '  local p = string.gsub(string.lower(unescape(path)), "/+", "/")\n' + "".join(
        f'  if string.sub(p, 1, {len(prefix)}) == "{prefix}" then return true end\n'
        for prefix in UI_ARTIFACT_PREFIXES) +
    "  return false\n"
    "end\n"
    "function envoy_on_request(handle)\n" + "".join(
        f'  handle:headers():remove("{header}")\n' for header in IDENTITY_HEADERS) +
    '  local target = handle:headers():get(":path") or ""\n'
    '  local path, query = string.match(target, "^([^?]*)%??(.*)$")\n'
    "  if ui_artifact(path) then\n"
    '    local namespace = first_param(query, "namespace")\n'
    '    if namespace == nil or string.match(namespace, "^[a-z0-9][-a-z0-9]*$") == nil or #namespace > 63 then\n'
    '      handle:respond({[":status"] = "403"}, "artifact requests name the profile namespace: ?namespace=<profile>")\n'
    "    end\n"
    "  end\n"
    "end\n"
    "function envoy_on_response(handle)\n"
    "  if handle:connection():ssl() ~= nil then\n"
    f'    handle:headers():replace("strict-transport-security", "{HSTS}")\n'
    "  end\n"
    "end\n")


def strip_headers_spec(selector: dict[str, str]) -> dict[str, Any]:
    """The EnvoyFilter removing client-sent identity headers first thing on the gateway (and setting HSTS).

    ``INSERT_FIRST`` on the HTTP connection manager of the GATEWAY context puts the Lua
    filter before ext_authz (CUSTOM) and jwt_authn (istio/istio ``networking/v1alpha3/
    envoy_filter.proto``: ``INSERT_FIRST`` "Insert operation on an array of named objects";
    ``GATEWAY`` "Gateway listener/route/cluster"). ``defaultSourceCode`` is Envoy's
    non-deprecated form (``envoy/extensions/filters/http/lua/v3/lua.proto``).
    """
    return {
        "workloadSelector": {"labels": dict(selector)},
        "configPatches": [{
            "applyTo": "HTTP_FILTER",
            "match": {"context": "GATEWAY", "listener": {"filterChain": {"filter": {
                "name": "envoy.filters.network.http_connection_manager"}}}},
            "patch": {"operation": "INSERT_FIRST", "value": {
                "name": "mlplane.strip-client-identity-headers",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                                 "defaultSourceCode": {"inlineString": _LUA}},
            }},
        }],
    }


class GatewayGuardArgs(PartArgs):
    """Arguments of :class:`GatewayGuard`."""

    namespace: str = Field("istio-system", description="The ingress gateway's namespace.")
    selector: dict[str, str] = Field(description="Labels of the gateway's pods.")
    public_hosts: tuple[str, ...] = Field((), description="Hosts served without login (public: true).")


class GatewayGuard(pulumi.ComponentResource):
    """The gateway's DENY of unauthenticated requests and its identity-header stripping.

    Attributes:
        ready: The policy and the filter (anything exposed waits for them).
    """

    def __init__(self, name: str, args: GatewayGuardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:platform:GatewayGuard", name, None, opts)
        child = after(self, args.after)
        deny = custom_resource(f"{name}-require-jwt", SECURITY_API, "AuthorizationPolicy",
                               {"name": REQUIRE_JWT, "namespace": args.namespace},
                               require_jwt_spec(args.selector, args.public_hosts), child)
        strip = custom_resource(f"{name}-strip-headers", ENVOY_FILTER_API, "EnvoyFilter",
                                {"name": STRIP_HEADERS, "namespace": args.namespace},
                                strip_headers_spec(args.selector), child)
        self.ready: list[pulumi.Resource] = [deny, strip]
        self.register_outputs({})
