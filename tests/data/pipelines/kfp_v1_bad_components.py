"""Bad input to KFP v1 components (each function fails at one line)."""
from kfp import components, dsl

echo_op = components.load_component_from_text('''
name: Echo
inputs:
- {name: text}
outputs:
- {name: out}
implementation:
  container:
    image: busybox:1.36.1
    command: [sh, -c, 'echo "$0" > "$1"', {inputValue: text}, {outputPath: out}]
''')


@dsl.pipeline(name='unknown-input')
def unknown_input():
    echo_op(text='a', colour='red')


@dsl.pipeline(name='missing-input')
def missing_input():
    echo_op()


@dsl.pipeline(name='undeclared-output')
def undeclared_output():
    first = echo_op('a')
    echo_op(first.outputs['result'])


@dsl.pipeline(name='not-a-spec')
def not_a_spec():
    components.load_component_from_text('just: [a, list]')


@dsl.pipeline(name='no-source')
def no_source():
    namespace = {}
    exec('def made_up(x: int) -> int:\n    return x\n', namespace)
    components.create_component_from_func(namespace['made_up'])


@dsl.pipeline(name='run-id')
def run_id():
    echo_op('run ' + dsl.RUN_ID_PLACEHOLDER + ' in ' + dsl.EXECUTION_ID_PLACEHOLDER)


@dsl.pipeline(name='root')
def root():
    from kubernetes import client as k8s
    echo_op('x').container.set_security_context(k8s.V1SecurityContext(run_as_user=0))


@dsl.pipeline(name='own-label')
def own_label():
    echo_op('x').add_pod_label('mlplane.dev/step', 'other')
