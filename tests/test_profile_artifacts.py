"""Artifacts isolated per profile: each backend's per-profile identity, and its policy evaluated.

Two profiles (team-a, team-b) each run a notebook with ``artifact_access``. For every
backend the plan must give each profile an identity of its own, and evaluating what that
identity is granted (not only that a grant exists) must let team-b's identity get, put,
delete and list its own artifacts and none of team-a's:

- S3: the role's inline policy evaluated with IAM's rules for the parts it uses (an
  explicit Allow whose Action, Resource and Condition match; else implicit deny:
  AWS IAM User Guide, "Policy evaluation logic"; ``StringLike`` with ``*`` wildcards), and
  its trust policy evaluated for the ServiceAccount subjects.
- In-cluster SeaweedFS: the identity's actions evaluated as SeaweedFS's ``canDo`` does
  (``weed/s3api/auth_credentials.go``: ``Admin`` allows all; ``<Action>:<bucket>`` allows the
  action on that bucket; ``<Action>:<bucket>/<prefix>*`` allows keys under it).
- GCS: every IAM binding that names team-b's Google service account, evaluated on object
  names (a managed folder's binding covers the objects whose names start with it; a bucket
  binding covers all).
- Azure: every role assignment of team-b's identity, evaluated on blob paths (an assignment
  applies at its scope and below: Azure RBAC, "Understand scope").
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from mlplane.components.storage.profile_access import shared_identities

from .test_pipelines_stack import render, render_error, stack_from

PROFILES = ("team-a", "team-b")


def two_profiles(config: dict[str, Any]) -> None:
    kubeflow = config["mlplane:kubeflow"]
    owner = kubeflow["profiles"][0]["owner"]
    kubeflow["profiles"] = [{"name": p, "owner": owner} for p in PROFILES]
    config["mlplane:workbenches"] = {"notebooks": [
        {"name": f"nb-{p}", "profile": p, "kind": "jupyter", "artifact_access": True} for p in PROFILES]}
    config.pop("mlplane:serving", None)
    for pipeline in config.get("mlplane:pipelines", []):  # the pipeline's hosts name callers among the profiles
        if "host_profiles" in pipeline.get("params", {}):
            pipeline["params"]["host_profiles"] = PROFILES[0]


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    rendered = {}
    for stack in ("onprem", "eks", "gke", "aks"):
        folder = tmp_path_factory.mktemp(stack)
        capsys = _NoCapture()
        rendered[stack] = render(folder, stack_from(folder, stack, two_profiles), capsys)  # type: ignore[arg-type]
    return rendered


class _NoCapture:
    def readouterr(self) -> Any:
        return type("Captured", (), {"err": "", "out": ""})()


def _of(plan: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


def _service_accounts(plan: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {r["inputs"]["metadata"]["namespace"]: r["inputs"]["metadata"].get("annotations") or {}
            for r in _of(plan, "kubernetes:core/v1:ServiceAccount")
            if r["inputs"]["metadata"]["name"] == "mlplane-artifacts"}


# --- S3 -------------------------------------------------------------------------------------------

def iam_allows(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether an identity policy (Allow statements only) allows one request."""
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Effect"] != "Allow" or not any(fnmatch.fnmatchcase(action, a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in resources):
            continue
        conditions = statement.get("Condition", {})
        if all(any(fnmatch.fnmatchcase(context.get(key, "\0absent"), v) for v in (values if isinstance(values, list)
                                                                                  else [values]))
               for operator, pairs in conditions.items() for key, values in pairs.items()
               if operator == "StringLike"):
            return True
    return False


def test_s3_each_profile_assumes_its_own_role_limited_to_its_prefix(plans: dict[str, dict[str, Any]]) -> None:
    plan = plans["eks"]
    accounts = _service_accounts(plan)
    roles = {r["inputs"]["name"]: r["inputs"] for r in _of(plan, "aws:iam/role:Role")}
    policies = {r["inputs"]["role"]: json.loads(r["inputs"]["policy"]) for r in _of(plan, "aws:iam/rolePolicy:RolePolicy")}
    arns = {ns: a["eks.amazonaws.com/role-arn"] for ns, a in accounts.items()}
    assert len(set(arns.values())) == len(arns) == 3  # the platform's and one per profile
    bucket = "acme-ml-artifacts" if "acme-ml-artifacts" in json.dumps(policies) else next(
        iter(policies.values()))["Statement"][0]["Resource"].split(":::")[1].split("/")[0]
    for profile in PROFILES:
        role = arns[profile].rsplit("/", 1)[1]
        trust = json.loads(roles[role]["assumeRolePolicy"])["Statement"]
        subjects = [v for s in trust for k, v in s["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert subjects == [f"system:serviceaccount:{profile}:mlplane-artifacts"]
        other = next(p for p in PROFILES if p != profile)
        policy = policies[role]
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            assert iam_allows(policy, action, f"arn:aws:s3:::{bucket}/{profile}/run/model.pt", {})
            assert not iam_allows(policy, action, f"arn:aws:s3:::{bucket}/{other}/run/model.pt", {})
            assert not iam_allows(policy, action, f"arn:aws:s3:::{bucket}/shared/model.pt", {})
        assert iam_allows(policy, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": f"{profile}/run/"})
        assert not iam_allows(policy, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": f"{other}/"})
        assert not iam_allows(policy, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {})  # the whole bucket


# --- in-cluster SeaweedFS ---------------------------------------------------------------------------

def seaweedfs_can(actions: list[str], action: str, bucket: str, key: str) -> bool:
    """SeaweedFS's ``canDo`` (weed/s3api/auth_credentials.go) for one request."""
    if "Admin" in actions or action in actions:
        return True
    target, limited = f"{action}:{bucket}{key}", f"{action}:{bucket}"
    return any(target.startswith(a[:-1]) if a.endswith("*") else a in (limited, f"Admin:{bucket}")
               for a in actions)


def test_in_cluster_each_profile_has_its_own_keys_and_bucket(plans: dict[str, dict[str, Any]]) -> None:
    plan = plans["onprem"]
    server = next(r for r in _of(plan, "kubernetes:apps/v1:Deployment") if r["name"] == "artifacts-server")
    script = server["inputs"]["spec"]["template"]["spec"]["containers"][0]["lifecycle"]["postStart"]["exec"][
        "command"][-1]
    identities = {}
    for line in script.splitlines():
        if "-actions" in line and "-delete" not in line:
            words = line.split()
            identities[words[words.index("-user") + 1]] = words[words.index("-actions") + 1].split(",")
    keys = [r for r in _of(plan, "kubernetes:core/v1:Secret") if r["name"].startswith("artifacts-workload-keys")]
    assert {r["inputs"]["metadata"]["namespace"] for r in keys} == {"mlplane", *PROFILES}
    assert len([r for r in _of(plan, "random:index/randomPassword:RandomPassword")
                if r["name"].startswith("artifacts-secret-key")]) == 3
    for profile in PROFILES:
        other = next(p for p in PROFILES if p != profile)
        actions = identities[f"profile-{profile}"]
        own, theirs = f"mlpipeline-{profile}", f"mlpipeline-{other}"
        for action in ("Read", "Write", "List", "Tagging"):
            assert seaweedfs_can(actions, action, own, "/run/model.pt")
            assert not seaweedfs_can(actions, action, theirs, "/run/model.pt")
            assert not seaweedfs_can(actions, action, "mlpipeline", "/run/model.pt")  # the platform's bucket
        assert "Admin" not in " ".join(actions)


def gcs_may(member: str, object_name: str, bucket_grants: list[dict[str, Any]],
            folder_grants: list[dict[str, Any]]) -> bool:
    """Whether ``member`` may touch an object: a bucket grant, or a managed folder the name starts with."""
    return any(g["member"] == member for g in bucket_grants) or any(
        g["member"] == member and object_name.startswith(g["managedFolder"]) for g in folder_grants)


def azure_may(scopes: list[str], container: str) -> bool:
    """Whether role assignments at ``scopes`` reach a blob of ``container`` (a scope covers what is below it)."""
    path = scopes[0].rsplit("/containers/", 1)[0] + f"/containers/{container}/blobs/run/model.pt"
    return any(path.startswith(scope + "/") for scope in scopes)


# --- GCS -------------------------------------------------------------------------------------------

def test_gcs_each_profile_acts_as_its_own_account_bound_to_its_managed_folder(plans: dict[str, dict[str, Any]]
                                                                              ) -> None:
    plan = plans["gke"]
    accounts = _service_accounts(plan)
    emails = {ns: a["iam.gke.io/gcp-service-account"] for ns, a in accounts.items()}
    assert len(set(emails.values())) == len(emails) == 3
    bucket_grants = [r["inputs"] for r in _of(plan, "gcp:storage/bucketIAMMember:BucketIAMMember")]
    folder_grants = [r["inputs"] for r in _of(plan, "gcp:storage/managedFolderIamMember:ManagedFolderIamMember")]
    bindings = {r["inputs"]["member"].split("[", 1)[1].split("/")[0]: r["inputs"]["serviceAccountId"]
                for r in _of(plan, "gcp:serviceaccount/iAMMember:IAMMember")}
    for profile in PROFILES:
        other = next(p for p in PROFILES if p != profile)
        member = f"serviceAccount:{emails[profile]}"
        assert bindings[profile].endswith(emails[profile])  # workload identity: its own account only

        assert gcs_may(member, f"{profile}/run/model.pt", bucket_grants, folder_grants)
        assert not gcs_may(member, f"{other}/run/model.pt", bucket_grants, folder_grants)
        assert not gcs_may(member, "run/model.pt", bucket_grants, folder_grants)


# --- Azure -----------------------------------------------------------------------------------------

def test_azure_each_profile_has_its_own_identity_and_container(plans: dict[str, dict[str, Any]]) -> None:
    plan = plans["aks"]
    identities = {r["name"]: r["inputs"]["resourceName"]
                  for r in _of(plan, "azure-native:managedidentity:UserAssignedIdentity")}
    assert len(identities) == 3
    credentials = {r["inputs"]["resourceName"]: r["inputs"]["subject"]
                   for r in _of(plan, "azure-native:managedidentity:FederatedIdentityCredential")}
    assignments = [r for r in _of(plan, "azure-native:authorization:RoleAssignment")]
    for profile in PROFILES:
        other = next(p for p in PROFILES if p != profile)
        identity = identities[f"artifacts-identity-{profile}"]
        assert credentials[identity] == f"system:serviceaccount:{profile}:mlplane-artifacts"
        scopes = [a["inputs"]["scope"] for a in assignments if a["name"] == f"artifacts-blob-access-{profile}"]
        assert len(scopes) == 1

        assert azure_may(scopes, f"mlpipeline-{profile}")
        assert not azure_may(scopes, f"mlpipeline-{other}") and not azure_may(scopes, "mlpipeline")


def test_identities_are_never_shared() -> None:
    from mlplane.components.storage.spec import S3Store
    store = S3Store(kind="s3", bucket="b-ucket", oidc_provider_arn="arn:aws:iam::123456789012:oidc-provider/x")
    assert shared_identities("s3", store, "mlplane", ["team-a", "team-b"]) == []
    assert shared_identities("s3", store, "mlplane", ["mlplane"]) == [("mlplane", "mlplane",
                                                                        "the platform's own identity")]
    long = "team-" + "x" * 58
    assert shared_identities("s3", store, "mlplane", [long, long[:-1] + "y"]) == []


def test_a_profile_named_like_the_workload_namespace_is_refused(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    def clash(config: dict[str, Any]) -> None:
        two_profiles(config)
        config["mlplane:kubeflow"]["profiles"][0]["name"] = "mlplane"
        config["mlplane:workbenches"]["notebooks"][0]["profile"] = "mlplane"
    err = render_error(stack_from(tmp_path, "eks", clash), capsys, tmp_path)
    assert "Pulumi.t.yaml" in err and "mlplane:workbenches.notebooks[0].artifact_access" in err
    assert "would share the artifact identity" in err
