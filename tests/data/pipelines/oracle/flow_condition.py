"""Run-time flow: a branch decided by a step's output (dsl.Condition)."""
from kfp import components, dsl


@components.func_to_container_op
def flip() -> str:
    import random
    return random.choice(['heads', 'tails'])


@components.func_to_container_op
def say(text: str):
    print(text)


@dsl.pipeline(name='flow-condition')
def pipeline():
    coin = flip()
    with dsl.Condition(coin.output == 'heads'):
        say('it was heads')
