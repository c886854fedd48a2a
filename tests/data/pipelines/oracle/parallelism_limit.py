"""A pipeline of independent steps limited to two pods at a time (set_parallelism)."""
from kfp import dsl


@dsl.pipeline(name='parallelism-limit')
def pipeline():
    for shard in ('a', 'b', 'c'):
        dsl.ContainerOp(name=f'shard-{shard}', image='busybox:1.36.1', command=['echo', shard])
    dsl.get_pipeline_conf().set_parallelism(2)
