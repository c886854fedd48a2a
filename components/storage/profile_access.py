"""Per-profile artifact identities: what each profile's identity is called and may touch (pure).

``artifact_access`` in a profile never hands out the store's own identity (the platform's,
in the workload namespace): each profile gets an identity of its own, scoped by what the
provider enforces for get, put, delete and list alike:

- **S3** (IRSA): an IAM role per profile, trusted by that profile's ServiceAccount alone,
  allowed ``s3:GetObject``/``PutObject``/``DeleteObject`` on ``arn:aws:s3:::<bucket>/<profile>/*``
  and ``s3:ListBucket`` only with the condition ``s3:prefix`` like ``<profile>/*`` (AWS IAM
  User Guide, "Amazon S3: Allows IAM users access to their S3 home directory": the
  ``s3:prefix`` condition on ``ListBucket`` and the object ARN per home folder).
- **GCS** (Workload Identity): a Google service account per profile with
  ``roles/storage.objectUser`` on the managed folder ``<profile>/`` only (Cloud Storage docs,
  "Managed folders": IAM on a managed folder applies to the objects whose names start with
  it, list requests included when they name that prefix; needs uniform bucket-level access,
  which the bucket has).
- **Azure Blob** (workload identity): a container per profile
  (``<container>-<profile>``) and a managed identity per profile with "Storage Blob Data
  Contributor" scoped to that container (Azure RBAC docs, "Assign an Azure role for access to
  blob data": the scope can be a single container).
- **In-cluster SeaweedFS**: a bucket per profile and an identity whose actions are limited to
  it (``Read:<bucket>``, ``Write:<bucket>``, ``List:<bucket>``, ``Tagging:<bucket>``):
  SeaweedFS checks ``action:bucket`` (``weed/s3api/auth_credentials.go``, ``canDo``), and a list
  request is checked against the bucket alone, so a prefix could not scope ``List``.

26.03's KFP does the same for its own store (``sync.py``: an IAM user per namespace with a
policy on ``private-artifacts/<namespace>/*``), but also grants every namespace ``artifacts/*``
and ``shared/*`` (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlplane.core.naming import fit

#: Actions SeaweedFS checks per bucket (``weed/s3api/s3_constants``: ACTION_READ, ...).
SEAWEEDFS_ACTIONS = ("Read", "Write", "List", "Tagging")


def s3_role_name(base: str, profile: str) -> str:
    """The profile's IAM role name (64 characters at most; a hash keeps long ones apart)."""
    return fit(f"{base}-{profile}", 64)


def s3_profile_policy(bucket: str, profile: str) -> dict[str, Any]:
    """The profile role's policy: its prefix, for get, put, delete and list."""
    arn = f"arn:aws:s3:::{bucket}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListOwnPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{profile}/*", f"{profile}/"]}}},
        {"Sid": "ObjectsUnderOwnPrefix", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": f"{arn}/{profile}/*"},
    ]}


def gcs_account_id(base: str, profile: str) -> str:
    """The profile's Google service account id (6 to 30 characters, a letter first)."""
    return fit(f"{base}-{profile}", 30).rstrip("-")


def gcs_folder(profile: str) -> str:
    """The profile's managed folder (GCS names managed folders with a trailing slash)."""
    return f"{profile}/"


def azure_container(base: str, profile: str) -> str:
    """The profile's blob container (3 to 63 characters)."""
    return fit(f"{base}-{profile}", 63)


def azure_identity(base: str, profile: str) -> str:
    """The profile's user-assigned managed identity."""
    return fit(f"{base}-{profile}", 128)


def seaweedfs_bucket(base: str, profile: str) -> str:
    """The profile's bucket in the in-cluster store."""
    return fit(f"{base}-{profile}", 63)


def seaweedfs_actions(bucket: str) -> list[str]:
    """The profile identity's actions: every kind, limited to its own bucket."""
    return [f"{action}:{bucket}" for action in SEAWEEDFS_ACTIONS]


def profile_root(kind: str, store: Any, profile: str) -> str:
    """Where a profile's work keeps its artifacts, as a URI."""
    if kind == "s3":
        return f"s3://{store.bucket}/{profile}/"
    if kind == "gcs":
        return f"gs://{store.bucket}/{gcs_folder(profile)}"
    if kind == "azure-blob":
        return f"az://{azure_container(store.container, profile)}/"
    return f"s3://{seaweedfs_bucket(store.bucket, profile)}/"


def identity_of(kind: str, store: Any, namespace: str) -> str:
    """The name of the identity a profile namespace gets (what must differ between profiles)."""
    if kind == "s3":
        return s3_role_name(store.role_name, namespace)
    if kind == "gcs":
        return gcs_account_id(store.service_account_id, namespace)
    if kind == "azure-blob":
        return azure_identity(store.identity_name, namespace)
    return f"profile-{namespace}"


def shared_identities(kind: str, store: Any, workload: str, profiles: Iterable[str]
                      ) -> list[tuple[str, str, str]]:
    """``(profile, other, identity)`` wherever two namespaces would get one identity.

    A profile named like the workload namespace would get the platform's own identity;
    two long profile names could shorten to the same identity name.
    """
    seen: dict[str, str] = {identity_of(kind, store, workload): workload}
    found = []
    for profile in profiles:
        if profile == workload:
            found.append((profile, workload, "the platform's own identity"))
            continue
        name = identity_of(kind, store, profile)
        if name in seen:
            found.append((profile, seen[name], name))
        seen[name] = profile
    return found
