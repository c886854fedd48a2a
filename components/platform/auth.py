"""``Auth``: Dex and oauth2-proxy in front of everything the ingress gateway serves.

The flow is Kubeflow's own: the gateway asks oauth2-proxy (an Istio CUSTOM
authorization provider) about every request without a bearer token; oauth2-proxy logs
the user in through Dex (static users, or an upstream OIDC provider behind Dex); a
RequestAuthentication on the gateway verifies Dex's tokens and puts the user's e-mail
into the ``kubeflow-userid`` header that Kubeflow's apps trust.

Credentials never appear in plain text: password hashes and client secrets come from
the stack's secrets or are generated with pulumi-random, and reach the charts as
secret values (the charts store them in Secrets).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
import pulumi_random as random
from pydantic import Field

from mlplane.components.platform.gateway_guard import ACME_PATHS, LOGIN_PATHS, host_forms
from mlplane.components.platform.install import PartArgs, after, custom_resource, install_source
from mlplane.components.platform.istio import INGRESS_LABELS, KUBEFLOW_GATEWAY, NETWORKING_API, SECURITY_API
from mlplane.components.platform.resolve import ResolvedComponent
from mlplane.components.platform.spec import AuthSpec
from mlplane.components.pod_security import ComputeResources, restricted_container_security_context, \
    restricted_pod_security_context

#: The OAuth client oauth2-proxy is at Dex.
CLIENT_ID = "kubeflow-oidc-authservice"
#: The mesh extension provider name of oauth2-proxy.
PROVIDER = "oauth2-proxy"
#: Headers Kubeflow's apps read the user from.
USER_HEADER = "kubeflow-userid"
GROUPS_HEADER = "kubeflow-groups"
DEX_PORT = 5556
OAUTH2_PROXY_PORT = 80


class AuthArgs(PartArgs):
    """Arguments of :class:`Auth`."""

    dex: ResolvedComponent = Field(description="Dex as resolved from the release train.")
    oauth2_proxy: ResolvedComponent = Field(description="oauth2-proxy as resolved from the release train.")
    settings: AuthSpec = Field(description="Users, connector and oauth2-proxy settings.")
    istio_namespace: str = Field("istio-system", description="Where the ingress gateway runs.")
    kubeflow_namespace: str = Field("kubeflow", description="Where the kubeflow-gateway Gateway lives.")
    host: str | None = Field(None, description="The platform's public host (connector redirects, cookies).")
    tls: bool = Field(False, description="Whether the gateway serves HTTPS (secure cookies).")
    public_hosts: tuple[str, ...] = Field(
        (), description="Hosts served without login (endpoints and apps that say public: true explicitly).",
    )


def _gated(public_hosts: tuple[str, ...]) -> dict[str, Any]:
    """What the login gate covers: every request but the login flow, ACME's challenges and the public hosts.

    The ACME path skips the login (an ACME server has no session); the gateway's DENY
    (components/platform/gateway_guard.py) still refuses it for any method but GET and any
    port but 80.
    """
    operation: dict[str, Any] = {"notPaths": [*LOGIN_PATHS, *ACME_PATHS]}
    if public_hosts:
        # Istio matches the Host header with and without a port; list both forms.
        operation["notHosts"] = host_forms(public_hosts)
    return operation


def mesh_provider_name(settings: AuthSpec) -> str:
    """The extension provider name the gateway's CUSTOM policies name (see ``mesh_provider``)."""
    return settings.oauth2_proxy.mesh_provider or PROVIDER


def dex_service(namespace: str) -> str:
    """Dex's in-cluster host name."""
    return f"dex.{namespace}.svc.cluster.local"


def issuer_url(namespace: str) -> str:
    """Dex's issuer: in-cluster, so it needs no public host (browsers reach /dex through the gateway)."""
    return f"http://{dex_service(namespace)}:{DEX_PORT}/dex"


def oauth2_proxy_service(namespace: str) -> str:
    """oauth2-proxy's in-cluster host name."""
    return f"oauth2-proxy.{namespace}.svc.cluster.local"


def user_id(email: str) -> str:
    """A stable Dex user id for a static user (Dex requires one)."""
    return hashlib.sha256(email.lower().encode("utf-8")).hexdigest()[:16]


def _secure_pod(uid: int) -> dict[str, Any]:
    return {
        "podSecurityContext": restricted_pod_security_context(uid),
        "securityContext": restricted_container_security_context(read_only_root=True),
        "resources": ComputeResources(cpu_request="10m", memory_request="32Mi", cpu_limit="500m",
                                      memory_limit="256Mi").to_k8s(),
    }


class Auth(pulumi.ComponentResource):
    """Dex, oauth2-proxy, their routes, and the gateway's login and token checks.

    Attributes:
        issuer: Dex's issuer URL.
        generated_passwords: Generated passwords of static users, by e-mail (secret outputs).
        ready: Depend on this before exposing anything through the gateway.
    """

    def __init__(self, name: str, args: AuthArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:platform:Auth", name, None, opts)
        settings = args.settings
        dex_ns, proxy_ns = args.dex.namespace, args.oauth2_proxy.namespace
        self.issuer = issuer_url(dex_ns)
        self.generated_passwords: dict[str, pulumi.Output[str]] = {}
        child = after(self, args.after)

        client_secret = (settings.oauth2_proxy.client_secret.as_output() if settings.oauth2_proxy.client_secret
                         else pulumi.Output.secret(random.RandomPassword(
                             f"{name}-client-secret", length=32, special=False, opts=child).result))
        cookie_secret = (settings.oauth2_proxy.cookie_secret.as_output() if settings.oauth2_proxy.cookie_secret
                         else pulumi.Output.secret(random.RandomPassword(
                             f"{name}-cookie-secret", length=32, special=False, opts=child).result))

        self.ready: list[pulumi.Resource] = []
        if args.dex.enabled:
            passwords = []
            for index, user in enumerate(settings.dex.users):
                if user.generate_password:
                    # Keyed by the user, so reordering users keeps everyone's password; the alias
                    # adopts the password a stack generated when names were list positions.
                    generated = random.RandomPassword(
                        f"{name}-user-{user.email}", length=20, special=False,
                        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                            aliases=[pulumi.Alias(name=f"{name}-user-{index}")])))
                    self.generated_passwords[user.email] = pulumi.Output.secret(generated.result)
                    password_hash = pulumi.Output.secret(generated.bcrypt_hash)
                else:
                    assert user.password_hash is not None  # the config rules guarantee it
                    password_hash = user.password_hash.as_output()
                passwords.append({"email": user.email, "hash": password_hash, "username": user.display_name,
                                  "userID": user_id(user.email)})
            config: dict[str, Any] = {
                "issuer": self.issuer,
                "storage": {"type": "kubernetes", "config": {"inCluster": True}},
                "web": {"http": f"0.0.0.0:{DEX_PORT}"},
                "oauth2": {"skipApprovalScreen": True},
                "enablePasswordDB": bool(passwords),
                "staticPasswords": passwords,
                "staticClients": [{"id": CLIENT_ID, "name": "Kubeflow", "secret": client_secret,
                                   "redirectURIs": ["/oauth2/callback"]}],
            }
            connector = settings.dex.connector
            if connector is not None:
                config["connectors"] = [{"type": "oidc", "id": connector.id, "name": connector.name, "config": {
                    "issuer": connector.issuer, "clientID": connector.client_id,
                    "clientSecret": connector.client_secret.as_output(),
                    "redirectURI": f"{'https' if args.tls else 'http'}://{args.host}/dex/callback",
                    "scopes": list(connector.scopes),
                }}]
            dex_values = {"fullnameOverride": "dex", "config": config, **_secure_pod(1001)}
            dex = install_source(f"{name}-dex", args.dex, args.dex.sources[0], dex_values, child)
            route = custom_resource(
                f"{name}-dex-route", NETWORKING_API, "VirtualService", {"name": "dex", "namespace": dex_ns},
                _route("/dex/", dex_service(dex_ns), DEX_PORT, args.kubeflow_namespace), after(self, args.after))
            self.ready += [dex, route]

        if args.oauth2_proxy.enabled:
            proxy_values = {
                "fullnameOverride": "oauth2-proxy",
                "config": {"clientID": CLIENT_ID, "clientSecret": client_secret, "cookieSecret": cookie_secret,
                           "configFile": _config_file(settings.oauth2_proxy.email_domains)},
                "extraArgs": self._proxy_args(args, dex_ns),
                "service": {"portNumber": OAUTH2_PROXY_PORT},
                **_secure_pod(2000),
            }
            proxy_values["securityContext"] = {"enabled": True, **proxy_values["securityContext"]}
            proxy = install_source(f"{name}-oauth2-proxy", args.oauth2_proxy, args.oauth2_proxy.sources[0],
                                   proxy_values, child)
            route = custom_resource(
                f"{name}-oauth2-proxy-route", NETWORKING_API, "VirtualService",
                {"name": "oauth2-proxy", "namespace": proxy_ns},
                _route("/oauth2/", oauth2_proxy_service(proxy_ns), OAUTH2_PROXY_PORT, args.kubeflow_namespace),
                child)
            gate_opts = after(self, args.after, proxy, self.ready)
            jwt = custom_resource(
                f"{name}-dex-jwt", SECURITY_API, "RequestAuthentication",
                {"name": "dex-jwt", "namespace": args.istio_namespace},
                {"selector": {"matchLabels": dict(INGRESS_LABELS)}, "jwtRules": [{
                    "issuer": self.issuer,
                    "jwksUri": f"{self.issuer}/keys",
                    # Accepted for their audience only: oauth2-proxy's client at Dex (Dex's ID
                    # tokens carry the client id as ``aud``); and not forwarded to backends,
                    # which read the user from the headers below (upstream 26.03 forwards it:
                    # any app a user visits could replay the token for its lifetime).
                    "audiences": [CLIENT_ID],
                    "forwardOriginalToken": False,
                    "fromHeaders": [{"name": "Authorization", "prefix": "Bearer "}],
                    "outputClaimToHeaders": [{"header": USER_HEADER, "claim": "email"},
                                             {"header": GROUPS_HEADER, "claim": "groups"}],
                }]},
                gate_opts)
            # Closing the gate last: only once oauth2-proxy runs is every request sent to it.
            gate = custom_resource(
                f"{name}-login-gate", SECURITY_API, "AuthorizationPolicy",
                {"name": "istio-ingressgateway-oauth2-proxy", "namespace": args.istio_namespace},
                {"action": "CUSTOM", "provider": {"name": mesh_provider_name(settings)},
                 "selector": {"matchLabels": dict(INGRESS_LABELS)},
                 "rules": [{"to": [{"operation": _gated(args.public_hosts)}],
                            "when": [{"key": "request.headers[authorization]", "notValues": ["*"]}]}]},
                gate_opts)
            self.ready += [proxy, route, jwt, gate]
        self.register_outputs({"issuer": self.issuer})

    @staticmethod
    def _proxy_args(args: AuthArgs, dex_ns: str) -> dict[str, Any]:
        issuer = issuer_url(dex_ns)
        return {
            "provider": "oidc",
            "oidc-issuer-url": issuer,
            # Dex's issuer is in-cluster; the browser is sent to /dex on the gateway instead.
            "skip-oidc-discovery": True,
            "login-url": "/dex/auth",
            "redeem-url": f"{issuer}/token",
            "oidc-jwks-url": f"{issuer}/keys",
            "redirect-url": "/oauth2/callback",
            "scope": "openid email groups profile offline_access",
            "cookie-name": "oauth2_proxy_kubeflow",
            "cookie-secure": args.tls,
            "cookie-expire": args.settings.oauth2_proxy.cookie_expire,
            "cookie-samesite": "lax",
            "upstream": "static://200",
            "reverse-proxy": True,
            "set-xauthrequest": True,
            "set-authorization-header": True,
            "pass-access-token": True,
            "skip-provider-button": True,
            "skip-jwt-bearer-tokens": True,
            "extra-jwt-issuers": f"{issuer}={CLIENT_ID}",
        }


def _config_file(email_domains: tuple[str, ...]) -> str:
    domains = ", ".join(f'"{d}"' for d in email_domains)
    return f"email_domains = [ {domains} ]\nupstreams = [ \"static://200\" ]\n"


def _route(prefix: str, host: str, port: int, gateway_namespace: str) -> dict[str, Any]:
    return {
        "hosts": ["*"],
        "gateways": [f"{gateway_namespace}/{KUBEFLOW_GATEWAY}"],
        "http": [{"match": [{"uri": {"prefix": prefix}}],
                  "route": [{"destination": {"host": host, "port": {"number": port}}}]}],
    }
