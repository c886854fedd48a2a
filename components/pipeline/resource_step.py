"""``ResourceStep``: one Kubernetes object a pipeline declares (KFP's ResourceOp).

The object is a resource of the plan, in the pipeline's namespace, awaited with
``pulumi.com/waitFor`` when the step has a success condition. Its type token is the one
pulumi-kubernetes registers for the kind (``kubernetes:<group>/<version>:<Kind>``, the
core group as ``core``), so the real engine manages it like any other object.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import Field

from mlplane.components.base import ArgsModel, depends_of
from mlplane.components.pipeline.spec import ResourceStepSpec

#: The annotation that records a KFP failure condition on the object.
FAILURE_ANNOTATION = "mlplane.dev/failure-condition"


class ResourceStepArgs(ArgsModel):
    """Arguments of :class:`ResourceStep`."""

    namespace: str = Field(description="Namespace of the object.")
    spec: ResourceStepSpec = Field(description="The resource step.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels mlplane adds (pipeline, step).")


def type_token(api_version: str, kind: str) -> str:
    """pulumi-kubernetes' type token for a kind (``v1`` -> ``core/v1``)."""
    return f"kubernetes:{api_version if '/' in api_version else f'core/{api_version}'}:{kind}"


def object_manifest(args: ResourceStepArgs) -> dict[str, Any]:
    """The object with its namespace, labels and wait annotations."""
    manifest = dict(args.spec.manifest)
    metadata = dict(manifest.get("metadata") or {})
    metadata["namespace"] = args.namespace
    metadata["labels"] = {**(metadata.get("labels") or {}), **args.labels}
    annotations = dict(metadata.get("annotations") or {})
    if args.spec.wait_for:
        annotations["pulumi.com/waitFor"] = args.spec.wait_for
    else:
        annotations["pulumi.com/skipAwait"] = "true"
    if args.spec.failure_condition:
        annotations[FAILURE_ANNOTATION] = args.spec.failure_condition
    metadata["annotations"] = annotations
    manifest["metadata"] = metadata
    return manifest


class ResourceStep(pulumi.ComponentResource):
    """A pipeline step that is one Kubernetes object.

    Attributes:
        object: The object's resource; depend on it to run after it is ready.
    """

    def __init__(self, name: str, args: ResourceStepArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:pipeline:ResourceStep", name, None, opts)
        manifest = object_manifest(args)
        self.object = pulumi.CustomResource(
            type_token(manifest["apiVersion"], manifest["kind"]), f"{name}-object", manifest,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_of(opts)),
        )
        self.register_outputs({"name": manifest["metadata"]["name"]})
