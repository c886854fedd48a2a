"""mlplane's ``kfp`` package, as a KFP v1 pipeline file sees it while it loads.

Only the DSL surface that can be static infrastructure is here; everything else fails
with a clear error naming the construct, the file and the line.
"""

from __future__ import annotations

from typing import Any

from pipelines.kfp_v1.api import compiler, components, dsl, gcp, onprem
from pipelines.kfp_v1.context import current

__version__ = "1.8.22+mlplane"
__all__ = ["compiler", "components", "dsl", "gcp", "onprem"]


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise current().refuse(f"kfp.{name}", "is not part of mlplane's KFP v1 layer (supported: dsl, gcp, onprem, "
                                           "compiler for compilation guards)")
