"""The credential stores of the Kubeflow directories, and the values upstream publishes for them.

Each Kubeflow directory with a database or an object store ships its credential as a
literal in a public repository (kubeflow/manifests). :data:`STORES` lists them with the
source file at each pinned tag (read in ``../shared/upstream/kubeflow-manifests``), the
Secret every consumer reads, and what else in the directory relies on the published value:

- ``kfp-object-store``: ``mlpipeline-minio-artifact`` ``accesskey=minio``,
  ``secretkey=minio123``. v1.8.1: MinIO reads it as its root user
  (``apps/pipeline/upstream/third-party/minio/base/mlpipeline-minio-artifact-secret.yaml``);
  26.03: SeaweedFS's ``postStart`` runs ``s3.configure -user kubeflow-admin -access_key
  $accesskey -secret_key $secretkey -actions Admin`` from it (``envFrom``;
  ``applications/pipeline/upstream/third-party/seaweedfs/base/seaweedfs/``). The API server,
  the UI, the profile controller and Argo read the same Secret.
- ``kfp-mysql``: ``mysql-secret`` ``username=root``, ``password=""``; MySQL runs with
  ``MYSQL_ALLOW_EMPTY_PASSWORD=true`` and no root password
  (``.../pipeline/upstream/base/installs/generic/mysql-secret.yaml``,
  ``.../third-party/mysql/base/mysql-deployment.yaml``). ml-pipeline, cache-server and
  metadata-grpc read the password through ``secretKeyRef``.
- ``katib-mysql``: ``katib-mysql-secrets`` ``MYSQL_ROOT_PASSWORD=test`` (base64
  ``dGVzdA==``), and ``MYSQL_ALLOW_EMPTY_PASSWORD=true`` beside it
  (``.../katib/upstream/components/mysql/{secret,mysql}.yaml``).
- ``model-registry-db`` (26.03 only): ``model-registry-db-secrets`` from
  ``applications/model-registry/upstream/overlays/db/secrets.env``
  (``MYSQL_ROOT_PASSWORD=test``, ``MYSQL_USER_NAME=root``), and
  ``MYSQL_ALLOW_EMPTY_PASSWORD=true`` in the ``model-registry-db-parameters`` ConfigMap
  (``params.env``); the server's ``--embedmd-database-dsn`` argument expands
  ``$(MYSQL_ROOT_PASSWORD)`` from the Secret.

Usernames (``root``, ``kubeflow-admin``) stay: they are not secrets. Access key ids are
generated too, so the published pair can never authenticate again.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

StoreId = Literal["kfp-object-store", "kfp-mysql", "katib-mysql", "model-registry-db"]
STORE_IDS: tuple[str, ...] = get_args(StoreId)

#: ``MYSQL_ALLOW_EMPTY_PASSWORD``: any non-empty value lets mysqld start with an empty root
#: password (docker-library/mysql ``docker-entrypoint.sh``: ``[ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ]``).
ALLOW_EMPTY = "MYSQL_ALLOW_EMPTY_PASSWORD"


@dataclass(frozen=True)
class GeneratedKey:
    """One key of a store's Secret that mlplane generates.

    Attributes:
        key: The Secret's data key.
        published: The value upstream ships (decoded; ``""`` for an empty password).
        length: Length of the generated value (letters and digits: the model registry
            puts it into a DSN unescaped).
    """

    key: str
    published: str
    length: int


@dataclass(frozen=True)
class Store:
    """One store's credential as a Kubeflow directory ships it.

    Attributes:
        id: Stable id (``mlplane:kubeflow.credentials.rotate`` keys; Pulumi names).
        component: The component key whose directory holds it.
        secret: The Secret every consumer reads.
        keys: The generated keys.
        database: The Deployment of the database whose own root password is the key
            (``MYSQL_ROOT_PASSWORD`` added from the Secret, ``MYSQL_ALLOW_EMPTY_PASSWORD``
            removed), or None.
        password_env: For ``database``: the env var the password goes to.
        parameters: A ConfigMap that carries ``MYSQL_ALLOW_EMPTY_PASSWORD`` (removed), or None.
        sources: Upstream source of the published values, by git tag.
        consumers: What reads the Secret (for the inventory in docs/security.md).
    """

    id: str
    component: str
    secret: str
    keys: tuple[GeneratedKey, ...]
    database: str | None
    password_env: str | None
    parameters: str | None
    sources: MappingProxyType
    consumers: str

    def key(self, name: str) -> GeneratedKey:
        """The generated key called ``name``."""
        return next(k for k in self.keys if k.key == name)


_KFP_OBJECT_STORE = Store(
    id="kfp-object-store", component="pipelines", secret="mlpipeline-minio-artifact",
    keys=(GeneratedKey("accesskey", "minio", 20), GeneratedKey("secretkey", "minio123", 40)),
    database=None, password_env=None, parameters=None,
    sources=MappingProxyType({
        "v1.8.1": "apps/pipeline/upstream/third-party/minio/base/mlpipeline-minio-artifact-secret.yaml",
        "26.03": "applications/pipeline/upstream/third-party/seaweedfs/base/seaweedfs/"
                 "mlpipeline-minio-artifact-secret.yaml",
    }),
    consumers="the object store (MinIO's root user on 1.8.1; SeaweedFS's kubeflow-admin identity on 26.03), "
              "ml-pipeline, ml-pipeline-ui, the KFP profile controller, Argo's artifact repository",
)
_KFP_MYSQL = Store(
    id="kfp-mysql", component="pipelines", secret="mysql-secret",
    keys=(GeneratedKey("password", "", 32),),
    database="mysql", password_env="MYSQL_ROOT_PASSWORD", parameters=None,
    sources=MappingProxyType({
        "v1.8.1": "apps/pipeline/upstream/base/installs/generic/mysql-secret.yaml",
        "26.03": "applications/pipeline/upstream/base/installs/generic/mysql-secret.yaml",
    }),
    consumers="KFP's MySQL (root), ml-pipeline, cache-server, metadata-grpc",
)
_KATIB_MYSQL = Store(
    id="katib-mysql", component="katib", secret="katib-mysql-secrets",
    keys=(GeneratedKey("MYSQL_ROOT_PASSWORD", "test", 32),),
    database="katib-mysql", password_env="MYSQL_ROOT_PASSWORD", parameters=None,
    sources=MappingProxyType({
        "v1.8.1": "apps/katib/upstream/components/mysql/secret.yaml",
        "26.03": "applications/katib/upstream/components/mysql/secret.yaml",
    }),
    consumers="Katib's MySQL (root, and its probes), katib-db-manager",
)
_MODEL_REGISTRY_DB = Store(
    id="model-registry-db", component="model_registry", secret="model-registry-db-secrets",
    keys=(GeneratedKey("MYSQL_ROOT_PASSWORD", "test", 32),),
    database="model-registry-db", password_env="MYSQL_ROOT_PASSWORD", parameters="model-registry-db-parameters",
    sources=MappingProxyType({"26.03": "applications/model-registry/upstream/overlays/db/secrets.env"}),
    consumers="the model registry's MySQL (root, and its probe), the model registry server's DSN",
)

#: Every store, by id.
STORES: MappingProxyType = MappingProxyType({s.id: s for s in (
    _KFP_OBJECT_STORE, _KFP_MYSQL, _KATIB_MYSQL, _MODEL_REGISTRY_DB)})


def stores_of(component: str) -> tuple[Store, ...]:
    """The stores whose credential the directories of ``component`` ship."""
    return tuple(s for s in STORES.values() if s.component == component)


def published_values() -> frozenset[str]:
    """Every non-empty value upstream publishes for a store (the stack-file refusal's list)."""
    return frozenset(k.published for s in STORES.values() for k in s.keys if k.published)
