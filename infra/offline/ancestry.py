"""What each resource of a plan waits for before the engine creates it.

The engine's ordering, from source (docs/ordering.md gives the full account):

- A resource's registration is sent only after every explicit dependency has finished
  (pulumi/pulumi v3.243.0 ``sdk/python/lib/pulumi/runtime/resource.py``,
  ``prepare_resource``: "all our dependencies must be finished"), and a dependency's URN
  resolves only when its step, await included, is done (``pkg/resource/deploy/source_eval.go``,
  ``RegisterResource``: "block waiting for the operation to finish").
- A dependency on a component stands for all of its descendants: the Python SDK expands a
  local component into its children (``sdk/python/lib/pulumi/runtime/rpc.py``,
  ``_add_dependency``); a remote one (``helm.v4.Chart``, ``kustomize.v2.Directory``)
  resolves after its provider's ``Construct`` returned, which waits for every child it
  registered (``sdk/go/pulumi/provider.go``, ``construct``: ``pulumiCtx.wait()``).
- A child is registered only once its parent's URN resolved (``prepare_resource``: "Wait
  for our parent to resolve"), and the parent waited for its own dependencies first; so a
  chart's children wait for the chart's ``depends_on`` although their recorded
  ``dependencies`` hold only the chart's internal edges.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from mlplane.infra.offline.plan import Plan, PlanResource, descendants


class Ancestry:
    """The transitive "waits for" relation of one plan.

    ``waits_for(urn)`` is every resource that has finished (created and awaited) before the
    engine creates ``urn``: its dependencies, all descendants of a component it depends on,
    and, through its parent chain, what its ancestors in the resource tree depend on.
    """

    def __init__(self, plan: Plan):
        self._by_urn = plan.by_urn()
        self._children = plan.children()
        self._memo: dict[str, frozenset[str]] = {}

    def waits_for(self, urn: str) -> frozenset[str]:
        """URNs of the resources finished before ``urn`` is created (KeyError: not in the plan)."""
        if urn not in self._by_urn:
            raise KeyError(urn)
        if urn not in self._memo:
            # Deep chains (component -> chart -> child -> dependency -> ...) stay far below
            # this, but a plan of thousands of resources must not hit Python's default.
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(limit, 20 * len(self._by_urn)))
            try:
                self._compute(urn, ())
            finally:
                sys.setrecursionlimit(limit)
        return self._memo[urn]

    def _compute(self, urn: str, path: tuple[str, ...]) -> frozenset[str]:
        if urn in self._memo:
            return self._memo[urn]
        if urn in path:
            raise ValueError(f"dependency cycle through {urn}")
        resource = self._by_urn[urn]
        found: set[str] = set()
        if resource.parent in self._by_urn:
            found |= self._compute(resource.parent, (*path, urn))
        for dependency in resource.dependencies:
            for finished in self._finished_with(dependency):
                found.add(finished)
                found |= self._compute(finished, (*path, urn))
        self._memo[urn] = frozenset(found)
        return self._memo[urn]

    def _finished_with(self, urn: str) -> Iterable[str]:
        if urn not in self._by_urn:
            return ()
        resource = self._by_urn[urn]
        if resource.custom:
            return (urn,)
        return (urn, *(r.urn for r in descendants(urn, self._children)))

    def resource(self, urn: str) -> PlanResource:
        """The plan's resource with this URN."""
        return self._by_urn[urn]
