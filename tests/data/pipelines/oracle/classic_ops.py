"""ContainerOp and VolumeOp with the modifiers mlplane supported before components."""
from kfp import dsl, onprem
from kubernetes import client as k8s


@dsl.pipeline(name='classic-ops')
def pipeline(epochs: int = 3):
    vop = dsl.VolumeOp(name='scratch', resource_name='scratch', size='5Gi', modes=dsl.VOLUME_MODE_RWO,
                       storage_class='standard')
    prep = dsl.ContainerOp(name='prep', image='python:3.11.9-slim', command=['python3', '-c', 'print(1)'],
                           file_outputs={'dataset': '/tmp/out.txt'}, pvolumes={'/scratch': vop.volume})
    train = dsl.ContainerOp(name='train', image='python:3.11.9-slim', command=['python3', 'train.py'],
                            arguments=['--data', prep.output, '--epochs', epochs],
                            file_outputs={'model': '/tmp/model.txt'})
    train.set_gpu_limit(2)
    train.set_memory_limit('4Gi').set_cpu_limit('2').set_memory_request('2Gi').set_cpu_request('1')
    train.add_node_selector_constraint('accelerator', 'l4')
    train.add_toleration(k8s.V1Toleration(key='nvidia.com/gpu', operator='Exists', effect='NoSchedule'))
    train.add_env_variable(k8s.V1EnvVar(name='EPOCHS', value=str(epochs)))
    train.set_retry(2)
    train.set_timeout(3600)
    report = dsl.ContainerOp(name='report', image='python:3.11.9-slim', command=['python3', 'report.py'],
                             arguments=[f'--model={train.outputs["model"]}'])
    report.apply(onprem.mount_pvc('results', 'results', '/results'))
    report.after(prep)
