"""The plan's dependency graph, as the Pulumi engine reads it.

A resource waits for every resource in its ``dependencies``; a dependency on a component
resource waits for all of the component's descendants (Pulumi's ``dependsOn`` on a
component: https://www.pulumi.com/docs/iac/concepts/options/dependson/ — "the resource will
wait for the component and all of its children"). Nothing else orders two resources: a
child does not inherit its parent's dependencies, and siblings run in parallel. plan.json's
``dependencies`` are read as they are; what they should be is another module's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from mlplane.infra.offline.plan import Plan, PlanResource, descendants


class Graph:
    """Direct and transitive dependencies between the plan's resources (by URN)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.by_urn = plan.by_urn()
        self._children = plan.children()
        self._ancestors: dict[str, set[str]] = {}

    @cached_property
    def direct(self) -> Mapping[str, frozenset[str]]:
        """Each resource's dependencies, components replaced by their custom descendants (and themselves)."""
        found: dict[str, frozenset[str]] = {}
        for resource in self.plan:
            deps: set[str] = set()
            for urn in resource.dependencies:
                deps.add(urn)
                target = self.by_urn.get(urn)
                if target is not None and not target.custom:
                    deps.update(r.urn for r in descendants(urn, self._children) if r.custom)
            deps.discard(resource.urn)
            found[resource.urn] = frozenset(d for d in deps if d in self.by_urn)
        return found

    def ancestors(self, urn: str) -> set[str]:
        """Everything ``urn`` waits for, transitively."""
        if urn in self._ancestors:
            return self._ancestors[urn]
        seen: set[str] = set()
        stack = list(self.direct.get(urn, ()))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.direct.get(current, ()))
        self._ancestors[urn] = seen
        return seen

    def objects(self) -> list[PlanResource]:
        """The Kubernetes objects and patches the walk applies (not charts, providers, cloud resources)."""
        return [r for r in self.plan if r.custom and r.type.startswith("kubernetes:") and "/" in r.type]
