"""Lightweight components passing values: create_component_from_func with base_image and
packages_to_install, func_to_container_op as a decorator, return values, defaults."""
from kfp import components, dsl


def add(a: float, b: float = 2.5) -> float:
    """Adds two numbers."""
    return a + b


@components.func_to_container_op
def greet(name: str, times: int = 2, loud: bool = False, tags: list = None) -> str:
    text = ('Hello ' + name + ' ') * times
    return text.upper() if loud else text


add_op = components.create_component_from_func(add, base_image='python:3.11.9-slim',
                                               packages_to_install=['numpy==1.26.4'])


@dsl.pipeline(name='light-values')
def pipeline(x: float = 1.5, who: str = 'world'):
    first = add_op(x)
    second = add_op(first.output, 4)
    greet(who, loud=True, tags=['a', 'b']).after(second)
