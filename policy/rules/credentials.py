"""No published credential: no Secret, environment or ConfigMap of the plan keeps a value upstream publishes.

Unlike the other rules, this one judges upstream objects too (charts and kustomize
directories, :attr:`ResourceRule.judges_upstream`): a published default is exactly what an
upstream manifest ships. What counts as published:

- a ``v1/Secret`` value under a credential-named key that the offline expansion marks
  :data:`~mlplane.components.base.PUBLISHED_MASK` (a literal of the upstream source; the
  expansion shows such values as that marker instead of ``[secret]``, so a reviewer sees them);
- under the engine, where values are plain: a store's Secret key holding the value
  upstream ships for it (:data:`~mlplane.components.credentials.stores.STORES`);
- ``MYSQL_ALLOW_EMPTY_PASSWORD`` set to anything non-empty, in a container's ``env`` or in
  a ConfigMap (the model registry's ``envFrom``), which lets MySQL run with an empty root
  password;
- a credential-named env var whose literal value is one of the published values, except
  in a credential migration Job, which logs in with the published password to replace it
  (annotation :data:`MIGRATION_ANNOTATION`, set by ``components/credentials/migration.py``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from mlplane.components.base import PUBLISHED_MASK, is_credential_key
from mlplane.components.credentials.stores import ALLOW_EMPTY, STORES, published_values
from mlplane.policy.rules.base import ResourceContext, ResourceRule, annotation, kind_of, object_name
from mlplane.policy.rules.pods import containers

NAME = "no-published-credentials"
#: Marks mlplane's credential migration Jobs (same constant there; a test keeps them equal).
MIGRATION_ANNOTATION = "mlplane.dev/credential-migration"


def _decoded(value: Any) -> Any:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value


def _published_for(secret: str, key: str) -> str | None:
    for store in STORES.values():
        if store.secret == secret:
            found = [k.published for k in store.keys if k.key == key]
            return found[0] if found else None
    return None


def _secret_findings(props: Mapping[str, Any]) -> list[str]:
    found = []
    name = object_name(props)
    for field in ("data", "stringData"):
        values = props.get(field)
        if not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            plain = _decoded(value) if field == "data" else value
            published = _published_for(name, key)
            if (value == PUBLISHED_MASK and is_credential_key(key)) or (published is not None and plain == published):
                found.append(f"{field}.{key}: holds the credential its upstream source publishes; generate it "
                             "(docs/security.md, credential inventory)")
    return found


def check(type_: str, props: Mapping[str, Any], context: ResourceContext) -> list[str]:
    """Messages for every published credential the object keeps."""
    kind = kind_of(type_)
    if kind == "Secret":
        return _secret_findings(props)
    if kind == "ConfigMap":
        data = props.get("data")
        if isinstance(data, Mapping) and data.get(ALLOW_EMPTY):
            return [f"data.{ALLOW_EMPTY}: lets MySQL run with an empty root password (read through envFrom)"]
        return []
    found = []
    published = published_values()
    for container in containers(type_, props):
        for env in container.body.get("env") or []:
            if not isinstance(env, Mapping):
                continue
            name, value = env.get("name"), env.get("value")
            if name == ALLOW_EMPTY and value:
                found.append(f"{container.path} ({container.name!r}) env {ALLOW_EMPTY}: lets MySQL run with an "
                             "empty root password")
            elif is_credential_key(name) and isinstance(value, str) and value in published \
                    and annotation(props, MIGRATION_ANNOTATION) != "true":
                found.append(f"{container.path} ({container.name!r}) env {name}: a published credential")
    return found


RULE = ResourceRule(
    name=NAME,
    description="No Secret, env var or ConfigMap keeps a credential an upstream source publishes "
                f"(upstream objects included), and nothing sets {ALLOW_EMPTY}.",
    check=check,
    judges_upstream=True,
)
