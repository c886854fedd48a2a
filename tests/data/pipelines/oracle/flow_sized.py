"""Run-time flow with sizes: inside a ParallelFor over a step's output, a step with only a
memory limit (its request becomes the limit, as Kubernetes defaults it) and a step with a
CPU request above mlplane's default limit."""
from kfp import components, dsl


@components.func_to_container_op
def shards() -> list:
    return ['0', '1', '2']


@dsl.pipeline(name='flow-sized')
def pipeline():
    listed = shards()
    with dsl.ParallelFor(listed.output) as shard:
        work = dsl.ContainerOp(name='work', image='busybox:1.36.1', command=['sh', '-c', 'echo "$0"', shard])
        work.set_memory_limit('2Gi')
        heavy = dsl.ContainerOp(name='heavy', image='busybox:1.36.1', command=['sh', '-c', 'echo "$0"', shard])
        heavy.set_cpu_request('2')
