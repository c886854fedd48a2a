"""Moving a running database off its published (or previous) root password: one awaited Job per store.

A new Secret does not change a password a database already stored: the MySQL image reads
``MYSQL_ROOT_PASSWORD`` only when it initializes an empty data directory
(docker-library/mysql ``docker-entrypoint.sh``: ``docker_setup_db`` runs under
``if [ -z "$DATABASE_ALREADY_EXISTS" ]``). So each MySQL store gets a Job that logs in with
the first password that works among the generated one (already migrated: nothing to do),
the one the store's Secret holds now (a rotation: the Secret still has the previous
value, since the Job runs before the directory is updated) and the one upstream publishes
(an install from kubeflow/manifests), and sets the generated one with ``ALTER USER``.
It is idempotent, ordered (its directory waits for it) and awaited (pulumi-kubernetes waits
for a Job to complete and fails the update on a failed Job). Where the database's Service
does not exist yet (a new install), there is nothing to migrate: the database initializes
with the generated password. The Job's pod template carries the rotation token, so a new
token replaces the Job (a Job's template is immutable) and runs it again.

KFP's MySQL is in the mesh (kubeflow/manifests gives it no ``sidecar.istio.io/inject:
"false"``, unlike Katib's and the model registry's databases), so the Job to it is meshed
too (STRICT mTLS refuses plain text): a native sidecar where istiod honours
``sidecar.istio.io/nativeSidecar`` (Istio 1.29's injection template), and where it does not
(1.17 has no native sidecars and ignores the annotation) the script stops the proxy when it exits (``POST /quitquitquit`` on the
pilot-agent's port 15020, istio/istio ``pilot/cmd/pilot-agent/status/server.go``).
The other two run without a sidecar (``components/mesh.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlplane.components.credentials.stores import Store
from mlplane.components.mesh import INJECT_KEY, without_sidecar
from mlplane.core.naming import k8s_name
from mlplane.components.pod_security import ComputeResources, container, pod_spec

#: The mysql client image (KFP 26.03's own MySQL is mysql:8.4).
CLIENT_IMAGE = "mysql:8.4"
#: The mysql image's own non-root user (docker-library/mysql Dockerfile: ``useradd ... mysql``, uid 999).
_MYSQL_UID = 999
_RESOURCES = ComputeResources(cpu_request="50m", memory_request="64Mi", cpu_limit="500m", memory_limit="256Mi")
ROTATION_ANNOTATION = "mlplane.dev/credential-rotation"
#: The migration Jobs' identity (the access matrix names it: it may reach the databases' port 3306).
SERVICE_ACCOUNT = "mlplane-credential-migration"
#: Tells the policy pack this Job holds the published password only to log in and replace it
#: (policy/rules/credentials.py: MIGRATION_ANNOTATION; tests keep the two equal).
MIGRATION_ANNOTATION = "mlplane.dev/credential-migration"
NATIVE_SIDECAR = "sidecar.istio.io/nativeSidecar"
#: Stores whose database runs with an Istio sidecar (upstream does not opt it out).
MESHED = frozenset({"kfp-mysql"})
#: The Service each database is reached at, in the Kubeflow namespace.
HOSTS: Mapping[str, str] = {"kfp-mysql": "mysql", "katib-mysql": "katib-mysql",
                            "model-registry-db": "model-registry-db"}

SCRIPT = """\
set -u
quit_proxy() { [ "$MESHED" = true ] && exec 3<>/dev/tcp/127.0.0.1/15020 \\
  && printf 'POST /quitquitquit HTTP/1.0\\r\\n\\r\\n' >&3 || true; }
trap quit_proxy EXIT
if ! getent hosts "$DB_HOST" >/dev/null; then
  echo "no Service $DB_HOST yet: the database initializes with the generated password"; exit 0
fi
works() { MYSQL_PWD="$1" mysql -h "$DB_HOST" -u root --connect-timeout=5 -e 'SELECT 1' >/dev/null 2>&1; }
for attempt in $(seq 1 60); do
  if works "$NEW_PASSWORD"; then echo "root already has the generated password"; exit 0; fi
  for old in "${CURRENT_PASSWORD:-}" "$PUBLISHED_PASSWORD"; do
    if works "$old"; then
      MYSQL_PWD="$old" mysql -h "$DB_HOST" -u root -e \\
        "ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY '$NEW_PASSWORD'; ALTER USER IF EXISTS 'root'@'localhost' IDENTIFIED BY '$NEW_PASSWORD';"
      works "$NEW_PASSWORD" && { echo "root's password changed"; exit 0; }
    fi
  done
  sleep 5
done
echo "no known password opens $DB_HOST" >&2
exit 1
"""


def migration_job_spec(store: Store, credential_secret: str, token: str) -> dict[str, Any]:
    """The Job's ``spec`` (pure; tests and the real control plane judge it).

    Args:
        store: A MySQL store (``store.database`` set).
        credential_secret: The Secret holding the generated password (key ``password``).
        token: The rotation token (``"generated"`` before any rotation).
    """
    key = store.keys[0]
    meshed = store.id in MESHED
    env = [
        {"name": "DB_HOST", "value": HOSTS[store.id]},
        {"name": "MESHED", "value": "true" if meshed else "false"},
        {"name": "NEW_PASSWORD", "valueFrom": {"secretKeyRef": {"name": credential_secret, "key": "password"}}},
        {"name": "CURRENT_PASSWORD", "valueFrom": {"secretKeyRef": {"name": store.secret, "key": key.key,
                                                                    "optional": True}}},
        {"name": "PUBLISHED_PASSWORD", "value": key.published},
    ]
    main = container("migrate", CLIENT_IMAGE, _RESOURCES, command=["/bin/bash", "-c", SCRIPT], env=env)
    pod = pod_spec([main], restart_policy="Never", service_account=SERVICE_ACCOUNT)
    pod["securityContext"] = {**pod["securityContext"], "runAsUser": _MYSQL_UID, "runAsGroup": _MYSQL_UID,
                              "fsGroup": _MYSQL_UID}
    metadata: dict[str, Any] = {"labels": {"app.kubernetes.io/name": "mlplane-credential-migration",
                                           "app.kubernetes.io/instance": store.id},
                                "annotations": {ROTATION_ANNOTATION: token}}
    if meshed:
        # The same on both trains, so a release switch does not rerun the Job.
        metadata["annotations"][NATIVE_SIDECAR] = "true"
        metadata["labels"][INJECT_KEY] = "true"
    else:
        metadata = without_sidecar(metadata)
    return {"backoffLimit": 2, "template": {"metadata": metadata, "spec": pod}}


def migration_account(name: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.ServiceAccount:
    """The migration Jobs' ServiceAccount (no API token: the Jobs only talk to MySQL)."""
    return k8s.core.v1.ServiceAccount(
        f"{name}-migration-account", metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=namespace),
        automount_service_account_token=False, opts=opts)


def declare_migrations(name: str, stores: tuple[Store, ...], values: Mapping[str, Mapping[str, Any]],
                       rotate: Mapping[str, str], namespace: str, account: pulumi.Resource,
                       opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """The generated-password Secret and the migration Job of each MySQL store of ``stores``.

    Returns:
        The Jobs (the directory holding the stores depends on them).
    """
    jobs: list[pulumi.Resource] = []
    for store in (s for s in stores if s.database is not None):
        secret_name = k8s_name(f"mlplane-{store.id}-credential")
        secret = k8s.core.v1.Secret(
            f"{name}-{store.id}-credential",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace),
            string_data={"password": values[store.id][store.keys[0].key]}, opts=opts)
        jobs.append(k8s.batch.v1.Job(
            f"{name}-{store.id}-migrate",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=k8s_name(f"mlplane-{store.id}-migrate"), namespace=namespace,
                                                annotations={MIGRATION_ANNOTATION: "true"}),
            spec=migration_job_spec(store, secret_name, rotate.get(store.id, "generated")),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                depends_on=[secret, account], delete_before_replace=True))))
    return jobs
