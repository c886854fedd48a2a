"""Lightweight components with files: InputPath, OutputPath, InputTextFile,
OutputTextFile, NamedTuple outputs, the decorator form of create_component_from_func."""
from typing import NamedTuple

from kfp import components, dsl
from kfp.components import InputPath, InputTextFile, OutputPath, OutputTextFile, create_component_from_func


def split(text: str, n: int = 3) -> NamedTuple('Outputs', [('head', str), ('count', int)]):
    """Split a text.

    Args:
        text: The text.
    """
    return (text[:n], len(text))


@create_component_from_func
def write_csv(rows: int, table_path: OutputPath('CSV')):
    with open(table_path, 'w') as f:
        for i in range(rows):
            f.write(f'{i},{i * i}\n')


def count_lines(table_path: InputPath('CSV'), header: str, report_file: OutputTextFile(str)):
    with open(table_path) as f:
        report_file.write(header + str(len(f.readlines())))


def show(report: InputTextFile(str), extra: InputPath() = None):
    print(report.read())


split_op = components.func_to_container_op(split, base_image='python:3.11.9-slim')
count_op = components.create_component_from_func(count_lines, base_image='python:3.11.9-slim')
show_op = components.create_component_from_func(show, base_image='python:3.11.9-slim')


@dsl.pipeline(name='light-files')
def pipeline(rows: int = 10):
    parts = split_op('hello world')
    table = write_csv(rows)
    counted = count_op(table.outputs['table'], parts.outputs['head'])
    show_op(counted.outputs['report'])
    show_op('constant report text', extra='extra data')
