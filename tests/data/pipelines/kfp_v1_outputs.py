"""A KFP v1 pipeline exercising the DSL surface mlplane supports (test fixture)."""
import kfp
from kfp import dsl, onprem
from kubernetes import client as k8s_client


@dsl.pipeline(name='surface', description='Outputs, volumes, GPUs and friends.')
def surface(epochs=3, bucket='s3://models'):
    vop = dsl.VolumeOp(name='scratch', resource_name='scratch', size='5Gi',
                       modes=dsl.VOLUME_MODE_RWO, storage_class='standard')
    prep = dsl.ContainerOp(
        name='prep',
        image='python:3.11.9-slim',
        command=['python', '-c', 'open("/tmp/out.txt", "w").write("s3://data/v1")'],
        file_outputs={'dataset': '/tmp/out.txt'},
        pvolumes={'/scratch': vop.volume},
    )
    train = dsl.ContainerOp(
        name='train',
        image='python:3.11.9-slim',
        command=['python', 'train.py'],
        arguments=['--data', prep.output, '--epochs', epochs, '--out=' + bucket + '/m'],
        file_outputs={'model': '/tmp/model.txt', 'metrics': '/tmp/metrics.json'},
    )
    train.set_gpu_limit(2, vendor='amd')
    train.set_memory_limit('4Gi').set_cpu_limit('2')
    train.set_memory_request('2Gi')
    train.add_node_selector_constraint('accelerator', 'mi300')
    train.add_toleration(k8s_client.V1Toleration(key='amd.com/gpu', operator='Exists', effect='NoSchedule'))
    train.add_env_variable(k8s_client.V1EnvVar(name='EPOCHS', value=str(epochs)))
    train.set_retry(2)
    train.set_timeout(3600)
    report = dsl.ContainerOp(
        name='report',
        image='python:3.11.9-slim',
        command=['python', 'report.py'],
        arguments=[f'--model={train.outputs["model"]}', '--metrics', train.outputs['metrics']],
    )
    report.apply(onprem.mount_pvc('results', 'results', '/results'))
    report.after(prep)
