"""Run-time flow: an exit handler that runs however the steps inside end."""
from kfp import dsl


@dsl.pipeline(name='flow-exit')
def pipeline(message: str = 'done'):
    cleanup = dsl.ContainerOp(name='cleanup', image='busybox:1.36.1', command=['echo', message])
    with dsl.ExitHandler(cleanup):
        first = dsl.ContainerOp(name='first', image='busybox:1.36.1', command=['sh', '-c', 'echo 1 > /tmp/o'],
                                file_outputs={'out': '/tmp/o'})
        dsl.ContainerOp(name='second', image='busybox:1.36.1', command=['echo', first.output])
    dsl.get_pipeline_conf().set_parallelism(2)
