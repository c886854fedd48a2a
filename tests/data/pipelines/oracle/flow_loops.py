"""Run-time flow: ParallelFor over a literal list and over a step's output, inside a condition."""
from kfp import components, dsl


@components.func_to_container_op
def list_files() -> list:
    return ['a.csv', 'b.csv']


@components.func_to_container_op
def count(name: str, threshold: int) -> int:
    return len(name) + threshold


@components.func_to_container_op
def report(name: str):
    print(name)


@dsl.pipeline(name='flow-loops')
def pipeline(threshold: int = 3):
    files = list_files()
    with dsl.ParallelFor(files.output) as name:
        counted = count(name, threshold)
        with dsl.Condition(counted.output > 5):
            report(name)
    with dsl.ParallelFor(['x', 'y', 'z']) as letter:
        report(letter)
