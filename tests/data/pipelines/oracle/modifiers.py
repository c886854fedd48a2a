"""Op modifiers: pod annotations and labels, display names, pull policy, working
directory, caching options, and two ops of the same name."""
from kfp import components, dsl

echo_op = components.load_component_from_text('''
name: Echo
inputs:
- {name: text}
implementation:
  container:
    image: busybox:1.36.1
    command: [echo, {inputValue: text}]
''')


@dsl.pipeline(name='modifiers')
def pipeline():
    first = echo_op('one')
    first.add_pod_annotation('example.com/owner', 'ml-team')
    first.add_pod_label('example.com/cost-center', 'research')
    first.set_display_name('First echo')
    first.set_caching_options(False)
    second = echo_op('two').after(first)
    second.container.set_image_pull_policy('IfNotPresent')
    second.container.working_dir = '/work'
    plain = dsl.ContainerOp(name='Same name', image='busybox:1.36.1', command=['true'])
    again = dsl.ContainerOp(name='Same name', image='busybox:1.36.1', command=['false'])
    again.after(plain, second)
