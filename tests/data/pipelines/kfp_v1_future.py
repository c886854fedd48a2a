"""Annotations must stay objects: mlplane's own __future__ flags must not reach this file."""
from kfp import components, dsl
from kfp.components import OutputPath


def produce(out_path: OutputPath(str)):
    open(out_path, 'w').write('x')


produce_op = components.create_component_from_func(produce, base_image='python:3.11.9-slim')


@dsl.pipeline(name='future')
def future():
    produce_op()
