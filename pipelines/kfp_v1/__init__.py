"""Running unmodified Kubeflow Pipelines v1 files as mlplane pipelines.

While a ``kind: kfp-v1`` pipeline file loads (and its pipeline function runs),
``import kfp`` and its submodules resolve to :mod:`pipelines.kfp_v1.api`, mlplane's
implementation of the KFP v1 DSL surface; nowhere else does. The ops the function
declares become a :class:`components.pipeline.spec.PipelineSpec`.

A pipeline whose flow is decided at run time (``dsl.Condition`` on a step's output,
``ParallelFor``, ``ExitHandler``, ``graph_component``) becomes one Argo Workflow
(:mod:`pipelines.kfp_v1.workflow`). Constructs mlplane cannot express are refused with
an error naming the construct, the file and the line (docs/pipelines.md lists them).
"""

from mlplane.pipelines.kfp_v1.loader import load_kfp_v1_pipeline

__all__ = ["load_kfp_v1_pipeline"]
