"""KFP's caching controls as users set them: execution_options' max_cache_staleness
(P0D: never reuse a cached result) and set_caching_options."""
from kfp import dsl


@dsl.pipeline(name='caching-options')
def pipeline(rows: str = '10'):
    fetch = dsl.ContainerOp(name='fetch', image='busybox:1.36.1', command=['sh', '-c', 'date > /out.txt'],
                            file_outputs={'out': '/out.txt'})
    fetch.execution_options.caching_strategy.max_cache_staleness = 'P0D'
    train = dsl.ContainerOp(name='train', image='busybox:1.36.1', command=['sh', '-c', 'echo "$0 $1"'],
                            arguments=[fetch.output, rows])
    train.execution_options.caching_strategy.max_cache_staleness = 'P30D'
    report = dsl.ContainerOp(name='report', image='busybox:1.36.1', command=['echo', 'done']).after(train)
    report.set_caching_options(False)
