"""KFP 2.0.5 on MinIO (release v1.8.1): one MinIO identity per declared profile, judged four ways.

- MinIO's policy semantics (policy/access/minio.py) on the canned policy mlplane writes: a
  profile's user reaches its own prefix for get, put, delete and list, and nothing of
  another's; wildcard cases transcribed from minio/minio RELEASE.2019-08-14T20-37-41Z
  ``pkg/wildcard/match_test.go`` (all 73 of its ``TestMatch`` cases agreed when checked
  against that file).
- The profile controller: upstream 1.8.1's ``sync.py`` as the plan ships it (patched by the
  registered transform), run by the access evaluator's harness: each namespace's Secret holds
  its own user, an undeclared namespace gets no key, each namespace's pipeline root is its prefix.
- The Job's script, run by ``sh`` against a stand-in ``mc`` that keeps users and policies in
  files: adds, is idempotent, removes profiles no longer declared, fails when MinIO never answers.
- Plans and the access matrix: ordering, secrets masked, the Job reaches MinIO, the cell
  "pod in B -> A's artifacts" flips when the policy is widened or the admin key is copied again;
  the real control plane admits the Job (tests/test_credential_migration.py).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlplane.components.credentials import profile_identities as pi
from mlplane.policy.access import kfp_sync
from mlplane.policy.access.matrix import evaluate
from mlplane.policy.access.minio import S3Request, allowed, object_access, wildcard_match

from .expansion import expanded, needs_upstream, sources_folder

SYNC_181 = "kubeflow-manifests/v1.8.1/apps/pipeline/upstream/base/installs/multi-user/pipelines-profile-controller/sync.py"
SYNC_2603 = ("kubeflow-manifests/26.03/applications/pipeline/upstream/base/installs/multi-user/"
             "pipelines-profile-controller/sync.py")
CELL = "A's artifacts through the object store"


# --- MinIO's policy semantics ------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "text", "matched"), [
    # minio/minio RELEASE.2019-08-14T20-37-41Z pkg/wildcard/match_test.go TestMatch, cases 1-5, 9, 14, 20.
    ("*", "s3:GetObject", True), ("", "s3:GetObject", False), ("", "", True),
    ("s3:*", "s3:ListMultipartUploadParts", True), ("s3:ListBucketMultipartUploads", "s3:ListBucket", False),
    ("my-bucket/oo*", "my-bucket/odo", False), ("my-bucket/In*/Ka*/Ban", "my-bucket/India/Karnataka/Ban", True),
    ("my-bucket/*", "my-bucket/India/Karnataka/Ban", True),
    ("my-bucket/?", "my-bucket/", False),
])
def test_wildcards_match_as_minio_does(pattern: str, text: str, matched: bool) -> None:
    assert wildcard_match(pattern, text) is matched


def test_a_profile_policy_reaches_its_own_prefix_and_nothing_else() -> None:
    doc = pi.policy_document("team-a")
    own, other = "private-artifacts/team-a/run/x", "private-artifacts/team-b/run/x"
    assert object_access(doc, "mlpipeline", own, "private-artifacts/team-a/") == [
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket prefix=private-artifacts/team-a/"]
    assert object_access(doc, "mlpipeline", other, "private-artifacts/team-b/") == []
    # A longer name sharing the prefix is another profile (the prefix ends with "/").
    assert object_access(doc, "mlpipeline", "private-artifacts/team-ab/x", "private-artifacts/team-ab/") == []
    # Listing the whole bucket, or without a prefix, or another bucket: refused.
    assert not allowed(doc, S3Request("s3:ListBucket", "mlpipeline", "", {"prefix": [""]}))
    assert not allowed(doc, S3Request("s3:ListBucket", "mlpipeline"))
    assert not allowed(doc, S3Request("s3:GetObject", "other", own))
    # The shared prefixes upstream writes to without a namespace: not this identity's.
    assert not allowed(doc, S3Request("s3:GetObject", "mlpipeline", "v2/artifacts/p/run/t/a"))
    assert not allowed(doc, S3Request("s3:GetObject", "mlpipeline", "artifacts/wf/2026/01/01/pod/main.log"))
    # Bucket-level calls match the bucket ARN (MinIO: path.Clean("mlpipeline/") == "mlpipeline").
    assert allowed(doc, S3Request("s3:GetBucketLocation", "mlpipeline"))
    assert not allowed(doc, S3Request("s3:PutBucketPolicy", "mlpipeline"))


def test_deny_statements_win_and_unknown_operators_are_refused() -> None:
    doc = {"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b/*"]},
                         {"Effect": "Deny", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/secret/*"]}]}
    assert allowed(doc, S3Request("s3:GetObject", "b", "open/x"))
    assert not allowed(doc, S3Request("s3:GetObject", "b", "secret/x"))
    doc["Statement"].append({"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::b"],
                             "Condition": {"NumericLessThan": {"s3:max-keys": ["10"]}}})
    with pytest.raises(ValueError, match="NumericLessThan"):
        allowed(doc, S3Request("s3:ListBucket", "b", "", {"max-keys": ["5"]}))


def test_the_identities_configmap_round_trips() -> None:
    data = pi.identities_data(["team-b", "team-a"])
    assert data["identities"] == "team-a profile-team-a mlplane-profile-team-a\nteam-b profile-team-b mlplane-profile-team-b\n"
    assert pi.read_identities(data) == {"profile-team-a": ("team-a", pi.policy_document("team-a")),
                                        "profile-team-b": ("team-b", pi.policy_document("team-b"))}
    with pytest.raises(ValueError, match="bad identity line"):
        pi.read_identities({"identities": "team-a profile-team-a missing-policy\n"})


# --- the profile controller ----------------------------------------------------------------------

def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"pipelines.kubeflow.org/enabled": "true"}}}


def _controller(code: str, namespaces: list[str], patch: bool = True) -> list[dict[str, Any]]:
    """The controller's ConfigMap and Deployment as the plan would ship them (env as the transform sets it)."""
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "kubeflow-pipelines-profile-controller", "namespace": "kubeflow"},
                  "spec": {"template": {"spec": {"containers": [{"name": "profile-controller", "env": [
                      {"name": "KFP_VERSION", "value": "2.0.5"}, {"name": "MINIO_ACCESS_KEY", "value": "root"},
                      {"name": "MINIO_SECRET_KEY", "value": "root-secret"}]}]}}}}
    deployment = pi.patch_controller(deployment, namespaces) or deployment
    for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
        if item["name"].startswith(pi.ENV_PREFIX):  # what the kubelet would put there from the Secret
            item.pop("valueFrom")
            item["value"] = f"generated-for-{item['name']}"
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "code", "namespace": "kubeflow"},
              "data": {"sync.py": code}}
    return [(pi.patch_controller(config, namespaces) if patch else None) or config, deployment]


def _children(objects: list[dict[str, Any]], namespace: str) -> dict[str, dict[str, Any]]:
    children, _ = kfp_sync.sync_objects(objects, _namespace(namespace))
    return {f"{c['kind']}/{c['metadata']['name']}": c for c in children}


@needs_upstream
def test_the_patched_sync_py_gives_each_declared_namespace_its_own_key_and_prefix() -> None:
    code = (sources_folder() / SYNC_181).read_text()
    objects = _controller(code, ["team-a", "team-b"])
    for ns in ("team-a", "team-b"):
        children = _children(objects, ns)
        data = children["Secret/mlpipeline-minio-artifact"]["data"]
        assert base64.b64decode(data["accesskey"]).decode() == f"profile-{ns}"
        assert base64.b64decode(data["secretkey"]).decode() == f"generated-for-{pi.key_env(ns)}"
        assert children["ConfigMap/kfp-launcher"]["data"] == {
            "defaultPipelineRoot": f"minio://mlpipeline/private-artifacts/{ns}/v2/artifacts"}
    # A namespace nobody declared gets no key at all (never the root's), and the rest as upstream.
    undeclared = _children(objects, "team-x")
    assert "Secret/mlpipeline-minio-artifact" not in undeclared
    assert "Deployment/ml-pipeline-ui-artifact" in undeclared
    # Unpatched, upstream copies the root key: the evaluator's harness sees it (the control).
    upstream = _children(_controller(code, ["team-a"], patch=False), "team-a")
    assert base64.b64decode(upstream["Secret/mlpipeline-minio-artifact"]["data"]["accesskey"]).decode() == "root"


@needs_upstream
def test_the_patch_applies_to_1_8_1_only_and_once() -> None:
    code = (sources_folder() / SYNC_181).read_text()
    patched = pi.patch_sync(code)
    assert patched is not None and pi.patch_sync(patched) is None
    assert pi.patch_sync((sources_folder() / SYNC_2603).read_text()) is None  # 26.03 mints its own identities
    argo = (sources_folder() / "kubeflow-manifests/v1.8.1/apps/pipeline/upstream/third-party/argo/base/"
            "workflow-controller-configmap-patch.yaml").read_text()
    assert pi.patch_key_format(argo) is not None and "private-artifacts/{{workflow.namespace}}/" in pi.patch_key_format(argo)


# --- the Job's script ---------------------------------------------------------------------------

FAKE_MC = r"""#!/bin/sh
# A stand-in for mc (RELEASE.2019-08-14T20-49-49Z's commands): users in $STATE/users/<name> (secret),
# policies in $STATE/policies/<name>, a user's policy in $STATE/attached/<user>.
echo "$*" >> "$STATE/log"
[ -f "$STATE/down" ] && exit 1
case "$MC_HOST_kfp" in "http://$ROOT_KEY:$ROOT_SECRET@"*) ;; *) echo "access denied" >&2; exit 1 ;; esac
while [ "$1" != "${1#-}" ]; do case "$1" in --config-dir) shift 2 ;; *) shift ;; esac; done
mkdir -p "$STATE/users" "$STATE/policies" "$STATE/attached"
case "$1 $2 $3" in
  "ls kfp "*) exit 0 ;;
  "admin policy add") cp "$6" "$STATE/policies/$5" ;;
  "admin user add") printf '%s' "$6" > "$STATE/users/$5" ;;
  "admin policy set") [ -f "$STATE/policies/$5" ] && [ -f "$STATE/users/${6#user=}" ] || exit 1
                      echo "$5" > "$STATE/attached/${6#user=}" ;;
  "admin user list") for u in $(ls "$STATE/users"); do printf '{\n "status": "success",\n "accessKey": "%s"\n}\n' "$u"; done ;;
  "admin user remove") rm -f "$STATE/users/$5" "$STATE/attached/$5" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""


def _run_job(tmp_path: Path, namespaces: dict[str, str], *, down: bool = False) -> tuple[int, str]:
    """The Job's script with /identities and /keys as the pod would mount them (paths rewritten)."""
    bin_, state, identities, keys = (tmp_path / n for n in ("bin", "state", "identities", "keys"))
    for folder in (bin_, state, identities, keys):
        folder.mkdir(exist_ok=True)
    for name, body in (("mc", FAKE_MC), ("sleep", "#!/bin/sh\nexit 0\n")):
        (bin_ / name).write_text(body)
        (bin_ / name).chmod(stat.S_IRWXU)
    for name, text in pi.identities_data(list(namespaces)).items():
        (identities / name).write_text(text)
    for child in keys.iterdir():
        child.unlink()
    for ns, secret in namespaces.items():
        (keys / ns).write_text(secret)
    (state / "down").unlink(missing_ok=True)
    if down:
        (state / "down").write_text("")
    script = pi.SCRIPT.replace("/identities/", f"{identities}/").replace("/keys/", f"{keys}/")
    env = {"PATH": f"{bin_}:{os.environ['PATH']}", "STATE": str(state), "ROOT_KEY": "root", "ROOT_SECRET": "rootsecret",
           "ADMIN_ACCESS_KEY": "root", "ADMIN_SECRET_KEY": "rootsecret", "MINIO_HOST": "minio:9000", "MESHED": "false"}
    result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def _state(tmp_path: Path) -> dict[str, tuple[str, str]]:
    state = tmp_path / "state"
    return {u.name: (u.read_text(), (state / "attached" / u.name).read_text().strip())
            for u in sorted((state / "users").iterdir())}


def test_the_job_adds_each_identity_idempotently_and_removes_undeclared_ones(tmp_path: Path) -> None:
    code, out = _run_job(tmp_path, {"team-a": "SecretA1", "team-b": "SecretB1"})
    assert code == 0, out
    assert _state(tmp_path) == {"profile-team-a": ("SecretA1", "mlplane-profile-team-a"),
                                "profile-team-b": ("SecretB1", "mlplane-profile-team-b")}
    policy = json.loads((tmp_path / "state" / "policies" / "mlplane-profile-team-a").read_text())
    assert policy == pi.policy_document("team-a")
    code, out = _run_job(tmp_path, {"team-a": "SecretA1", "team-b": "SecretB1"})  # the Job again
    assert code == 0 and len(_state(tmp_path)) == 2, out
    # Someone else's user stays; team-b, no longer declared, goes; team-a's key rotates in place.
    (tmp_path / "state" / "users" / "backup-tool").write_text("x")
    code, out = _run_job(tmp_path, {"team-a": "SecretA2"})
    assert code == 0, out
    assert set(os.listdir(tmp_path / "state" / "users")) == {
        "profile-team-a", "backup-tool"}
    assert (tmp_path / "state" / "users" / "profile-team-a").read_text() == "SecretA2"
    assert "profile-team-b: removed" in out


def test_the_job_fails_when_minio_never_answers(tmp_path: Path) -> None:
    code, out = _run_job(tmp_path, {"team-a": "SecretA1"}, down=True)
    assert code == 1 and "does not answer the root key" in out
    assert not (tmp_path / "state" / "users").exists()


# --- plans and the access matrix --------------------------------------------------------------------

@needs_upstream
@pytest.mark.usefixtures("expansion_scratch")
def test_the_1_8_1_plan_orders_the_identities_and_keeps_the_keys_secret() -> None:
    plan = expanded("1.8.1").plan
    by_name = {r.name: r for r in plan}
    prefix = "platform-apps-credentials-"
    keys, job = by_name[f"{prefix}kfp-profile-keys"], by_name[f"{prefix}kfp-profile-identities-job"]
    directory = by_name["platform-apps-pipelines-pipelines"]
    assert keys.urn in directory.dependencies  # the profile controller reads the keys
    assert directory.urn in job.dependencies and keys.urn in job.dependencies  # MinIO runs first
    assert by_name[f"{prefix}kfp-profile-identities"].urn in job.dependencies
    assert job.delete_before_replace
    assert keys.inputs["stringData"] == {"team-nlp": "[secret]", "team-vision": "[secret]"}
    passwords = sorted(r.name for r in plan if r.type == "random:index/randomPassword:RandomPassword"
                       and "kfp-profile" in r.name)
    assert passwords == [f"{prefix}kfp-profile-team-nlp-secretkey", f"{prefix}kfp-profile-team-vision-secretkey"]
    template = job.inputs["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == pi.MC_IMAGE
    assert template["metadata"]["annotations"]["mlplane.dev/profiles"] == "team-nlp,team-vision"
    assert not [r for r in expanded("26.03").plan if r.name.startswith(f"{prefix}kfp-profile")]  # SeaweedFS: own


def _onprem_181() -> list[dict[str, Any]]:
    return [copy.deepcopy(dict(r.inputs)) for r in expanded("1.8.1").plan if r.is_kubernetes_object]


@needs_upstream
@pytest.mark.usefixtures("expansion_scratch")
def test_the_job_reaches_minio_through_the_mesh_and_network_policies() -> None:
    from mlplane.policy.access.paths import to_service
    from mlplane.policy.access.request import Http
    from mlplane.policy.access.scenario import world
    w, _ = world(_onprem_181())
    job = w.cluster.workload("kubeflow", "mlplane-kfp-profile-identities")
    minio = w.cluster.service("kubeflow", "minio-service")
    assert job is not None and job.proxied and minio is not None
    verdict, trail = to_service(w, job, minio, 9000, Http(host=pi.MINIO_HOST.split(":")[0], path="/minio/admin/v1/add-user",
                                                        method="PUT", port=9000))
    assert verdict, verdict.reason
    print(" -> ".join(trail))


@needs_upstream
@pytest.mark.usefixtures("expansion_scratch")
def test_widening_a_profile_policy_to_the_bucket_flips_the_cell() -> None:
    objects = _onprem_181()
    assert not evaluate("onprem@1.8.1", objects).cell("pod in B", CELL).verdict.allowed
    widened = copy.deepcopy(objects)
    config = next(o for o in widened if o["kind"] == "ConfigMap" and o["metadata"]["name"] == pi.IDENTITIES)
    for key in [k for k in config["data"] if k.endswith(".json")]:
        doc = json.loads(config["data"][key])
        doc["Statement"][0]["Resource"] = ["arn:aws:s3:::mlpipeline/*"]
        config["data"][key] = json.dumps(doc)
    cell = evaluate("onprem@1.8.1", widened).cell("pod in B", CELL)
    assert cell.verdict.allowed and "s3:GetObject" in cell.verdict.reason, cell.verdict.reason


@needs_upstream
@pytest.mark.usefixtures("expansion_scratch")
def test_copying_the_root_key_again_flips_the_cell() -> None:
    """Upstream's sync.py (the transform undone on the controller's code) hands B the root key."""
    objects = _onprem_181()
    upstream = (sources_folder() / SYNC_181).read_text()
    for obj in objects:
        if obj["kind"] == "ConfigMap" and "sync.py" in (obj.get("data") or {}):
            obj["data"]["sync.py"] = upstream
    cell = evaluate("onprem@1.8.1", objects).cell("pod in B", CELL)
    assert cell.verdict.allowed and "MinIO's root" in cell.verdict.reason, cell.verdict.reason


@needs_upstream
def test_with_no_profile_declared_the_controller_still_hands_out_no_root_key() -> None:
    """The transform patches sync.py on a MinIO train even when no profile is declared (fail closed)."""
    from mlplane.components.credentials.stores import stores_of
    from mlplane.components.credentials.transform import patch_object
    code = (sources_folder() / SYNC_181).read_text()
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "code"}, "data": {"sync.py": code}}
    stores = stores_of("pipelines")
    values = {s.id: {k.key: "x" for k in s.keys} for s in stores}
    assert patch_object(config, stores, values, profiles=None) is None  # 26.03-style: not a MinIO train
    patched = patch_object(config, stores, values, profiles=())
    assert patched is not None
    children = _children([patched, _controller(code, [], patch=False)[1]], "team-a")
    assert "Secret/mlpipeline-minio-artifact" not in children
