"""Preemptible capacity for GPU steps: a spot pool of the stack (soft and hard constraint)."""
from kfp import dsl, gcp


@dsl.pipeline(name='gcp-spot')
def pipeline():
    first = dsl.ContainerOp(name='train', image='busybox:1.36.1', command=['true'])
    first.apply(gcp.use_preemptible_nodepool())
    first.set_gpu_limit(1)
    second = dsl.ContainerOp(name='tune', image='busybox:1.36.1', command=['true']).set_gpu_limit(1)
    second.apply(gcp.use_preemptible_nodepool(hard_constraint=True))
    dsl.ContainerOp(name='report', image='busybox:1.36.1', command=['true']).after(first, second)
