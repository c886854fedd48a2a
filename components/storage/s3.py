"""S3 artifact store: a private bucket and an IAM role assumed through IRSA.

The role trusts the cluster's OIDC provider for exactly one subject, the Kubernetes
ServiceAccount ``mlplane-artifacts`` of the workload namespace, and may use the bucket.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from mlplane.components.storage.volume import stateful_options

if TYPE_CHECKING:
    from mlplane.components.storage.artifacts import ArtifactStore, ArtifactStoreArgs


def declare(store: "ArtifactStore", name: str, args: "ArtifactStoreArgs") -> dict[str, str]:
    """Declare the bucket and role; return the ServiceAccount's annotations."""
    spec, region = args.store, args.region
    bucket = aws.s3.Bucket(f"{name}-bucket", bucket=spec.bucket, region=region, force_destroy=False,
                           opts=stateful_options(store, args.protect))
    aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block", bucket=spec.bucket, region=region, block_public_acls=True,
        block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
        opts=pulumi.ResourceOptions(parent=store, depends_on=[bucket]),
    )
    issuer = spec.oidc_issuer
    subjects = [f"system:serviceaccount:{ns}:{store.facts.service_account}" for ns in args.namespaces]
    subject = subjects[0] if len(subjects) == 1 else subjects
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": spec.oidc_provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{issuer}:sub": subject, f"{issuer}:aud": "sts.amazonaws.com"}},
    }]}
    role = aws.iam.Role(f"{name}-role", name=spec.role_name, assume_role_policy=json.dumps(trust, sort_keys=True),
                        description="mlplane artifact store (IRSA)", opts=pulumi.ResourceOptions(parent=store))
    bucket_arn = f"arn:aws:s3:::{spec.bucket}"
    access = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"{bucket_arn}/*"},
    ]}
    aws.iam.RolePolicy(f"{name}-role-policy", name="artifact-store", role=spec.role_name,
                       policy=json.dumps(access, sort_keys=True),
                       opts=pulumi.ResourceOptions(parent=store, depends_on=[role]))
    account = spec.oidc_provider_arn.split(":")[4]
    partition = spec.oidc_provider_arn.split(":")[1]
    return {"eks.amazonaws.com/role-arn": f"arn:{partition}:iam::{account}:role/{spec.role_name}"}
