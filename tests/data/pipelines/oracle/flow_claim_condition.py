"""Run-time flow whose VolumeOp and ResourceOp are themselves inside a condition on a step's output:
Argo runs each as a resource template (its pod all Argo's executor), only when the condition holds."""
from kfp import dsl


@dsl.pipeline(name='flow-claim-condition')
def pipeline():
    check = dsl.ContainerOp(name='check', image='busybox:1.36.1', command=['sh', '-c', 'echo yes > /tmp/ok'],
                            file_outputs={'ok': '/tmp/ok'})
    with dsl.Condition(check.outputs['ok'] == 'yes'):
        vop = dsl.VolumeOp(name='scratch', resource_name='scratch', size='1Gi', modes=dsl.VOLUME_MODE_RWO)
        note = dsl.ResourceOp(
            name='note', action='create',
            k8s_resource={'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'flow-note'},
                          'data': {'ok': 'yes'}},
        )
        dsl.ContainerOp(name='use', image='busybox:1.36.1', command=['ls', '/data'],
                        pvolumes={'/data': vop.volume}).after(note)
