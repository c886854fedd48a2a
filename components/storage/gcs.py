"""GCS artifact store: a bucket, a Google service account, and GKE Workload Identity.

The Kubernetes ServiceAccount ``mlplane-artifacts`` acts as the Google service account
(``roles/iam.workloadIdentityUser``), which may read and write the bucket's objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from mlplane.components.storage.volume import stateful_options

if TYPE_CHECKING:
    from mlplane.components.storage.artifacts import ArtifactStore, ArtifactStoreArgs


def declare(store: "ArtifactStore", name: str, args: "ArtifactStoreArgs") -> dict[str, str]:
    """Declare the bucket and identity; return the ServiceAccount's annotations."""
    spec, project = args.store, args.project
    child = pulumi.ResourceOptions(parent=store)
    account = gcp.serviceaccount.Account(
        f"{name}-google-service-account", account_id=spec.service_account_id, project=project,
        display_name="mlplane artifact store", opts=child,
    )
    # Google's deterministic address for the account: readable in the plan, same as account.email.
    email = f"{spec.service_account_id}@{project}.iam.gserviceaccount.com"
    bucket = gcp.storage.Bucket(
        f"{name}-bucket", name=spec.bucket, project=project, location=spec.location,
        uniform_bucket_level_access=True, public_access_prevention="enforced", force_destroy=False,
        versioning=gcp.storage.BucketVersioningArgs(enabled=True),
        opts=stateful_options(store, args.protect),
    )
    gcp.storage.BucketIAMMember(
        f"{name}-bucket-access", bucket=spec.bucket, role="roles/storage.objectUser",
        member=f"serviceAccount:{email}", opts=pulumi.ResourceOptions(parent=store, depends_on=[bucket, account]),
    )
    for namespace in args.namespaces:
        # The workload namespace keeps its original resource name; further ones get theirs.
        suffix = "" if namespace == args.workload_namespace else f"-{namespace}"
        gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity{suffix}", service_account_id=f"projects/{project}/serviceAccounts/{email}",
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{project}.svc.id.goog[{namespace}/{store.facts.service_account}]",
            opts=pulumi.ResourceOptions(parent=store, depends_on=[account]),
        )
    return {"iam.gke.io/gcp-service-account": email}
