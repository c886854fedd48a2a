"""``VolumeStep``: a PersistentVolumeClaim that later steps mount (KFP's VolumeOp).

A claim holds data, so it is protected from deletion and replacement by default.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.components.base import ArgsModel, depends_of
from mlplane.components.pipeline.spec import VolumeStepSpec


class VolumeStepArgs(ArgsModel):
    """Arguments of :class:`VolumeStep`."""

    namespace: str = Field(description="Namespace of the claim.")
    spec: VolumeStepSpec = Field(description="The volume step.")
    default_storage_class: str | None = Field(None, description="Storage class when the step names none.")
    protect: bool = Field(True, description="Protect the claim from deletion and replacement.")


class VolumeStep(pulumi.ComponentResource):
    """A claim created as a pipeline step.

    Attributes:
        claim: The PVC; depend on it to mount the volume.
        claim_name: The PVC's Kubernetes name.
    """

    def __init__(self, name: str, args: VolumeStepArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:pipeline:VolumeStep", name, None, opts)
        spec = args.spec
        self.claim_name = spec.resource_name
        storage_class = spec.storage_class or args.default_storage_class
        claim_spec: dict[str, object] = {
            "accessModes": list(spec.modes),
            "resources": {"requests": {"storage": spec.size}},
        }
        if storage_class:
            claim_spec["storageClassName"] = storage_class
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-pvc",
            metadata={"name": self.claim_name, "namespace": args.namespace,
                      "labels": {"app.kubernetes.io/managed-by": "mlplane"},
                      # Bind at once: steps that mount it wait for the claim, not the other way round.
                      "annotations": {"pulumi.com/skipAwait": "true"}},
            spec=claim_spec,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect,
                                        depends_on=depends_of(opts)),
        )
        self.register_outputs({"claim_name": self.claim_name})
