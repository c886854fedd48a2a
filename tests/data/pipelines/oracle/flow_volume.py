"""Run-time flow with a VolumeOp: a claim made per run, written in a loop (behind a condition on a
step's output, which keeps it on the workflow engine; loops_volume.py is it unrolled), read after it."""
from kfp import dsl


@dsl.pipeline(name='flow-volume')
def pipeline():
    vop = dsl.VolumeOp(name='Shared data', resource_name='Shared_Data', size='2Gi', modes=dsl.VOLUME_MODE_RWO,
                       storage_class='standard')
    check = dsl.ContainerOp(name='check', image='busybox:1.36.1', command=['sh', '-c', 'echo yes > /tmp/ok'],
                            file_outputs={'ok': '/tmp/ok'})
    with dsl.Condition(check.outputs['ok'] == 'yes'):
        with dsl.ParallelFor([1, 2, 3]) as part:
            dsl.ContainerOp(name='write', image='busybox:1.36.1',
                            command=['sh', '-c', f'echo {part} > /data/{part}'], pvolumes={'/data': vop.volume})
    reader = dsl.ContainerOp(name='read', image='busybox:1.36.1', command=['ls', '/data'],
                             pvolumes={'/data': vop.volume})
    reader.add_node_selector_constraint('disk', 'ssd')
