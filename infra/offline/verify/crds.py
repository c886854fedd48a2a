"""Custom resources whose CustomResourceDefinition is not an ancestor in the plan.

The provider retries a create that meets NoMatch for about 31 s (:mod:`.apply`), so a custom
resource that does not wait for its CRD may pass on one run and fail on the next; only an
ancestor makes it certain; "ancestor" is what the engine waits for
(:class:`mlplane.infra.offline.ancestry.Ancestry`, docs/ordering.md). A kind is custom when the fresh API server did not serve its group
(the built-in groups are read from discovery before anything is applied).
"""

from __future__ import annotations

from mlplane.infra.offline.plan import PlanResource
from mlplane.infra.offline.ancestry import Ancestry


def crd_problems(ancestry: Ancestry, objects: list[PlanResource], builtin_groups: set[str],
                 prerequisite_kinds: set[tuple[str, str]] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """One line per custom resource whose CRD is missing from the plan or not among its ancestors.

    Args:
        prerequisite_kinds: ``(group, kind)`` whose CRD is a checked prerequisite the cluster
            has before ``pulumi up`` (stood in by :mod:`.prerequisites`): never missing.
    """
    crds: dict[tuple[str, str], str] = {}
    for resource in objects:
        if resource.inputs.get("kind") == "CustomResourceDefinition":
            spec = resource.inputs.get("spec") or {}
            crds[(spec.get("group", ""), (spec.get("names") or {}).get("kind", ""))] = resource.urn
    found = []
    for resource in objects:
        api_version, kind = resource.inputs.get("apiVersion", ""), resource.inputs.get("kind", "")
        group = api_version.rpartition("/")[0]
        if not group or group in builtin_groups:
            continue
        crd = crds.get((group, kind))
        if crd is None and (group, kind) in prerequisite_kinds:
            continue
        name = resource.urn.rsplit("::", 1)[-1]
        if crd is None:
            found.append(f"{name}: {kind}.{group} has no CustomResourceDefinition in the plan (a prerequisite "
                         "nothing checks)")
        elif crd not in ancestry.waits_for(resource.urn):
            found.append(f"{name}: its CRD {crd.rsplit('::', 1)[-1]} is not an ancestor")
    return found
