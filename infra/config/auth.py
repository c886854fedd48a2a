"""``mlplane:auth``: who logs in (Dex static users, an upstream OIDC provider) and oauth2-proxy.

The section's model is :class:`components.platform.spec.AuthSpec`. Rules here check
every user has a way to log in, that someone can, and that the profiles of
``mlplane:kubeflow`` name users who exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mlplane.components.platform.resolve import resolve
from mlplane.components.platform.spec import AuthSpec
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

SECTION = "mlplane:auth"

AuthConfig = AuthSpec

__all__ = ["SECTION", "AuthConfig"]

_HASH_ALLOWED = ("a bcrypt hash as a secret (pulumi config set --secret --path "
                 "'mlplane:auth.dex.users[N].password_hash' '$2y$12$...'), or generate_password: true")


@rule
def every_user_has_a_password(config: "StackConfig") -> Iterator[Finding]:
    """A static user needs a password hash (or a generated password), not both."""
    seen: dict[str, int] = {}
    for index, user in enumerate(config.auth.dex.users):
        path = (SECTION, "dex", "users", index)
        if user.password_hash is None and not user.generate_password:
            yield Finding((*path, "password_hash"), f"user {user.email} has no password hash", allowed=_HASH_ALLOWED)
        elif user.password_hash is not None and user.generate_password:
            yield Finding((*path, "generate_password"), f"user {user.email} has a password hash and "
                          "generate_password: true", True, "one of the two")
        if user.email.lower() in seen:
            yield Finding((*path, "email"), f"duplicate user (also users[{seen[user.email.lower()]}])", user.email,
                          "each e-mail once")
        seen.setdefault(user.email.lower(), index)


def _dex_enabled(config: "StackConfig") -> bool:
    return config.kubeflow is not None and resolve(config.kubeflow)["dex"].enabled


@rule
def someone_can_log_in(config: "StackConfig") -> Iterator[Finding]:
    """With Dex installed, there must be a static user or an upstream provider."""
    if not _dex_enabled(config):
        return
    dex = config.auth.dex
    if not dex.users and dex.connector is None:
        yield Finding((SECTION, "dex"), "Dex is installed but nobody can log in: no users and no connector",
                      allowed="users: [{email, password_hash}] or connector: {id, name, issuer, client_id, "
                              "client_secret}")
    if dex.connector is not None and config.kubeflow is not None and config.kubeflow.ingress.host is None:
        yield Finding((SECTION, "dex", "connector"), "an upstream OIDC provider redirects back to Dex at the "
                      "platform's public host, and mlplane:kubeflow.ingress.host is not set",
                      dex.connector.id, "set mlplane:kubeflow.ingress.host, or remove the connector")


@rule
def profile_users_exist(config: "StackConfig") -> Iterator[Finding]:
    """Profile owners and contributors must be able to log in (checked for static users)."""
    if not _dex_enabled(config) or config.auth.dex.connector is not None:
        return  # users of an upstream provider are not known here
    known = {user.email.lower() for user in config.auth.dex.users}
    allowed = ", ".join(sorted(known)) or "a user of mlplane:auth.dex.users"
    for index, profile in enumerate(config.kubeflow.profiles):  # type: ignore[union-attr]
        path = ("mlplane:kubeflow", "profiles", index)
        if profile.owner.lower() not in known:
            yield Finding((*path, "owner"), "not a user of mlplane:auth.dex.users", profile.owner, allowed)
        for position, contributor in enumerate(profile.contributors):
            if contributor.email.lower() not in known:
                yield Finding((*path, "contributors", position, "email"), "not a user of mlplane:auth.dex.users",
                              contributor.email, allowed)


def mesh_config_entry(config: "StackConfig") -> str | None:
    """The mesh config entry an existing Istio needs for mlplane's login, as YAML (None: not needed).

    With ``istio: {existing: true}``, nothing mlplane installs registers oauth2-proxy as an
    extension provider, yet the gateway's CUSTOM authorization policy names one; Istio
    then denies every request through the gateway. The cluster's mesh config must carry
    this entry (under ``meshConfig.extensionProviders``), with the name the stack gives
    in ``mlplane:auth.oauth2_proxy.mesh_provider``.
    """
    import yaml

    from mlplane.components.platform.auth import OAUTH2_PROXY_PORT, mesh_provider_name, oauth2_proxy_service
    from mlplane.components.platform.istio import ExtAuthz, extension_provider

    if config.kubeflow is None:
        return None
    components = resolve(config.kubeflow)
    if not (components["istio"].existing and components["oauth2_proxy"].enabled):
        return None
    entry = extension_provider(ExtAuthz(name=mesh_provider_name(config.auth),
                                        service=oauth2_proxy_service(components["oauth2_proxy"].namespace),
                                        port=OAUTH2_PROXY_PORT))
    return yaml.safe_dump({"extensionProviders": [entry]}, sort_keys=False)


@rule
def existing_mesh_names_the_login_provider(config: "StackConfig") -> Iterator[Finding]:
    """An existing Istio must register oauth2-proxy; the stack names the provider it did."""
    entry = mesh_config_entry(config)
    if entry is None or config.auth.oauth2_proxy.mesh_provider is not None:
        return
    yield Finding((SECTION, "oauth2_proxy", "mesh_provider"),
                  "the cluster's existing Istio (mlplane:kubeflow.components.istio.existing) must register "
                  "oauth2-proxy as an extension provider, which the gateway's login policy names; without it "
                  "Istio denies every request through the gateway. Add this to its mesh config (meshConfig), "
                  "then name the provider here:\n" + entry,
                  allowed="the name of the extension provider registered in the existing mesh's config")


@rule
def external_accounts_are_named(config: "StackConfig") -> Iterator[Finding]:
    """With an upstream provider, email_domains ['*'] (any of its accounts) is an explicit choice."""
    if not _dex_enabled(config) or config.auth.dex.connector is None:
        return
    proxy = config.auth.oauth2_proxy
    if "*" in proxy.email_domains and not proxy.any_account:
        yield Finding((SECTION, "oauth2_proxy", "email_domains"),
                      f"every account of {config.auth.dex.connector.issuer} could log in to the platform",
                      list(proxy.email_domains), "your e-mail domains (e.g. [example.com]), or any_account: true "
                      "to let every account of the provider in")
