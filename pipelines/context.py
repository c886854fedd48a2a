"""What a native pipeline function learns about the stack it is declared in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PipelineContext:
    """Stack facts a native pipeline may use to wire its steps.

    Attributes:
        pipeline: The pipeline's name in the stack.
        stack: The stack's name.
        cluster_kind: ``local``, ``selfhosted``, ``gke``, ``eks`` or ``aks``.
        namespace: The namespace the pipeline's steps run in.
    """

    pipeline: str
    stack: str
    cluster_kind: str
    namespace: str
