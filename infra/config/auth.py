"""``mlplane:auth``: who logs in (Dex static users, an upstream OIDC provider) and oauth2-proxy.

The section's model is :class:`components.platform.spec.AuthSpec`. Rules here check
every user has a way to log in, that someone can, and that the profiles of
``mlplane:kubeflow`` name users who exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from components.platform.resolve import resolve
from components.platform.spec import AuthSpec
from infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from infra.config.stack import StackConfig

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
