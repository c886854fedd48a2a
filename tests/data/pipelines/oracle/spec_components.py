"""Component specs: load_component_from_file and load_component_from_text with
inputValue, inputPath, outputPath, if/concat/isPresent, defaults and fileOutputs."""
from kfp import components, dsl

train_op = components.load_component_from_file('add.component.yaml')

make_data_op = components.load_component_from_text('''
name: Make data
inputs:
- {name: rows, type: Integer}
outputs:
- {name: data, type: CSV}
implementation:
  container:
    image: busybox:1.36.1
    command: [sh, -c, 'seq "$0" > "$1"', {inputValue: rows}, {outputPath: data}]
''')

evaluate_op = components.load_component_from_text('''
name: Evaluate
inputs:
- {name: model}
- {name: metrics}
- {name: threshold, default: '0.9'}
implementation:
  container:
    image: busybox:1.36.1
    command: [sh, -c, 'cat "$0"; echo "$1 $2"', {inputPath: model}, {inputValue: metrics}, {inputValue: threshold}]
''')


@dsl.pipeline(name='spec-components')
def pipeline(rows: int = 100, tag: str = 'nightly'):
    data = make_data_op(rows)
    trained = train_op(training_data=data.outputs['data'], learning_rate=0.01, tag=tag)
    train_op(data.output, epochs=3, verbose=True)
    evaluate_op(trained.outputs['model'], trained.outputs['metrics'])
