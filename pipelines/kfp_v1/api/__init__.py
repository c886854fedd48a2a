"""mlplane's ``kfp`` package, as a KFP v1 pipeline file sees it while it loads.

The DSL surface mlplane can declare (docs/pipelines.md) is here; everything else fails
with a clear error naming the construct, the file and the line.
"""

from __future__ import annotations

from mlplane.pipelines.kfp_v1.api import aws, azure, compiler, components, dsl, gcp, onprem
from mlplane.pipelines.kfp_v1.context import unsupported_attributes

__version__ = "1.8.22+mlplane"
__all__ = ["aws", "azure", "compiler", "components", "dsl", "gcp", "onprem"]


__getattr__ = unsupported_attributes("kfp", "supported: dsl, components, gcp, onprem, aws, azure, compiler for compilation guards")
