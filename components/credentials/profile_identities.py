"""One MinIO identity per declared profile (release v1.8.1: KFP 2.0.5 on MinIO), instead of the admin key.

Upstream 1.8.1's KFP profile controller (``sync.py`` in the ``kubeflow-pipelines-profile-
controller-code`` ConfigMap; kubeflow/manifests v1.8.1 ``apps/pipeline/upstream/base/installs/
multi-user/pipelines-profile-controller/sync.py``) writes ``MINIO_ACCESS_KEY`` and
``MINIO_SECRET_KEY``, MinIO's root credentials, into every profile's
``mlpipeline-minio-artifact`` Secret: a pod of profile B reads profile A's artifacts.
Since mlplane declares the profiles, it gives each one its own identity:

- **where a namespace's runs write.** KFP 2.0.5 writes a v2 run's artifacts under
  ``<pipeline root>/<pipeline name>/<run id>/<task>/<artifact>`` (kubeflow/pipelines 2.0.5
  ``backend/src/v2/metadata/client.go`` ``GetPipeline``, ``backend/src/v2/driver/driver.go``
  ``generateOutputURI``), the pipeline root being the namespace's ``kfp-launcher``
  ConfigMap's ``defaultPipelineRoot``, else ``minio://mlpipeline/v2/artifacts`` for every
  namespace (``backend/src/v2/config/env.go``); Argo's steps (logs, v1 outputs) write under
  the controller-wide ``keyFormat`` ``artifacts/{{workflow.name}}/...``
  (``apps/pipeline/upstream/third-party/argo/base/workflow-controller-configmap-patch.yaml``).
  Neither names the namespace, so mlplane moves both under ``private-artifacts/<ns>/``, the
  prefix 26.03's own controller uses (``applications/.../sync.py``: ``defaultPipelineRoot``
  ``minio://mlpipeline/private-artifacts/<ns>/v2/artifacts``; Argo ``keyFormat``
  ``private-artifacts/{{workflow.namespace}}/...``): :func:`patch_sync` gives each
  namespace's ``kfp-launcher`` that root, :func:`patch_key_format` puts
  ``{{workflow.namespace}}`` into Argo's key: Argo v3.3.10 (the 1.8.1 workflow controller)
  resolves the archive location it builds from ``keyFormat`` with the workflow's global
  parameters (argoproj/argo-workflows v3.3.10 ``workflow/controller/workflowpod.go``
  ``substitutePodParams(pod, woc.globalParams, tmpl)``), ``workflow.namespace`` among them
  (``workflow/controller/operator.go``), and saves with ``PutObject`` alone unless
  ``createBucketIfNotPresent`` (``workflow/artifacts/s3/s3.go``). KFP 2.0.5 looks up cached
  steps per namespace (``backend/src/v2/driver/driver.go``: ``GetExecutionCache(..., opts.Namespace)``),
  so a run never reuses another namespace's outputs.
- **the identity.** User ``profile-<ns>`` (the access key; a name, like the stores' user
  names) with a generated secret key (pulumi-random, :mod:`generated`), and the canned
  policy ``mlplane-profile-<ns>`` (:func:`policy_document`): object reads, writes and
  deletes under ``mlpipeline/private-artifacts/<ns>/``, listing the bucket only with an
  ``s3:prefix`` under it. Both are in the plan: the policies and the user list in the
  ConfigMap :data:`IDENTITIES` (the access evaluator reads them there), the secret keys in
  the Secret :data:`KEYS`.
- **adding it.** A Job in ``kubeflow`` (:func:`job_spec`, after the pipelines directory,
  whose MinIO it needs; awaited: pulumi-kubernetes waits for a Job to complete) runs ``mc``
  with the root key: ``admin policy add``, ``admin user add`` (which also resets the secret
  key of an existing user: MinIO ``cmd/iam.go`` ``SetUser`` overwrites), ``admin policy set
  ... user=``, and removes ``profile-*`` users no longer declared. Each step is idempotent.
  The pinned MinIO is ``gcr.io/ml-pipeline/minio:RELEASE.2019-08-14T20-37-41Z-license-compliance``
  (``apps/pipeline/upstream/third-party/minio/base/minio-deployment.yaml``), whose admin API
  is version 1 (minio/minio at that tag, ``cmd/admin-handlers.go`` ``adminAPIVersionInfo``;
  ``/add-user``, ``/add-canned-policy``, ``/set-user-or-group-policy`` in
  ``cmd/admin-router.go``); today's ``mc`` speaks v3 (``mc admin policy create/attach``).
  :data:`MC_IMAGE` is the ``mc`` release of the same day, ``RELEASE.2019-08-14T20-49-49Z``,
  whose ``go.mod`` pins ``github.com/minio/minio v0.0.0-20190813204106-bf9b619d8656``: the
  server tag's own history two commits before the tag, with no change to ``pkg/madmin`` or
  ``cmd/admin-router.go`` in between (``git diff bf9b619d8656 RELEASE.2019-08-14T20-37-41Z``).
  Its commands: ``cmd/admin-user-add.go``, ``admin-policy-add.go``, ``admin-policy-set.go``
  (``user=NAME``), ``admin-user-list.go`` (``--json``: ``"accessKey"``), ``admin-user-remove.go``;
  ``MC_HOST_<alias>`` (``cmd/config.go``). Pinned by tag only: no digest could be
  established here.
- **the profile controller.** :func:`patch_sync` makes ``sync.py`` write the namespace's own
  key into its Secret (no Secret at all for an undeclared namespace), read from the
  controller's environment (:func:`key_env`, from :data:`KEYS`; :func:`patch_controller`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlplane.components.mesh import INJECT_KEY
from mlplane.components.pod_security import ComputeResources, container, pod_spec
from mlplane.core.naming import k8s_name

#: KFP versions whose multi-user install hands profiles MinIO's root key (release v1.8.1).
KFP_VERSIONS = frozenset({"2.0.5"})
#: ``minio/mc`` released with the pinned server (see the module docstring for the pairing).
MC_IMAGE = "minio/mc:RELEASE.2019-08-14T20-49-49Z"
BUCKET = "mlpipeline"
#: The Service (and port) of 1.8.1's MinIO in ``kubeflow`` (``third-party/minio/base/minio-service.yaml``).
MINIO_HOST = "minio-service.kubeflow.svc.cluster.local:9000"
#: ConfigMap in ``kubeflow``: ``identities`` (lines ``<namespace> <user> <policy>``) and ``<policy>.json``.
IDENTITIES = "mlplane-kfp-profile-identities"
#: Secret in ``kubeflow``: each profile's secret key, by namespace.
KEYS = "mlplane-kfp-profile-keys"
#: The store's Secret in ``kubeflow`` (MinIO's root user): the Job logs in with it.
ADMIN_SECRET = "mlpipeline-minio-artifact"
ENV_PREFIX = "MLPLANE_MINIO_SECRET_"
USER_PREFIX = "profile-"
POLICY_PREFIX = "mlplane-profile-"
LABEL = "mlplane-kfp-profile-identities"
ROTATION_ANNOTATION = "mlplane.dev/credential-rotation"
_RESOURCES = ComputeResources(cpu_request="20m", memory_request="32Mi", cpu_limit="200m", memory_limit="128Mi")


def prefix(namespace: str) -> str:
    """The object-key prefix of ``namespace``'s artifacts (``private-artifacts/<ns>/``)."""
    return f"private-artifacts/{namespace}/"


def user(namespace: str) -> str:
    """The MinIO user (access key) of ``namespace``."""
    return f"{USER_PREFIX}{namespace}"


def policy_name(namespace: str) -> str:
    """The canned policy of ``namespace``."""
    return f"{POLICY_PREFIX}{namespace}"


def key_env(namespace: str) -> str:
    """The profile controller's env var holding ``namespace``'s secret key (namespace names have no ``_``)."""
    return ENV_PREFIX + namespace.upper().replace("-", "_")


def policy_document(namespace: str) -> dict[str, Any]:
    """``namespace``'s canned policy (IAM JSON as MinIO parses it: ``pkg/iam/policy`` at the pinned tag).

    Objects: get, put (multipart included: MinIO checks ``s3:PutObject`` for its parts),
    delete, abort and list parts, under ``mlpipeline/private-artifacts/<ns>/``. The bucket:
    ``s3:ListBucket`` only when the request's ``prefix`` is under it (``StringLike`` on
    ``s3:prefix``, the ``prefix`` query parameter: ``cmd/policy.go`` ``getConditionValues``),
    and ``s3:GetBucketLocation`` (the bucket's region, asked by minio-go clients first).
    """
    objects = f"arn:aws:s3:::{BUCKET}/{prefix(namespace)}*"
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                       "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
         "Resource": [objects]},
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{BUCKET}"],
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix(namespace)}*"]}}},
        {"Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": [f"arn:aws:s3:::{BUCKET}"]},
    ]}


def identities_data(namespaces: Sequence[str]) -> dict[str, str]:
    """The :data:`IDENTITIES` ConfigMap's data for the declared profile ``namespaces``."""
    data = {"identities": "".join(f"{ns} {user(ns)} {policy_name(ns)}\n" for ns in sorted(namespaces))}
    data.update({f"{policy_name(ns)}.json": json.dumps(policy_document(ns), indent=1, sort_keys=True)
                 for ns in namespaces})
    return data


def read_identities(data: Mapping[str, str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The users and their policies from an :data:`IDENTITIES` ConfigMap's data.

    Returns:
        ``{user: (namespace, policy document)}``.

    Raises:
        ValueError: A line that is not ``<namespace> <user> <policy>``, or a policy without its document.
    """
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for line in str(data.get("identities", "")).splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or f"{parts[2]}.json" not in data:
            raise ValueError(f"{IDENTITIES}: bad identity line {line!r}")
        found[parts[1]] = (parts[0], json.loads(data[f"{parts[2]}.json"]))
    return found


# --- the profile controller --------------------------------------------------------------------

#: 1.8.1's ``sync.py``, verbatim, where the patch goes in (tests check each occurs once upstream).
_SYNC_ANCHORS = {
    "helper": "def server_factory(",
    "root": '            if kfp_default_pipeline_root:\n',
    "secret": '            desired_resources.append({\n                "apiVersion": "v1",\n                "kind": "Secret",\n',
    "values": '                    "accesskey": minio_access_key,\n                    "secretkey": minio_secret_key,\n',
}
_MARK = "# mlplane: one MinIO identity per profile"
_HELPER = f'''{_MARK} (mlplane components/credentials/profile_identities.py).
def mlplane_profile_identity(namespace):
    """The namespace's own access key and secret key (base64), or None when it was not declared."""
    secret = os.environ.get("{ENV_PREFIX}" + namespace.upper().replace("-", "_"))
    if not secret:
        return None
    encode = lambda value: base64.b64encode(value.encode("utf-8")).decode("utf-8")
    return encode("{USER_PREFIX}" + namespace), encode(secret)


'''
_ROOT = ('            mlplane_identity = mlplane_profile_identity(namespace)\n'
         f'            kfp_default_pipeline_root = "minio://{BUCKET}/private-artifacts/" + namespace + "/v2/artifacts"\n')
_SECRET = _SYNC_ANCHORS["secret"].replace("            desired_resources.append({",
                                          "            if mlplane_identity: desired_resources.append({", 1)
_VALUES = ('                    "accesskey": mlplane_identity[0],\n'
           '                    "secretkey": mlplane_identity[1],\n')


def patch_sync(code: str) -> str | None:
    """1.8.1's ``sync.py`` writing each namespace's own key and pipeline root, or None.

    None when ``code`` is not that file (26.03's mints per-namespace SeaweedFS identities
    itself) or is patched already. The namespace's Secret carries ``profile-<ns>`` and the
    secret key from :func:`key_env` (no Secret when the env var is unset: an undeclared
    namespace gets no key rather than the admin's); ``kfp-launcher`` is always made, with
    ``defaultPipelineRoot`` ``minio://mlpipeline/private-artifacts/<ns>/v2/artifacts``.
    """
    if _MARK in code or any(code.count(anchor) != 1 for anchor in _SYNC_ANCHORS.values()):
        return None
    code = code.replace(_SYNC_ANCHORS["helper"], _HELPER + _SYNC_ANCHORS["helper"])
    code = code.replace(_SYNC_ANCHORS["root"], _ROOT + _SYNC_ANCHORS["root"])
    code = code.replace(_SYNC_ANCHORS["secret"], _SECRET)
    return code.replace(_SYNC_ANCHORS["values"], _VALUES)


_KEY_FORMAT = 'keyFormat: "artifacts/{{workflow.name}}/'
_NAMESPACED_KEY_FORMAT = 'keyFormat: "private-artifacts/{{workflow.namespace}}/artifacts/{{workflow.name}}/'


def patch_key_format(text: str) -> str | None:
    """Argo's ``artifactRepository`` with the key under ``private-artifacts/<namespace>/``, or None."""
    return text.replace(_KEY_FORMAT, _NAMESPACED_KEY_FORMAT) if text.count(_KEY_FORMAT) == 1 else None


def patch_controller(obj: Mapping[str, Any], namespaces: Sequence[str]) -> dict[str, Any] | None:
    """A patched copy of the profile controller, workflow controller ConfigMap or controller code, or None.

    - ConfigMap with ``sync.py`` (1.8.1's): :func:`patch_sync`.
    - ConfigMap ``workflow-controller-configmap``: :func:`patch_key_format`.
    - Deployment ``kubeflow-pipelines-profile-controller``: each namespace's secret key as
      :func:`key_env` from :data:`KEYS`.
    """
    kind, name = obj.get("kind"), (obj.get("metadata") or {}).get("name")
    data = obj.get("data") or {}
    if kind == "ConfigMap" and "sync.py" in data:
        code = patch_sync(str(data["sync.py"]))
        return None if code is None else {**copy.deepcopy(dict(obj)), "data": {**data, "sync.py": code}}
    if kind == "ConfigMap" and name == "workflow-controller-configmap" and "artifactRepository" in data:
        text = patch_key_format(str(data["artifactRepository"]))
        return None if text is None else {**copy.deepcopy(dict(obj)), "data": {**data, "artifactRepository": text}}
    if kind == "Deployment" and name == "kubeflow-pipelines-profile-controller":
        patched = copy.deepcopy(dict(obj))
        main = patched["spec"]["template"]["spec"]["containers"][0]
        env = [e for e in main.get("env") or [] if not str(e.get("name", "")).startswith(ENV_PREFIX)]
        main["env"] = [*env, *({"name": key_env(ns), "valueFrom": {"secretKeyRef": {"name": KEYS, "key": ns}}}
                               for ns in sorted(namespaces))]
        return patched if patched != obj else None
    return None


# --- the Job -----------------------------------------------------------------------------------

SCRIPT = """\
set -u
quit_proxy() { [ "$MESHED" = true ] && { wget -q -O /dev/null --post-data '' http://127.0.0.1:15020/quitquitquit \\
  || printf 'POST /quitquitquit HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 15020; } >/dev/null 2>&1; true; }
trap quit_proxy EXIT
export MC_HOST_kfp="http://${ADMIN_ACCESS_KEY}:${ADMIN_SECRET_KEY}@${MINIO_HOST}"
mc() { command mc --no-color --config-dir /tmp/.mc "$@"; }
ready=false
for attempt in $(seq 1 60); do
  if mc ls kfp >/dev/null 2>&1; then ready=true; break; fi
  sleep 5
done
[ "$ready" = true ] || { echo "MinIO at $MINIO_HOST does not answer the root key" >&2; exit 1; }
declared=" "
while read -r namespace user policy; do
  [ -n "$namespace" ] || continue
  declared="$declared$user "
  mc admin policy add kfp "$policy" "/identities/$policy.json" >/dev/null || exit 1
  mc admin user add kfp "$user" "$(cat "/keys/$namespace")" >/dev/null || exit 1
  mc admin policy set kfp "$policy" "user=$user" >/dev/null || exit 1
  echo "$user: policy $policy"
done < /identities/identities
users=$(mc --json admin user list kfp) || exit 1
for user in $(echo "$users" | sed -n 's/.*"accessKey": *"\\([^"]*\\)".*/\\1/p'); do
  case "$user" in
    profile-*) case "$declared" in *" $user "*) ;; *) mc admin user remove kfp "$user" >/dev/null || exit 1
                                                     echo "$user: removed (no longer declared)" ;; esac ;;
  esac
done
"""


def job_spec(namespaces: Sequence[str], service_account: str, token: str, meshed: bool = True) -> dict[str, Any]:
    """The Job's ``spec`` (pure; the real control plane judges it).

    Args:
        namespaces: The declared profiles (the pod template names them, so a new profile
            replaces the Job and it runs again).
        service_account: The pod's ServiceAccount (no API token: it only talks to MinIO).
        token: The rotation token of the profile keys (``"generated"`` before any rotation).
        meshed: MinIO runs with a sidecar (1.8.1's ``kubeflow`` is injected; its
            DestinationRule ``ml-pipeline-minio`` sends ``ISTIO_MUTUAL``), so the Job does too.
    """
    env = [{"name": "MINIO_HOST", "value": MINIO_HOST}, {"name": "MESHED", "value": "true" if meshed else "false"},
           {"name": "ADMIN_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": ADMIN_SECRET, "key": "accesskey"}}},
           {"name": "ADMIN_SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": ADMIN_SECRET, "key": "secretkey"}}},
           {"name": "HOME", "value": "/tmp"}]
    mounts = [{"name": "identities", "mountPath": "/identities", "readOnly": True},
              {"name": "keys", "mountPath": "/keys", "readOnly": True},
              {"name": "tmp", "mountPath": "/tmp"}]
    main = container("identities", MC_IMAGE, _RESOURCES, command=["/bin/sh", "-c", SCRIPT], env=env,
                     volume_mounts=mounts)
    main["securityContext"]["readOnlyRootFilesystem"] = True
    volumes = [{"name": "identities", "configMap": {"name": IDENTITIES}},
               {"name": "keys", "secret": {"secretName": KEYS}}, {"name": "tmp", "emptyDir": {}}]
    pod = pod_spec([main], volumes=volumes, restart_policy="Never", service_account=service_account)
    metadata: dict[str, Any] = {
        "labels": {"app.kubernetes.io/name": LABEL, INJECT_KEY: "true" if meshed else "false"},
        "annotations": {ROTATION_ANNOTATION: token, "mlplane.dev/profiles": ",".join(sorted(namespaces)),
                        # Istio 1.17 has no native sidecars (the script stops the proxy instead).
                        "sidecar.istio.io/nativeSidecar": "true"}}
    return {"backoffLimit": 2, "template": {"metadata": metadata, "spec": pod}}


def declare_keys(name: str, secrets: Mapping[str, Any], namespace: str, opts: pulumi.ResourceOptions
                 ) -> pulumi.Resource:
    """The Secret :data:`KEYS` (each profile's secret key, by namespace): before the directory,
    whose profile controller reads it."""
    return k8s.core.v1.Secret(
        f"{name}-kfp-profile-keys", metadata=k8s.meta.v1.ObjectMetaArgs(name=KEYS, namespace=namespace),
        string_data={ns: secrets[ns] for ns in sorted(secrets)}, opts=opts)


def declare_job(name: str, namespaces: Sequence[str], token: str, namespace: str, service_account: str,
                needs: Sequence[pulumi.Resource], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """The identities ConfigMap and the Job that adds them to MinIO.

    Args:
        name: Prefix of the Pulumi names.
        namespaces: The declared profiles.
        token: The rotation token (see :func:`job_spec`).
        namespace: Kubeflow's namespace (MinIO's).
        service_account: The Job's ServiceAccount.
        needs: What the Job waits for besides its ConfigMap: the pipelines directory (its
            MinIO must run) and the keys Secret.
        opts: Options (parent, provider).

    Returns:
        The Job.
    """
    config = k8s.core.v1.ConfigMap(
        f"{name}-kfp-profile-identities", metadata=k8s.meta.v1.ObjectMetaArgs(name=IDENTITIES, namespace=namespace),
        data=identities_data(namespaces), opts=opts)
    return k8s.batch.v1.Job(
        f"{name}-kfp-profile-identities-job",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=k8s_name("mlplane-kfp-profile-identities"), namespace=namespace),
        spec=job_spec(namespaces, service_account, token),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[config, *needs],
                                                                       delete_before_replace=True)))
