"""GCS artifact store: a bucket, a Google service account, and GKE Workload Identity.

The Kubernetes ServiceAccount ``mlplane-artifacts`` of the workload namespace acts as the
Google service account (``roles/iam.workloadIdentityUser``), which may read and write the
bucket's objects. Each profile with ``artifact_access`` acts as a Google service account of
its own, whose only grant is on its managed folder (:mod:`components.storage.profile_access`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from mlplane.components.storage.profile_access import gcs_account_id, gcs_folder
from mlplane.components.storage.volume import stateful_options

if TYPE_CHECKING:
    from mlplane.components.storage.artifacts import ArtifactStore, ArtifactStoreArgs


def declare(store: "ArtifactStore", name: str, args: "ArtifactStoreArgs") -> dict[str, dict[str, str]]:
    """Declare the bucket and identities; return each namespace's ServiceAccount annotations."""
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
    def bind(suffix: str, namespace: str, email: str, after: list[pulumi.Resource]) -> None:
        gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity{suffix}", service_account_id=f"projects/{project}/serviceAccounts/{email}",
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{project}.svc.id.goog[{namespace}/{store.facts.service_account}]",
            opts=pulumi.ResourceOptions(parent=store, depends_on=after),
        )

    bind("", args.workload_namespace, email, [account])
    annotations = {args.workload_namespace: {"iam.gke.io/gcp-service-account": email}}
    for profile in args.other_namespaces:
        account_id = gcs_account_id(spec.service_account_id, profile)
        own = f"{account_id}@{project}.iam.gserviceaccount.com"
        profile_account = gcp.serviceaccount.Account(
            f"{name}-google-service-account-{profile}", account_id=account_id, project=project,
            display_name=f"mlplane artifacts of profile {profile}", opts=child)
        folder = gcp.storage.ManagedFolder(f"{name}-folder-{profile}", bucket=spec.bucket, name=gcs_folder(profile),
                                           opts=pulumi.ResourceOptions(parent=store, depends_on=[bucket]))
        gcp.storage.ManagedFolderIamMember(
            f"{name}-folder-access-{profile}", bucket=spec.bucket, managed_folder=gcs_folder(profile),
            role="roles/storage.objectUser", member=f"serviceAccount:{own}",
            opts=pulumi.ResourceOptions(parent=store, depends_on=[folder, profile_account]))
        bind(f"-{profile}", profile, own, [profile_account])
        annotations[profile] = {"iam.gke.io/gcp-service-account": own}
    return annotations
