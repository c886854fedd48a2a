"""ParallelFor over literal lists: unrolled into one step per item when the rest is static."""
from kfp import components, dsl


@components.func_to_container_op
def prepare(name: str) -> str:
    return name.upper()


@components.func_to_container_op
def train(data: str, rate: str, epochs: int) -> str:
    return f'{data}:{rate}:{epochs}'


@components.func_to_container_op
def report(text: str):
    print(text)


@dsl.pipeline(name='loops-static')
def pipeline(epochs: int = 3):
    start = dsl.ContainerOp(name='start', image='busybox:1.36.1', command=['true'])
    with dsl.ParallelFor([{'data': 'a', 'rate': '0.1'}, {'data': 'b', 'rate': '0.2'}]) as item:
        prepared = prepare(item.data).after(start)
        trained = train(prepared.output, item.rate, epochs)
        with dsl.ParallelFor(['x', 'y']) as tag:
            report(f'{tag}-{trained.output}')
    with dsl.ParallelFor([1, 2]) as number:
        report(number)
    dsl.ContainerOp(name='done', image='busybox:1.36.1', command=['echo', 'done']).after(trained)
