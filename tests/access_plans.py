"""Every shipped stack's expanded plan as Kubernetes objects, once per session (the access matrix's input).

The onprem stack is also evaluated on the other release train (1.8.1), through a copied
stack file (tests/expansion.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mlplane.infra.offline.expand.engine import ExpandOptions
from mlplane.infra.offline.render import render_expanded
from mlplane.infra.prerequisites import GKE_METADATA_SERVER, prerequisites
from mlplane.policy.access.matrix import Matrix, evaluate

from .conftest import STACKS, load_stack
from .expansion import expanded, expansion_cache, sources_folder

#: The stacks the matrix covers: every shipped stack, and onprem on release 1.8.1.
MATRIX_STACKS = (*sorted(STACKS), "onprem@1.8.1")


@lru_cache(maxsize=None)
def objects(stack: str) -> tuple[dict[str, Any], ...]:
    """The Kubernetes objects of ``stack``'s expanded plan."""
    if stack == "onprem@1.8.1":
        plan = expanded("1.8.1").plan
    else:
        plan = render_expanded(load_stack(stack), ExpandOptions(
            roots=(sources_folder(),), cache=expansion_cache(), explicit=(sources_folder(),))).plan
    return tuple(r.inputs for r in plan if r.is_kubernetes_object)


@lru_cache(maxsize=None)
def matrix(stack: str) -> Matrix:
    """The access matrix of ``stack``."""
    config = load_stack(stack.split("@", 1)[0])
    gke = any(p.name == GKE_METADATA_SERVER for p in prerequisites(config))
    return evaluate(stack, [dict(o) for o in objects(stack)], "gke" if gke else None)
