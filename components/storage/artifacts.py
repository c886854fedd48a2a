"""``ArtifactStore``: where pipelines and serving keep artifacts, and who may use it.

A cloud bucket (GCS, S3, Azure Blob) bound to a Kubernetes ServiceAccount through the
cloud's workload identity (no static keys), or an S3-compatible store in the cluster
(SeaweedFS) whose generated keys live in a Secret. The bucket, the store's volume and
the account that holds the blobs are protected and kept on delete by default.
"""

from __future__ import annotations

import importlib

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.components.storage.spec import ArtifactStoreFacts, ArtifactStoreSpec, DnsLabel, artifact_store_facts

_MODULES = {"in-cluster": "in_cluster", "gcs": "gcs", "s3": "s3", "azure-blob": "azure_blob",
            "s3-compatible": "s3_compatible"}
_NEEDS = {"gcs": ("project",), "s3": ("region",), "azure-blob": ("resource_group",)}


class ArtifactStoreArgs(ArgsModel):
    """Arguments of :class:`ArtifactStore`."""

    store: ArtifactStoreSpec = Field(description="The store, by kind.")
    workload_namespace: DnsLabel = Field(description="Namespace whose ServiceAccount gets access.")
    protect: bool = Field(True, description="protect and retainOnDelete on what holds data.")
    project: str | None = Field(None, description="GCS: Google Cloud project.")
    region: str | None = Field(None, description="S3: AWS region.")
    resource_group: str | None = Field(None, description="Azure Blob: resource group.")
    allow_ingress_from: tuple[DnsLabel, ...] = Field(
        (), description="In-cluster store: namespaces (besides the workload namespace) whose pods may reach it.",
    )

    other_namespaces: tuple[DnsLabel, ...] = Field(
        (), description="Profiles whose notebooks use the store: each gets an identity of its own, limited to "
                        "its prefix, folder, container or bucket (components/storage/profile_access.py).",
    )

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace whose ServiceAccount gets access, the workload namespace first."""
        return tuple(dict.fromkeys((self.workload_namespace, *self.other_namespaces)))

    @model_validator(mode="after")
    def _cloud_fields(self) -> "ArtifactStoreArgs":
        missing = [key for key in _NEEDS.get(self.store.kind, ()) if getattr(self, key) is None]
        if missing:
            raise ValueError(f"a {self.store.kind} artifact store needs {', '.join(missing)}")
        return self


class ArtifactStore(pulumi.ComponentResource):
    """The artifact store and the ServiceAccount that may use it.

    Attributes:
        facts: How work reaches the store (see :class:`ArtifactStoreFacts`).
    """

    facts: ArtifactStoreFacts

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:storage:ArtifactStore", name, None, opts)
        self.facts = artifact_store_facts(args.store, namespace=args.workload_namespace, region=args.region)
        # The workload namespace is another component's: wait for it (depends_on is not inherited).
        self.after = list((opts.depends_on if opts is not None else None) or [])
        backend = importlib.import_module(f"mlplane.components.storage.{_MODULES[args.store.kind]}")
        # Each namespace's own identity (a profile never gets the platform's): annotations by namespace.
        annotations = backend.declare(self, name, args)
        # Secrets the account lists (KServe's credential builder reads S3 keys there).
        secrets = [{"name": s} for s in getattr(backend, "SERVICE_ACCOUNT_SECRETS", ())] or None
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=self.facts.service_account, namespace=args.workload_namespace,
                                                annotations=annotations.get(args.workload_namespace) or None),
            automount_service_account_token=False, secrets=secrets,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.after),
        )
        for namespace in args.other_namespaces:
            k8s.core.v1.ServiceAccount(
                f"{name}-service-account-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=self.facts.service_account, namespace=namespace,
                                                    annotations=annotations.get(namespace) or None),
                automount_service_account_token=False, secrets=secrets,
                opts=pulumi.ResourceOptions(parent=self, depends_on=self.after),
            )
        self.register_outputs({"uri": self.facts.uri, "service_account": self.facts.service_account})
