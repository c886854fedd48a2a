"""What a native pipeline function learns about the stack it is declared in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PipelineContext:
    """Stack facts a native pipeline may use to wire its steps.

    Attributes:
        pipeline: The pipeline's name in the stack.
        stack: The stack's name.
        cluster_kind: ``local``, ``selfhosted``, ``gke``, ``eks`` or ``aks``.
        namespace: The namespace the pipeline's steps run in.
        artifacts: The artifact store's facts (URI root, credentials), or None.
        volumes: The stack's model and data volumes by name (claim, size, class).
        data_name: The name the pipeline's data was first created under (its oldest
            name, see ``formerly``); name claims after it, not after ``pipeline``, so
            that renaming the pipeline keeps them.
        pools: The stack's accelerator pools (``components.scheduling.PoolScheduling``),
            in the stack file's order.
    """

    pipeline: str
    stack: str
    cluster_kind: str
    namespace: str
    artifacts: Any = None
    volumes: dict[str, Any] = field(default_factory=dict)
    data_name: str = ""
    pools: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if not self.data_name:
            object.__setattr__(self, "data_name", self.pipeline)

    __hash__ = None  # type: ignore[assignment]
