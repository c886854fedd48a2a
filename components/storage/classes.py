"""``StorageClasses``: the StorageClasses a stack declares (cloud disks, local-path, NFS)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.components.base import ArgsModel
from mlplane.components.storage.spec import StorageClassSpec

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


class StorageClassesArgs(ArgsModel):
    """Arguments of :class:`StorageClasses`."""

    classes: tuple[StorageClassSpec, ...] = Field(description="The classes to create.")


class StorageClasses(pulumi.ComponentResource):
    """One StorageClass per spec; volumes bind when their first pod is scheduled.

    ``WaitForFirstConsumer`` puts a disk in the zone of the node that uses it (cloud
    disks are zonal) and lets local-path pick that node.
    """

    def __init__(self, name: str, args: StorageClassesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:storage:StorageClasses", name, None, opts)
        for spec in args.classes:
            if spec.kind == "existing":
                continue  # the cluster's own class: used by name, never created or changed
            annotations = {DEFAULT_CLASS_ANNOTATION: "true"} if spec.default else None
            k8s.storage.v1.StorageClass(
                f"{name}-{spec.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.name, annotations=annotations),
                provisioner=spec.provisioner,
                parameters=spec.parameters() or None,
                reclaim_policy=spec.reclaim_policy,
                volume_binding_mode="WaitForFirstConsumer",
                allow_volume_expansion=spec.expandable,
                mount_options=spec.mount_options() or None,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"classes": [spec.name for spec in args.classes if spec.kind != "existing"]})
