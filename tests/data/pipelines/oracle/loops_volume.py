"""A VolumeOp and a literal loop writing to its claim: unrolled, the claim declared once."""
from kfp import dsl


@dsl.pipeline(name='loops-volume')
def pipeline():
    vop = dsl.VolumeOp(name='Shared data', resource_name='Shared_Data', size='2Gi', modes=dsl.VOLUME_MODE_RWO,
                       storage_class='standard')
    with dsl.ParallelFor([1, 2, 3]) as part:
        dsl.ContainerOp(name='write', image='busybox:1.36.1', command=['sh', '-c', f'echo {part} > /data/{part}'],
                        pvolumes={'/data': vop.volume})
    reader = dsl.ContainerOp(name='read', image='busybox:1.36.1', command=['ls', '/data'],
                             pvolumes={'/data': vop.volume})
    reader.add_node_selector_constraint('disk', 'ssd')
