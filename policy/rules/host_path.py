"""No hostPath volumes (and no hostPath PersistentVolumes), except documented ones.

A documented exception (``policy.exceptions``) names the object and the exact host
paths it may mount; any other path on that object is still a violation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlplane.policy.exceptions import waived
from mlplane.policy.rules.base import ResourceContext, ResourceRule, get, is_list, kind_of
from mlplane.policy.rules.pods import pod_templates

NAME = "no-host-path"


def check(type_: str, props: Mapping[str, Any], context: ResourceContext) -> list[str]:
    """Messages for each hostPath volume an object declares beyond its documented paths."""
    allowed = waived(NAME, type_, props)
    found: list[str] = []
    if kind_of(type_) == "PersistentVolume" and get(props, "spec", "hostPath") is not None:
        found.append(f"spec.hostPath: hostPath PersistentVolume ({get(props, 'spec', 'hostPath', 'path')!r})")
    for template in pod_templates(type_, props):
        volumes = template.spec.get("volumes")
        for volume in volumes if is_list(volumes) else []:
            path = get(volume, "hostPath", "path")
            if get(volume, "hostPath") is not None and path not in allowed:
                found.append(f"{template.path}: volume {get(volume, 'name')!r} mounts host path {path!r}")
    return found


RULE = ResourceRule(
    name=NAME,
    description="No hostPath volumes, except the documented device plugins' host paths.",
    check=check,
)
