"""Run-time flow with a ResourceOp: an object created, then a loop after it (behind a condition on a
step's output, which keeps it on the workflow engine; loops_resource.py is it unrolled)."""
from kfp import dsl


@dsl.pipeline(name='flow-resource')
def pipeline():
    job = dsl.ResourceOp(
        name='tfjob',
        k8s_resource={'apiVersion': 'kubeflow.org/v1', 'kind': 'TFJob', 'metadata': {'name': 'mnist-tfjob'},
                      'spec': {'tfReplicaSpecs': {'Worker': {'replicas': 2}}}},
        success_condition='status.phase == Succeeded',
        failure_condition='status.phase == Failed',
    )
    check = dsl.ContainerOp(name='check', image='busybox:1.36.1', command=['sh', '-c', 'echo yes > /tmp/ok'],
                            file_outputs={'ok': '/tmp/ok'})
    with dsl.Condition(check.outputs['ok'] == 'yes'):
        with dsl.ParallelFor(['a', 'b']) as item:
            dsl.ContainerOp(name='after', image='busybox:1.36.1', command=['echo', item]).after(job)
