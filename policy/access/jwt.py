"""RequestAuthentication, as Envoy's ``jwt_authn`` filter applies it.

istio/istio (1.17.3 ``pilot/pkg/security/authn/v1beta1/policy_applier.go`` line 217,
1.29.0 ``pilot/pkg/security/authn/policy_applier.go`` line 154) configures one
requirement per workload: ``requires_any {provider, allow_missing}``. So:
- no token: the request passes, with no request principal;
- a token that fails (bad format, unknown issuer, audience, signature): 401, because
  ``allow_missing`` accepts only a *missing* token (envoyproxy/envoy
  ``source/extensions/filters/http/jwt_authn/authenticator.cc``, ``doneWithStatus``);
- a good token: request principal ``<iss>/<sub>``; each ``outputClaimToHeaders`` header is
  first removed, then set from the claim (the provider's extractor ``sanitizeHeaders``,
  then ``addJWTClaimToHeader``); unless ``forwardOriginalToken``, the token's header is
  removed before the request goes upstream (``handleGoodJwt``: ``removeJwt``).

Where a token is found: each ``fromHeaders`` entry (default ``Authorization`` with prefix
``Bearer ``); the prefix is searched *anywhere* in the value, and a value without it is
skipped as if absent (``extractor.cc``, ``ExtractorImpl::extract``: ``value_str.find
(value_prefix_)``; ``continue`` when not found). So ``Authorization: x`` is "no token".
A request without a token keeps every header the client sent, claim headers included:
the ``allow_missing`` path runs no provider's sanitizer (envoyproxy/envoy issue #35553;
fixed filter-wide only by envoyproxy/envoy#46586, after Istio 1.29's Envoy).

Tokens are modelled, not signed: :class:`Tokens` maps the string a client sends to the
claims its issuer signed; any other string fails to parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlplane.policy.access import scope
from mlplane.policy.access.cluster import Cluster, Workload
from mlplane.policy.access.request import Http

KIND = "RequestAuthentication"
_BASE64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class Claims:
    """What an issuer signed into one token."""

    issuer: str
    subject: str
    email: str
    audience: str
    groups: tuple[str, ...] = ()


@dataclass
class Tokens:
    """The tokens issuers have handed out in the scenario (string -> claims)."""

    known: dict[str, Claims] = field(default_factory=dict)

    def issue(self, claims: Claims) -> str:
        token = f"eyJ.{claims.subject.replace('@', '_')}.{abs(hash((claims.issuer, claims.audience))) % 10**8}"
        self.known[token] = claims
        return token


@dataclass(frozen=True)
class Outcome:
    """The JWT filter's result: ``status`` ``none`` (no filter), ``missing``, ``ok`` or ``invalid``."""

    status: str
    http: Http
    principal: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""


def _extract(value: str, prefix: str) -> str | None:
    if not prefix:
        return value
    position = value.find(prefix)
    if position < 0:
        return None
    rest = value[position + len(prefix):]
    start = next((i for i, ch in enumerate(rest) if ch in _BASE64URL), None)
    return rest if start is None else rest[start:]


def authenticate(cluster: Cluster, workload: Workload, http: Http, tokens: Tokens) -> Outcome:
    """Run the JWT filter of ``workload`` over ``http``."""
    policies = scope.applicable(cluster, KIND, workload)
    rules = [(p, r) for p in policies for r in (p.get("spec") or {}).get("jwtRules") or ()]
    if not rules:
        return Outcome("none", http, reason=f"no RequestAuthentication selects {workload.key}")
    found: list[tuple[str, str, list[dict[str, Any]]]] = []  # (token, header, rules sharing the location)
    locations: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _, rule in rules:
        for location in rule.get("fromHeaders") or [{"name": "Authorization", "prefix": "Bearer "}]:
            locations.setdefault((location["name"].lower(), location.get("prefix", "")), []).append(rule)
    for (header, prefix), sharing in locations.items():
        value = http.header(header)
        if value is None:
            continue
        token = _extract(value, prefix)
        if token is not None:
            found.append((token, header, sharing))
    if not found:
        return Outcome("missing", http, reason="no token at the JWT filter's locations (allow_missing)")
    principal, claims_out, out = None, {}, http
    for token, header, sharing in found:
        claims = tokens.known.get(token)
        if claims is None:
            return Outcome("invalid", http, reason=f"{header}: not a JWT the filter can parse (401)")
        rule = next((r for r in sharing if r.get("issuer") == claims.issuer), None)
        if rule is None:
            return Outcome("invalid", http, reason=f"{header}: issuer {claims.issuer} unknown here (401)")
        audiences = rule.get("audiences")
        if audiences and claims.audience not in audiences:
            return Outcome("invalid", http, reason=f"{header}: audience {claims.audience} not accepted (401)")
        principal = f"{claims.issuer}/{claims.subject}"
        claims_out = {"iss": claims.issuer, "sub": claims.subject, "email": claims.email,
                      "aud": claims.audience, "groups": ",".join(claims.groups)}
        changes: dict[str, str | None] = {}
        for output in rule.get("outputClaimToHeaders") or ():
            value = claims_out.get(output["claim"])
            changes[output["header"].replace("-", "_")] = value or None
        if not rule.get("forwardOriginalToken"):
            changes[header.replace("-", "_")] = None
        out = out.with_headers(**changes)
    return Outcome("ok", out, principal, claims_out, reason=f"JWT of {claims_out['email']} verified")
