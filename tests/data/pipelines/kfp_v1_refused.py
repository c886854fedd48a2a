"""A condition on a pipeline parameter: decided when the plan is made."""
import kfp.dsl as dsl


@dsl.pipeline(name='refused')
def refused(flag='yes'):
    first = dsl.ContainerOp(name='first', image='busybox:1.36.1', command=['true'])
    with dsl.Condition(flag == 'yes'):
        dsl.ContainerOp(name='second', image='busybox:1.36.1', command=['true'])

