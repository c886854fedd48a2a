"""Run-time flow: a graph component that calls itself until a coin lands tails."""
from kfp import components, dsl


@components.func_to_container_op
def flip(seed: str) -> str:
    import random
    return random.choice(['heads', 'tails'])


@components.func_to_container_op
def say(text: str):
    print(text)


@dsl.graph_component
def flip_until_tails(previous: str):
    again = flip(previous)
    with dsl.Condition(again.output == 'heads'):
        flip_until_tails(again.output)


@dsl.pipeline(name='flow-recursion')
def pipeline():
    first = flip('start')
    flip_until_tails(first.output)
    say('done').after(first)
