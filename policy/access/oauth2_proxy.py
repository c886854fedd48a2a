"""The CUSTOM provider Kubeflow uses: oauth2-proxy behind Istio's ext_authz.

Behaviour modelled (oauth2-proxy v7, ``docs/docs/configuration/overview.md`` and
``oauthproxy.go``; the flags mlplane and upstream set: ``skip-jwt-bearer-tokens``,
``set-authorization-header``, ``email_domains``):
- a valid session cookie of a user whose e-mail domain is allowed: 200, and the user's ID
  token is handed upstream in ``Authorization: Bearer`` (the mesh config's
  ``headersToUpstreamOnAllow`` lists ``authorization``);
- a verified bearer token of its issuer: 200 (``skip-jwt-bearer-tokens``);
- anything else: a redirect to the login page (denied).

The mesh config (``meshConfig.extensionProviders``) is read from the plan's ``istio``
ConfigMap; a CUSTOM policy naming a provider it does not define denies (authz.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlplane.policy.access.cluster import Cluster
from mlplane.policy.access.jwt import Tokens
from mlplane.policy.access.request import Http, Verdict, allow, deny

COOKIE = "_oauth2_proxy"


@dataclass
class Sessions:
    """Logged-in browsers: cookie value -> (e-mail, ID token)."""

    known: dict[str, tuple[str, str]] = field(default_factory=dict)


def mesh_providers(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """``meshConfig.extensionProviders`` by name, from the ``istio`` ConfigMap(s)."""
    providers: dict[str, dict[str, Any]] = {}
    for cm in cluster.of_kind("ConfigMap"):
        if cm["metadata"].get("name") != "istio" or cm["metadata"].get("namespace") != cluster.root_namespace:
            continue
        mesh = yaml.safe_load((cm.get("data") or {}).get("mesh") or "") or {}
        for provider in mesh.get("extensionProviders") or ():
            providers[provider["name"]] = provider
    return providers


def email_domains(cluster: Cluster) -> tuple[str, ...]:
    """oauth2-proxy's ``email_domains`` from its config file ConfigMap (``*``: any)."""
    for cm in cluster.of_kind("ConfigMap"):
        text = str((cm.get("data") or {}).get("oauth2_proxy.cfg", ""))
        if "email_domains" in text:
            line = next(x for x in text.splitlines() if x.strip().startswith("email_domains"))
            return tuple(v.strip().strip('"') for v in line.split("[", 1)[1].rsplit("]", 1)[0].split(",") if v.strip())
    return ("*",)


def _domain_ok(email: str, domains: tuple[str, ...]) -> bool:
    return any(d == "*" or email.lower().endswith("@" + d.lower().lstrip("@")) for d in domains)


def decide(provider: Mapping[str, Any], http: Http, sessions: Sessions, tokens: Tokens,
           domains: tuple[str, ...]) -> tuple[Verdict, dict[str, str]]:
    """oauth2-proxy's answer to one check request, and the headers it adds upstream."""
    cookie = http.header("cookie") or ""
    for part in cookie.split(";"):
        name, _, value = part.strip().partition("=")
        if name.startswith(COOKIE) and value in sessions.known:
            email, token = sessions.known[value]
            if not _domain_ok(email, domains):
                return deny(f"{email}: e-mail domain not in email_domains"), {}
            upstream = (provider.get("envoyExtAuthzHttp") or {}).get("headersToUpstreamOnAllow") or ()
            return allow(f"session of {email}"), ({"authorization": f"Bearer {token}"} if "authorization" in upstream else {})
    auth = http.header("authorization") or ""
    if auth.startswith("Bearer ") and auth[len("Bearer "):] in tokens.known:
        return allow("verified bearer token (skip-jwt-bearer-tokens)"), {}
    return deny("no session: redirected to the login page"), {}
