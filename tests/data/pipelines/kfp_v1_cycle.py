import kfp.dsl as dsl


@dsl.pipeline(name='cycle')
def cycle():
    a = dsl.ContainerOp(name='a', image='busybox:1.36.1', command=['true'])
    b = dsl.ContainerOp(name='b', image='busybox:1.36.1', command=['true'])
    a.after(b)
    b.after(a)


@dsl.pipeline(name='twins')
def twins():
    dsl.ContainerOp(name='same', image='busybox:1.36.1', command=['true'])
    dsl.ContainerOp(name='same', image='busybox:1.36.1', command=['true'])


def not_a_pipeline():
    pass


@dsl.pipeline(name='undeclared')
def undeclared():
    a = dsl.ContainerOp(name='a', image='busybox:1.36.1', command=['true'], file_outputs={'x': '/tmp/x'})
    dsl.ContainerOp(name='b', image='busybox:1.36.1', command=['echo', a.outputs['y']])
