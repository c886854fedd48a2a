import kfp
from kfp import components, dsl

train_op = components.load_component_from_url('https://example.com/component.yaml')


@dsl.pipeline(name='url')
def url_pipeline():
    train_op()
