"""A ResourceOp whose object is named after the run ({{workflow.uid}}, KFP's
RUN_ID_PLACEHOLDER) in a pipeline whose flow is decided at run time."""
from kfp import dsl


@dsl.pipeline(name='flow-run-uid')
def pipeline():
    check = dsl.ContainerOp(name='check', image='busybox:1.36.1', command=['sh', '-c', 'echo yes > /ok.txt'],
                            file_outputs={'ok': '/ok.txt'})
    with dsl.Condition(check.output == 'yes'):
        config = dsl.ResourceOp(
            name='run-config',
            k8s_resource={'apiVersion': 'v1', 'kind': 'ConfigMap',
                          'metadata': {'name': f'run-{dsl.RUN_ID_PLACEHOLDER}'},
                          'data': {'run': '{{workflow.uid}}'}},
            action='create')
        dsl.ContainerOp(name='use', image='busybox:1.36.1', command=['echo'],
                        arguments=[config.outputs['name']])
