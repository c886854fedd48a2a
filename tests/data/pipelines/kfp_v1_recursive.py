"""A graph component called with a constant: its arguments must be step outputs."""
import kfp.dsl as dsl


@dsl.graph_component
def recurse(n):
    dsl.ContainerOp(name='step', image='busybox:1.36.1', command=['echo', n])


@dsl.pipeline(name='recursive')
def recursive():
    recurse(3)
