"""A v1 pipeline file that imports a KFP v2 component decorator (kfp.v2.dsl)."""
from kfp import dsl
from kfp.v2.dsl import component


@component(base_image='python:3.9')
def add(a: float, b: float) -> float:
    return a + b


@dsl.pipeline(name='v2-import')
def pipeline():
    add(1, 2)
