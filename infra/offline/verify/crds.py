"""Custom resources whose CustomResourceDefinition is not an ancestor in the plan.

The provider retries a create that meets NoMatch for about 31 s (:mod:`.apply`), so a custom
resource that does not wait for its CRD may pass on one run and fail on the next; only an
ancestor makes it certain. A kind is custom when the fresh API server did not serve its group
(the built-in groups are read from discovery before anything is applied).
"""

from __future__ import annotations

from mlplane.infra.offline.plan import PlanResource
from mlplane.infra.offline.verify.order import Graph


def crd_problems(graph: Graph, objects: list[PlanResource], builtin_groups: set[str]) -> list[str]:
    """One line per custom resource whose CRD is missing from the plan or not among its ancestors."""
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
        name = resource.urn.rsplit("::", 1)[-1]
        if crd is None:
            found.append(f"{name}: {kind}.{group} has no CustomResourceDefinition in the plan (a prerequisite "
                         "nothing checks)")
        elif crd not in graph.ancestors(resource.urn):
            found.append(f"{name}: its CRD {crd.rsplit('::', 1)[-1]} is not an ancestor")
    return found
