"""An existing S3-compatible object store: its keys as a Secret that steps and KServe read.

Steps and notebooks get ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` from the Secret and
``AWS_ENDPOINT_URL_S3``/``AWS_REGION`` as values (components/storage/spec.py:
``artifact_store_facts``). KServe's storage initializer finds the Secret through the
ServiceAccount the predictor runs as: its credential builder walks the account's
``secrets`` (kserve/kserve ``pkg/credentials/service_account_credentials.go``, v0.11.2 and
v0.16.0), takes a Secret holding ``s3SecretAccessKeyName``'s key (``AWS_SECRET_ACCESS_KEY``
in the kserve charts' ``inferenceservice-config``, templates/configmap.yaml of both), and
turns the Secret's annotations into the client's settings (``pkg/credentials/s3/utils.go``:
``BuildS3EnvVars``): ``serving.kserve.io/s3-endpoint`` (host and port, no scheme) becomes
``S3_ENDPOINT`` and ``AWS_ENDPOINT_URL`` with ``s3-usehttps`` choosing http or https;
``s3-region`` and ``s3-verifyssl`` the rest (annotation names in ``pkg/credentials/s3/
s3_secret.go``). So an ``s3://bucket/path`` storageUri reads from the team's store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from mlplane.components.base import SecretValue
from mlplane.components.storage.spec import ARTIFACT_CREDENTIALS_SECRET, S3CompatibleStore

if TYPE_CHECKING:
    from mlplane.components.storage.artifacts import ArtifactStore, ArtifactStoreArgs

#: KServe's annotations on an S3 credentials Secret (kserve/kserve pkg/credentials/s3/s3_secret.go).
KSERVE_S3 = "serving.kserve.io/s3-"


def kserve_annotations(store: S3CompatibleStore) -> dict[str, str]:
    """The Secret's annotations KServe's storage initializer reads for ``store``."""
    return {f"{KSERVE_S3}endpoint": store.host,
            f"{KSERVE_S3}usehttps": "1" if store.endpoint.startswith("https://") else "0",
            f"{KSERVE_S3}region": store.region,
            f"{KSERVE_S3}verifyssl": "1" if store.verify_tls else "0"}


#: The ServiceAccount lists the keys' Secret: KServe's credential builder reads it there.
SERVICE_ACCOUNT_SECRETS = (ARTIFACT_CREDENTIALS_SECRET,)


def declare(store: "ArtifactStore", name: str, args: "ArtifactStoreArgs") -> dict[str, str]:
    """The keys' Secret in every namespace whose ServiceAccount uses the store; no SA annotations."""
    spec = args.store
    assert isinstance(spec, S3CompatibleStore)
    for namespace in args.namespaces:
        suffix = "" if namespace == args.workload_namespace else f"-{namespace}"
        # Unset keys are required secrets: a real `pulumi up` stops on them (infra/config/secrets.py);
        # offline they stand in as the placeholder, like every unset required secret.
        keys = {key: (value or SecretValue(None)).as_output()
                for key, value in (("AWS_ACCESS_KEY_ID", spec.access_key_id),
                                   ("AWS_SECRET_ACCESS_KEY", spec.secret_access_key))}
        k8s.core.v1.Secret(
            f"{name}-keys{suffix}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ARTIFACT_CREDENTIALS_SECRET, namespace=namespace,
                                                annotations=kserve_annotations(spec)),
            string_data=keys,
            opts=pulumi.ResourceOptions(parent=store, depends_on=store.after),
        )
    return {}
