"""Component files from a sibling folder of the project, as teams keep them: one by a
relative path, one by a path built from __file__."""
import os

from kfp import components, dsl

HERE = os.path.dirname(os.path.abspath(__file__))

greet_op = components.load_component_from_file('../components/greet.component.yaml')
count_op = components.load_component_from_file(os.path.join(HERE, '..', 'components', 'count', 'component.yaml'))


@dsl.pipeline(name='project-components')
def pipeline(who: str = 'world'):
    greeting = greet_op(who)
    count_op(greeting.output)
