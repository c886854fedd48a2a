"""Stateful resources are protected: ``protect`` and ``retainOnDelete``.

Stateful means :data:`infra.offline.kinds.STATEFUL_TYPES`: volumes, StatefulSets,
buckets, databases, file systems (the artifact store's bucket or its volume included).
A stack that opts out in its stack file (``mlplane:storage.protect: false``, a volume's
``protect: false``) records the same decision for the pack in the policy's config:
``{"stateful-resources-protected": {"unprotected": ["<logical-name glob>", ...]}}``.

The Pulumi engine does not pass ``retainOnDelete`` to policy packs, so the pack checks
``protect``; the offline check (``policy.offline``) checks both.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from mlplane.infra.offline.kinds import is_stateful_type
from mlplane.policy.rules.base import ResourceContext, ResourceRule, is_list

NAME = "stateful-resources-protected"
CONFIG_SCHEMA: Mapping[str, Any] = {
    "unprotected": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Logical names (globs) of stateful resources the stack deliberately leaves unprotected.",
    },
}


def opted_out(context: ResourceContext) -> bool:
    """Whether the policy's config names this resource as deliberately unprotected."""
    patterns = context.config.get("unprotected") or []
    return is_list(patterns) and any(isinstance(p, str) and fnmatchcase(context.name, p) for p in patterns)


def check(type_: str, props: Mapping[str, Any], context: ResourceContext) -> list[str]:
    """Messages when a stateful resource lacks protect or retainOnDelete."""
    if not is_stateful_type(type_) or opted_out(context):
        return []
    missing = [option for option, value in (("protect", context.protect),
                                            ("retainOnDelete", context.retain_on_delete)) if value is False]
    if not missing:
        return []
    return [f"{type_} holds data and must set {' and '.join(missing)} (or be listed under "
            f"'unprotected' in this policy's config when the stack opts out)"]


RULE = ResourceRule(
    name=NAME,
    description="Volumes, buckets, databases and the artifact store are protected and retained on delete.",
    check=check,
    config_schema=CONFIG_SCHEMA,
)
