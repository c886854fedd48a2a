"""A CPU step on preemptible capacity: refused, the stack's spot pools are accelerator pools."""
from kfp import dsl, gcp


@dsl.pipeline(name='gcp-preemptible')
def pipeline():
    step = dsl.ContainerOp(name='cheap', image='busybox:1.36.1', command=['true'])
    step.apply(gcp.use_preemptible_nodepool())
