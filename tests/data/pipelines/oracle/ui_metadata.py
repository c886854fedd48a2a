"""A classic ContainerOp writing the KFP UI's metadata and metrics files (file_outputs,
as the KFP v1 samples write them) next to an ordinary output."""
from kfp import dsl


@dsl.pipeline(name='ui-metadata')
def pipeline():
    evaluate = dsl.ContainerOp(
        name='evaluate', image='busybox:1.36.1',
        command=['sh', '-c', 'echo 0.9 > /accuracy.txt; echo "{}" > /mlpipeline-ui-metadata.json; '
                             'echo "{}" > /mlpipeline-metrics.json'],
        file_outputs={'accuracy': '/accuracy.txt', 'mlpipeline-ui-metadata': '/mlpipeline-ui-metadata.json',
                      'mlpipeline-metrics': '/mlpipeline-metrics.json'})
    dsl.ContainerOp(name='publish', image='busybox:1.36.1', command=['echo'], arguments=[evaluate.outputs['accuracy']])
