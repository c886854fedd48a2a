"""A step on GKE's preemptible pool, which no stack pool is."""
from kfp import dsl, gcp


@dsl.pipeline(name='gcp-preemptible')
def pipeline():
    step = dsl.ContainerOp(name='cheap', image='busybox:1.36.1', command=['true'])
    step.apply(gcp.use_preemptible_nodepool())
