"""Finding the credentials an upstream source ships with a fixed value (pure; no Pulumi).

Run over a kustomize directory's objects as kustomize builds them (unmasked), it lists
every literal credential: each is published, since the directory is a public repository's
(``tests/test_credentials.py`` runs it over both trains' Kubeflow directories and
requires that :data:`~mlplane.components.credentials.stores.STORES` covers each finding, and
that nothing is found once the registered transforms ran).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlplane.components.base import is_credential_key
from mlplane.components.credentials.stores import ALLOW_EMPTY

_POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


@dataclass(frozen=True)
class Literal:
    """One fixed credential in an object.

    Attributes:
        kind: The object's kind.
        name: Its ``metadata.name``.
        where: ``data.<key>``, ``stringData.<key>``, ``env.<container>.<var>`` or ``data.<key>`` of a ConfigMap.
        value: The literal (decoded from base64), or ``"true"`` for an empty-password permission.
    """

    kind: str
    name: str
    where: str
    value: str


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return str(value)


def literal_credentials(objects: Iterable[Mapping[str, Any]]) -> list[Literal]:
    """Every literal credential among ``objects``.

    What counts: a Secret value under a credential-named key (``password``, ``secretkey``,
    ``MYSQL_ROOT_PASSWORD``; :func:`~mlplane.components.base.is_credential_key`), a
    container env var so named with a literal ``value``, and ``MYSQL_ALLOW_EMPTY_PASSWORD``
    set in a container's env or a ConfigMap (an empty root password, accepted).
    """
    found: list[Literal] = []
    for obj in objects:
        kind, name = str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))
        if kind == "Secret":
            for field in ("data", "stringData"):
                for key, value in (obj.get(field) or {}).items():
                    if is_credential_key(key):
                        found.append(Literal(kind, name, f"{field}.{key}",
                                             _decoded(value) if field == "data" else str(value)))
        elif kind == "ConfigMap" and (obj.get("data") or {}).get(ALLOW_EMPTY):
            found.append(Literal(kind, name, f"data.{ALLOW_EMPTY}", str(obj["data"][ALLOW_EMPTY])))
        elif kind in _POD_KINDS:
            pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
            for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
                for env in container.get("env") or []:
                    value = env.get("value")
                    if value and (env.get("name") == ALLOW_EMPTY or is_credential_key(env.get("name"))):
                        found.append(Literal(kind, name, f"env.{container.get('name')}.{env['name']}", str(value)))
    return found
