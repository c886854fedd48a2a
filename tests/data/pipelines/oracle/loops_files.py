"""An output passed as a file into a literal loop: unrolled, each copy gets the file."""
from kfp import components, dsl
from kfp.components import InputPath, OutputPath


@components.func_to_container_op
def make(out_path: OutputPath(str)):
    open(out_path, 'w').write('x')


@components.func_to_container_op
def use(data_path: InputPath(str), n: int):
    print(open(data_path).read(), n)


@dsl.pipeline(name='loops-files')
def pipeline():
    made = make()
    with dsl.ParallelFor([1, 2]) as n:
        use(made.output, n)
