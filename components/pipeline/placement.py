"""Where a step's pods go: accelerator limits, node selector and tolerations, resolved.

Steps receive their scheduling already resolved (against the stack's accelerator pools,
by the pipeline layer), so components stay free of stack knowledge.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from components.base import ArgsModel


class StepPlacement(ArgsModel):
    """Resolved scheduling of a step's pods."""

    limits: dict[str, str] = Field(default_factory=dict, description="Extended resources, e.g. nvidia.com/gpu: 1.")
    node_selector: dict[str, str] = Field(default_factory=dict, description="Node labels the pods require.")
    tolerations: tuple[dict[str, Any], ...] = Field((), description="Taints the pods tolerate.")

    def merged(self, node_selector: dict[str, str], tolerations: tuple[dict[str, Any], ...]) -> "StepPlacement":
        """This placement plus a step's own node selector and tolerations (no duplicates)."""
        merged_tolerations = list(self.tolerations)
        for toleration in tolerations:
            if toleration not in merged_tolerations:
                merged_tolerations.append(toleration)
        return StepPlacement(limits=self.limits, node_selector={**node_selector, **self.node_selector},
                             tolerations=tuple(merged_tolerations))
