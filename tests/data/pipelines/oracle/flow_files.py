"""Run-time flow with files: an output passed as a file into a loop inside a condition on it
(the condition keeps it on the workflow engine; loops_files.py is the same loop unrolled)."""
from kfp import components, dsl
from kfp.components import InputPath, OutputPath


@components.func_to_container_op
def make(out_path: OutputPath(str)):
    open(out_path, 'w').write('x')


@components.func_to_container_op
def use(data_path: InputPath(str), n: int):
    print(open(data_path).read(), n)


@dsl.pipeline(name='flow-files')
def pipeline():
    made = make()
    with dsl.Condition(made.output == 'x'):
        with dsl.ParallelFor([1, 2]) as n:
            use(made.output, n)
