"""mlplane's ``kfp.onprem``: ``mount_pvc`` as in KFP v1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.kfp_v1.context import unsupported_attributes


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


__getattr__ = unsupported_attributes("onprem", "mount_pvc is")
