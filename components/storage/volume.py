"""``Volume``: a PersistentVolumeClaim for datasets or models, protected by default."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.components.base import ArgsModel
from mlplane.components.storage.spec import DnsLabel, VolumeSpec

#: Claims bind when their first pod is scheduled (WaitForFirstConsumer); waiting for
#: ``Bound`` during ``pulumi up`` would hang until some workload mounts the claim.
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}


def volume_resource_name(name: str) -> str:
    """The Pulumi name of the ``Volume`` component of the stack's volume ``name``."""
    return f"volume-{name}"


def stateful_options(parent: pulumi.Resource, protect: bool, **extra: object) -> pulumi.ResourceOptions:
    """Options of a resource that holds data: protected and kept on delete unless told otherwise."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect, **extra)  # type: ignore[arg-type]


def claim(name: str, claim_name: str, namespace: pulumi.Input[str], size: str, storage_class: str,
          access_modes: tuple[str, ...], opts: pulumi.ResourceOptions) -> k8s.core.v1.PersistentVolumeClaim:
    """Declare a PersistentVolumeClaim (the one shape every mlplane volume has)."""
    return k8s.core.v1.PersistentVolumeClaim(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=claim_name, namespace=namespace, annotations=SKIP_AWAIT),
        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
            access_modes=list(access_modes),
            storage_class_name=storage_class,
            resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": size}),
        ),
        opts=opts,
    )


class VolumeArgs(ArgsModel):
    """Arguments of :class:`Volume`."""

    spec: VolumeSpec = Field(description="The volume.")
    namespace: DnsLabel = Field(description="Namespace of the claim.")
    protect: bool = Field(True, description="protect and retainOnDelete on the claim.")


class Volume(pulumi.ComponentResource):
    """A model or data volume.

    Attributes:
        claim: The PersistentVolumeClaim.
    """

    def __init__(self, name: str, args: VolumeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:storage:Volume", name, None, opts)
        spec = args.spec
        # The namespace is another component's: wait for it (depends_on is not inherited).
        after = (opts.depends_on if opts is not None else None) or []
        self.claim = claim(f"{name}-claim", spec.claim_name, args.namespace, spec.size, spec.storage_class,
                           spec.access_modes, stateful_options(self, args.protect, depends_on=after))
        self.register_outputs({"claim_name": spec.claim_name})
