"""A ResourceOp, then a literal loop after it: unrolled, every copy after the object."""
from kfp import dsl


@dsl.pipeline(name='loops-resource')
def pipeline():
    job = dsl.ResourceOp(
        name='tfjob',
        k8s_resource={'apiVersion': 'kubeflow.org/v1', 'kind': 'TFJob', 'metadata': {'name': 'mnist-tfjob'},
                      'spec': {'tfReplicaSpecs': {'Worker': {'replicas': 2}}}},
        success_condition='status.phase == Succeeded',
        failure_condition='status.phase == Failed',
    )
    with dsl.ParallelFor(['a', 'b']) as item:
        dsl.ContainerOp(name='after', image='busybox:1.36.1', command=['echo', item]).after(job)
