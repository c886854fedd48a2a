"""Run-time flow with an accelerator: a GPU step inside a dsl.Condition, with a sidecar.

KFP puts ``nvidia.com/gpu`` in the limits and nothing else; mlplane places the template on
one of the stack's pools (resource, node selector, tolerations) and refuses a stack
without one.
"""
from kfp import components, dsl


@components.func_to_container_op
def should_train() -> str:
    return 'yes'


@dsl.pipeline(name='flow-gpu')
def pipeline(epochs: int = 2):
    decision = should_train()
    with dsl.Condition(decision.output == 'yes'):
        train = dsl.ContainerOp(name='train', image='pytorch/pytorch:2.1.2-cuda12.1-cudnn8-runtime',
                                command=['python', '-c', 'import torch; print(torch.cuda.is_available())'],
                                arguments=['--epochs', epochs])
        train.set_gpu_limit(1)
        train.set_memory_limit('8Gi')
        train.add_sidecar(dsl.Sidecar(name='metrics', image='busybox:1.36.1', command=['sh', '-c', 'sleep 3600']))
