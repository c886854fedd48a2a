"""ResourceOp (its success and failure conditions), VolumeSnapshotOp, sidecars,
op.pvolume and add_pvolumes."""
from kfp import dsl
from kubernetes import client as k8s


@dsl.pipeline(name='resources-and-sidecars')
def pipeline():
    job = dsl.ResourceOp(
        name='tfjob',
        k8s_resource={'apiVersion': 'kubeflow.org/v1', 'kind': 'TFJob', 'metadata': {'name': 'mnist-tfjob'},
                      'spec': {'tfReplicaSpecs': {'Worker': {'replicas': 2}}}},
        success_condition='status.phase == Succeeded',
        failure_condition='status.phase == Failed',
        attribute_outputs={'phase': '{.status.phase}'},
    )
    vop = dsl.VolumeOp(name='data', resource_name='data', size='1Gi', modes=dsl.VOLUME_MODE_RWO)
    writer = dsl.ContainerOp(name='write', image='busybox:1.36.1', command=['sh', '-c', 'date > /data/stamp'],
                             pvolumes={'/data': vop.volume})
    writer.add_sidecar(dsl.Sidecar(name='echo-server', image='hashicorp/http-echo:1.0.0', args=['-text=hi'],
                                   mirror_volume_mounts=True))
    writer.after(job)
    snapshot = dsl.VolumeSnapshotOp(name='snap', resource_name='data-snap', volume=writer.pvolume)
    reader = dsl.ContainerOp(name='read', image='busybox:1.36.1', command=['cat', '/data/stamp'])
    reader.add_pvolumes({'/data': writer.pvolume})
    reader.after(snapshot)
