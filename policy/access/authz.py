"""Istio AuthorizationPolicy: CUSTOM, then (after the JWT filter) DENY, then ALLOW.

Semantics, istio/istio at 1.17.3 and 1.29.0:
- Order: the CUSTOM filter (ext_authz), then the authentication (JWT) filter, then the
  RBAC filters, DENY before ALLOW: ``pilot/pkg/networking/core/listener_builder.go``
  (1.29.0 lines 406-410; 1.17.3 ``pilot/pkg/networking/core/v1alpha3/listener_builder.go``
  lines 378-382) and ``pilot/pkg/security/authz/builder/builder.go`` (DENY built before ALLOW).
- A request is denied when any DENY rule matches; when some ALLOW policy applies, it is
  allowed only if an ALLOW rule matches; when none applies, it is allowed.
- A rule matches when any of its ``from`` sources, any of its ``to`` operations and all of
  its ``when`` conditions match (an absent part matches); in a source or operation every
  field set must match, a field matching when any of its values does and its ``not``
  form when none does (``pilot/pkg/security/authz/model/model.go``). A policy without
  ``rules`` matches nothing (so an ALLOW with no rules denies everything it selects);
  ``rules: [{}]`` matches everything.
- A CUSTOM policy whose provider the mesh config does not define is turned into DENY
  rules (``getBadCustomDenyRules``, builder.go at 1.29.0 line 353).
- ``request.headers[h]`` with ``notValues: ['*']`` matches when ``h`` is absent (``*`` is
  Envoy's ``present_match``: ``pilot/pkg/security/authz/matcher/header.go``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlplane.policy.access import match, scope
from mlplane.policy.access.cluster import Cluster, Workload
from mlplane.policy.access.request import Http, Peer, Verdict, allow, deny

KIND = "AuthorizationPolicy"


@dataclass(frozen=True)
class Context:
    """What the RBAC filter sees: the peer, the request and its verified JWT (if any)."""

    peer: Peer
    http: Http
    request_principal: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


def _field(values: list[str] | None, negated: list[str] | None, test: Callable[[str], bool]) -> bool:
    if values is not None and not any(test(v) for v in values):
        return False
    if negated is not None and any(test(v) for v in negated):
        return False
    return True


def _ip_in(block: str, ip: str | None) -> bool:
    if ip is None:
        return False
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(block, strict=False)
    except ValueError:
        return False


def source_matches(source: Mapping[str, Any], ctx: Context) -> bool:
    peer = ctx.peer
    return (_field(source.get("principals"), source.get("notPrincipals"),
                   lambda p: match.principal(p, peer.principal))
            and _field(source.get("requestPrincipals"), source.get("notRequestPrincipals"),
                       lambda p: match.istio_value(p, ctx.request_principal))
            and _field(source.get("namespaces"), source.get("notNamespaces"),
                       lambda n: match.istio_value(n, peer.namespace))
            and _field(source.get("ipBlocks"), source.get("notIpBlocks"), lambda b: _ip_in(b, peer.ip))
            and _field(source.get("remoteIpBlocks"), source.get("notRemoteIpBlocks"), lambda b: _ip_in(b, peer.ip)))


def operation_matches(operation: Mapping[str, Any], ctx: Context) -> bool:
    http = ctx.http
    return (_field(operation.get("hosts"), operation.get("notHosts"), lambda h: match.host(h, http.host))
            and _field(operation.get("ports"), operation.get("notPorts"), lambda p: str(p) == str(http.port))
            and _field(operation.get("methods"), operation.get("notMethods"), lambda m: m == http.method)
            and _field(operation.get("paths"), operation.get("notPaths"), lambda p: match.path(p, http.path)))


def _attribute(key: str, ctx: Context) -> str | None:
    if key.startswith("request.headers[") and key.endswith("]"):
        return ctx.http.header(key[len("request.headers["):-1])
    if key.startswith("request.auth.claims[") and key.endswith("]"):
        value = ctx.claims.get(key[len("request.auth.claims["):-1])
        return None if value is None else str(value)
    simple = {
        "source.namespace": ctx.peer.namespace, "source.principal": ctx.peer.principal,
        "source.ip": ctx.peer.ip, "remote.ip": ctx.peer.ip, "request.auth.principal": ctx.request_principal,
        "destination.port": str(ctx.http.port),
    }
    if key in simple:
        return simple[key]
    raise ValueError(f"condition key {key!r} is not modelled by the access evaluator")


def condition_matches(condition: Mapping[str, Any], ctx: Context) -> bool:
    key = condition["key"]
    value = _attribute(key, ctx)
    if key in ("source.ip", "remote.ip"):
        test: Callable[[str], bool] = lambda v: _ip_in(v, value)  # noqa: E731
    elif key == "request.auth.claims[groups]" and value is not None:
        groups = set(str(ctx.claims.get("groups", "")).split(","))
        test = lambda v: v in groups  # noqa: E731
    else:
        test = lambda v: match.istio_value(v, value)  # noqa: E731
    return _field(condition.get("values"), condition.get("notValues"), test)


def rule_matches(rule: Mapping[str, Any], ctx: Context) -> bool:
    froms = rule.get("from")
    if froms and not any(source_matches(f.get("source") or {}, ctx) for f in froms):
        return False
    tos = rule.get("to")
    if tos and not any(operation_matches(t.get("operation") or {}, ctx) for t in tos):
        return False
    return all(condition_matches(c, ctx) for c in rule.get("when") or ())


def matching_rule(policy: Mapping[str, Any], ctx: Context) -> int | None:
    """Index of the first rule of ``policy`` that matches, or None."""
    for index, rule in enumerate((policy.get("spec") or {}).get("rules") or ()):
        if rule_matches(rule or {}, ctx):
            return index
    return None


def _action(policy: Mapping[str, Any]) -> str:
    return (policy.get("spec") or {}).get("action") or "ALLOW"


def custom_policies(cluster: Cluster, workload: Workload) -> list[dict[str, Any]]:
    return [p for p in scope.applicable(cluster, KIND, workload) if _action(p) == "CUSTOM"]


def local(cluster: Cluster, workload: Workload, ctx: Context) -> Verdict:
    """The RBAC filters: DENY, then ALLOW (CUSTOM and JWT have run already)."""
    policies = scope.applicable(cluster, KIND, workload)
    for policy in policies:
        if _action(policy) == "DENY" and (index := matching_rule(policy, ctx)) is not None:
            return deny(f"{scope.name(policy)} (DENY, rule {index})")
    allows = [p for p in policies if _action(p) == "ALLOW"]
    if not allows:
        return allow(f"no ALLOW policy selects {workload.key}")
    for policy in allows:
        if (index := matching_rule(policy, ctx)) is not None:
            return allow(f"{scope.name(policy)} (ALLOW, rule {index})")
    return deny(f"no ALLOW rule matches at {workload.key} ({len(allows)} ALLOW policies)")


def custom(cluster: Cluster, workload: Workload, ctx: Context, providers: Mapping[str, Any],
           ask: Callable[[str, Http], tuple[Verdict, Mapping[str, str]]]) -> tuple[Verdict | None, Http]:
    """The CUSTOM filter: the first matching CUSTOM policy sends the request to its provider.

    Returns:
        ``(verdict, http)``: verdict None when no CUSTOM rule matched (the request goes on
        unchanged); otherwise the provider's verdict and the request with the headers the
        provider adds on allow (``headersToUpstreamOnAllow``).
    """
    for policy in custom_policies(cluster, workload):
        index = matching_rule(policy, ctx)
        if index is None:
            continue
        provider = ((policy.get("spec") or {}).get("provider") or {}).get("name")
        if provider not in providers:
            return deny(f"{scope.name(policy)} names provider {provider!r}, which the mesh config does not "
                        "define: Istio turns its rules into DENY"), ctx.http
        verdict, added = ask(provider, ctx.http)
        if not verdict:
            return deny(f"{scope.name(policy)} (CUSTOM rule {index}) -> {provider}: {verdict.reason}"), ctx.http
        return allow(f"{scope.name(policy)} -> {provider}: {verdict.reason}"), \
            ctx.http.with_headers(**{k.replace("-", "_"): v for k, v in added.items()})
    return None, ctx.http
