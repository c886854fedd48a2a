"""mlplane's ``kfp.onprem``: ``mount_pvc`` as in KFP v1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlplane.pipelines.kfp_v1.api._secrets import secret_env
from mlplane.pipelines.kfp_v1.context import unsupported_attributes


def mount_pvc(pvc_name: str = "pipeline-claim", volume_name: str = "pipeline",
              volume_mount_path: str = "/mnt/pipeline") -> Callable[[Any], Any]:
    """Mount an existing PersistentVolumeClaim into the step's container."""

    def modify(task: Any) -> Any:
        if not hasattr(task, "add_volume") or not hasattr(task, "container"):
            return task  # VolumeOps and the like, as in KFP
        task.add_volume({"name": volume_name, "persistentVolumeClaim": {"claimName": str(pvc_name)}})
        task.container.add_volume_mount({"name": volume_name, "mountPath": volume_mount_path})
        return task

    return modify


def use_k8s_secret(secret_name: str = "k8s-secret",
                   k8s_secret_key_to_env: dict[str, str] | None = None) -> Callable[[Any], Any]:
    """Environment variables from a secret's keys (``{key: env var}``), as KFP 1.8.22's
    ``kfp/onprem.py`` adds them: ``valueFrom.secretKeyRef``, never the value."""
    mapping = dict(k8s_secret_key_to_env or {})
    return secret_env([(variable, key) for key, variable in mapping.items()], secret_name)


__getattr__ = unsupported_attributes("onprem", "mount_pvc, use_k8s_secret are")
