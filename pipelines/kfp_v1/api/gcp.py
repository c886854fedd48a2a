"""mlplane's ``kfp.gcp``: ``use_gcp_secret`` as in KFP v1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.kfp_v1.context import refusing, unsupported_attributes


def use_gcp_secret(secret_name: str = "user-gcp-sa", secret_file_path_in_volume: str | None = None,
                   volume_name: str | None = None,
                   secret_volume_mount_path: str = "/secret/gcp-credentials") -> Callable[[Any], Any]:
    """Mount a GCP service-account key from a Kubernetes secret and point gcloud at it.

    Adds the secret volume, its mount and ``GOOGLE_APPLICATION_CREDENTIALS`` (and
    ``CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE``), exactly as KFP v1 does.
    """
    key_file = secret_file_path_in_volume or f"/{secret_name}.json"
    volume = volume_name or f"gcp-credentials-{secret_name}"

    def modify(task: Any) -> Any:
        task.add_volume({"name": volume, "secret": {"secretName": secret_name}})
        task.container.add_volume_mount({"name": volume, "mountPath": secret_volume_mount_path})
        path = secret_volume_mount_path + key_file
        task.container.add_env_variable({"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": path})
        task.container.add_env_variable({"name": "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", "value": path})
        return task

    return modify


_NO_POOL = ("the stack's pools (mlplane:accelerators.pools) are GPU pools of nvidia, amd or intel; a step can "
            "only be placed on a pool the stack declares")
use_preemptible_nodepool = refusing("gcp.use_preemptible_nodepool", f"needs a preemptible node pool, and {_NO_POOL}")
use_tpu = refusing("gcp.use_tpu", f"needs a TPU pool, and {_NO_POOL}")

__getattr__ = unsupported_attributes("gcp", "use_gcp_secret is")
