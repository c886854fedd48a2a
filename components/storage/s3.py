"""S3 artifact store: a private bucket and IAM roles assumed through IRSA.

The platform's role trusts the cluster's OIDC provider for exactly one subject, the
Kubernetes ServiceAccount ``mlplane-artifacts`` of the workload namespace, and may use the
bucket. Each profile with ``artifact_access`` gets a role of its own, trusted by its own
ServiceAccount alone and limited to its prefix (:mod:`components.storage.profile_access`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from mlplane.components.storage.profile_access import s3_profile_policy, s3_role_name
from mlplane.components.storage.volume import stateful_options

if TYPE_CHECKING:
    from mlplane.components.storage.artifacts import ArtifactStore, ArtifactStoreArgs


def _trust(spec: Any, namespace: str, service_account: str) -> dict[str, Any]:
    issuer = spec.oidc_issuer
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": spec.oidc_provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                       f"{issuer}:aud": "sts.amazonaws.com"}},
    }]}


def _role_arn(spec: Any, role: str) -> str:
    account = spec.oidc_provider_arn.split(":")[4]
    partition = spec.oidc_provider_arn.split(":")[1]
    return f"arn:{partition}:iam::{account}:role/{role}"


def declare(store: "ArtifactStore", name: str, args: "ArtifactStoreArgs") -> dict[str, dict[str, str]]:
    """Declare the bucket and roles; return each namespace's ServiceAccount annotations."""
    spec, region = args.store, args.region
    bucket = aws.s3.Bucket(f"{name}-bucket", bucket=spec.bucket, region=region, force_destroy=False,
                           opts=stateful_options(store, args.protect))
    aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block", bucket=spec.bucket, region=region, block_public_acls=True,
        block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
        opts=pulumi.ResourceOptions(parent=store, depends_on=[bucket]),
    )
    service_account = store.facts.service_account
    trust = _trust(spec, args.workload_namespace, service_account)
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
    annotations = {args.workload_namespace: {"eks.amazonaws.com/role-arn": _role_arn(spec, spec.role_name)}}
    for profile in args.other_namespaces:
        role_name = s3_role_name(spec.role_name, profile)
        profile_role = aws.iam.Role(
            f"{name}-role-{profile}", name=role_name,
            assume_role_policy=json.dumps(_trust(spec, profile, service_account), sort_keys=True),
            description=f"mlplane artifacts of profile {profile} (IRSA)", opts=pulumi.ResourceOptions(parent=store))
        aws.iam.RolePolicy(f"{name}-role-policy-{profile}", name="artifact-prefix", role=role_name,
                           policy=json.dumps(s3_profile_policy(spec.bucket, profile), sort_keys=True),
                           opts=pulumi.ResourceOptions(parent=store, depends_on=[profile_role]))
        annotations[profile] = {"eks.amazonaws.com/role-arn": _role_arn(spec, role_name)}
    return annotations
