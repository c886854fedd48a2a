"""Secret helpers (onprem.use_k8s_secret, aws.use_aws_secret, azure.use_azure_secret,
gcp.use_gcp_secret) and pipeline-wide settings (dsl.get_pipeline_conf)."""
from kfp import aws, azure, dsl, gcp, onprem
from kubernetes import client as k8s


def label_everything(op):
    op.add_pod_label('example.com/pipeline', 'secrets')
    op.add_pod_annotation('example.com/reviewed', 'yes')
    return op


@dsl.pipeline(name='secrets-and-conf')
def pipeline():
    conf = dsl.get_pipeline_conf()
    conf.set_image_pull_secrets([k8s.V1LocalObjectReference(name='registry-creds')])
    conf.set_default_pod_node_selector('pool', 'cpu')
    conf.set_image_pull_policy('Always')
    conf.add_op_transformer(label_everything)
    s3 = dsl.ContainerOp(name='s3', image='amazon/aws-cli:2.15.0', command=['aws', 's3', 'ls'])
    s3.apply(aws.use_aws_secret('aws-creds', aws_region='eu-west-1'))
    blob = dsl.ContainerOp(name='blob', image='busybox:1.36.1', command=['true'])
    blob.apply(azure.use_azure_secret())
    db = dsl.ContainerOp(name='db', image='busybox:1.36.1', command=['true'])
    db.apply(onprem.use_k8s_secret('db-creds', {'password': 'DB_PASSWORD', 'user': 'DB_USER'}))
    db.add_node_selector_constraint('pool', 'db')
    db.container.set_image_pull_policy('IfNotPresent')
    gcs = dsl.ContainerOp(name='gcs', image='google/cloud-sdk:460.0.0', command=['gsutil', 'ls'])
    gcs.apply(gcp.use_gcp_secret('user-gcp-sa'))
