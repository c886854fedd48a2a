"""Credentials as mlplane shows them: which keys hold them, and their masked form.

Shared by every layer: the components that refuse plain credentials in Helm values, and
the errors that must never print one.
"""

from __future__ import annotations

import re
from typing import Any


#: How secrets are shown wherever mlplane writes or prints: plan, manifests, errors.
SECRET_MASK = "[secret]"
#: How the offline expansion shows a Secret value that is a literal of an upstream source
#: (public, so not hidden as ``[secret]``: the policy pack reports it where it is a credential).
PUBLISHED_MASK = "[published default]"

#: Keys (and environment variable names) whose values are credentials.
_CREDENTIAL_KEY = re.compile(
    r"(password|passwd|secret|token|api_?key|private_?key|access_?key|secret_?key|credentials?)$", re.IGNORECASE)
#: Keys that name where a credential is kept rather than holding one (Helm's existingSecret).
_REFERENCE_KEY = re.compile(r"^(existing|use_?existing)", re.IGNORECASE)


def is_credential_key(key: Any) -> bool:
    """Whether a mapping key (or env var name) holds a credential: ``password``, ``secretAccessKey``, ...

    Keys that name a Secret to read the credential from (``existingSecret``) do not.
    """
    if not isinstance(key, str):
        return False
    plain = key.replace("-", "_")
    return bool(_CREDENTIAL_KEY.search(plain)) and not _REFERENCE_KEY.match(plain)


def plain_credentials(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Key paths inside ``value`` (mappings and lists) where a credential-named key holds a plain string."""
    if isinstance(value, dict):
        found: list[tuple[Any, ...]] = []
        for key, item in value.items():
            if is_credential_key(key) and isinstance(item, str) and item:
                found.append((*path, key))
            else:
                found += plain_credentials(item, (*path, key))
        return found
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in plain_credentials(item, (*path, index))]
    return []


def masked_credentials(value: Any) -> Any:
    """``value`` with every plain string under a credential-named key replaced by ``[secret]``."""
    if isinstance(value, dict):
        return {k: SECRET_MASK if is_credential_key(k) and isinstance(v, str) else masked_credentials(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [masked_credentials(v) for v in value]
    return value
