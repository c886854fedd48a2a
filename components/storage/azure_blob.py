"""Azure Blob artifact store: a storage account and container, reached through workload identity.

A user-assigned managed identity trusts the AKS OIDC issuer for the Kubernetes
ServiceAccount ``mlplane-artifacts`` (a federated credential) and holds "Storage Blob
Data Contributor" on the container. Shared keys are disabled on the account.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_azure_native as azure

from mlplane.components.storage.profile_access import azure_container, azure_identity
from mlplane.components.storage.volume import stateful_options

if TYPE_CHECKING:
    from mlplane.components.storage.artifacts import ArtifactStore, ArtifactStoreArgs

#: Azure's built-in role "Storage Blob Data Contributor".
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def declare(store: "ArtifactStore", name: str, args: "ArtifactStoreArgs"
            ) -> dict[str, dict[str, pulumi.Input[str]]]:
    """Declare account, containers and identities; return each namespace's ServiceAccount annotations.

    The platform's identity may use the artifacts container; each profile with
    ``artifact_access`` gets a container and an identity of its own, the role assigned on that
    container alone (:mod:`components.storage.profile_access`).
    """
    spec, group = args.store, args.resource_group
    account = azure.storage.StorageAccount(
        f"{name}-account", account_name=spec.storage_account, resource_group_name=group, location=spec.location,
        kind="StorageV2", sku=azure.storage.SkuArgs(name="Standard_ZRS"), allow_blob_public_access=False,
        allow_shared_key_access=False, minimum_tls_version="TLS1_2", enable_https_traffic_only=True,
        opts=stateful_options(store, args.protect),
    )
    container = azure.storage.BlobContainer(
        f"{name}-container", account_name=spec.storage_account, container_name=spec.container,
        resource_group_name=group, public_access="None",
        opts=stateful_options(store, args.protect, depends_on=[account]),
    )
    annotations: dict[str, dict[str, pulumi.Input[str]]] = {}
    for namespace in args.namespaces:
        own = namespace == args.workload_namespace
        suffix = "" if own else f"-{namespace}"
        container_name = spec.container if own else azure_container(spec.container, namespace)
        identity_name = spec.identity_name if own else azure_identity(spec.identity_name, namespace)
        box = container if own else azure.storage.BlobContainer(
            f"{name}-container{suffix}", account_name=spec.storage_account, container_name=container_name,
            resource_group_name=group, public_access="None",
            opts=stateful_options(store, args.protect, depends_on=[account]))
        identity = azure.managedidentity.UserAssignedIdentity(
            f"{name}-identity{suffix}", resource_name_=identity_name, resource_group_name=group,
            location=spec.location, opts=pulumi.ResourceOptions(parent=store))
        # A federated credential trusts one subject: this namespace's ServiceAccount.
        azure.managedidentity.FederatedIdentityCredential(
            f"{name}-federated-credential{suffix}",
            federated_identity_credential_resource_name="mlplane-artifacts" + suffix,
            resource_name_=identity_name, resource_group_name=group, issuer=spec.oidc_issuer_url,
            subject=f"system:serviceaccount:{namespace}:{store.facts.service_account}",
            audiences=["api://AzureADTokenExchange"], opts=pulumi.ResourceOptions(parent=store, depends_on=[identity]),
        )
        scope = container_scope(spec, group, container_name)
        azure.authorization.RoleAssignment(
            f"{name}-blob-access{suffix}",
            # Role assignment names are GUIDs; derive one from the scope so it is stable.
            role_assignment_name=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}#{identity_name}")),
            scope=scope, principal_id=identity.principal_id, principal_type="ServicePrincipal",
            role_definition_id=f"/subscriptions/{spec.subscription_id}/providers/Microsoft.Authorization/"
                               f"roleDefinitions/{BLOB_DATA_CONTRIBUTOR}",
            opts=pulumi.ResourceOptions(parent=store, depends_on=[box]),
        )
        annotations[namespace] = {"azure.workload.identity/client-id": identity.client_id}
    return annotations


def container_scope(spec: Any, group: str | None, container: str) -> str:
    """The ARM scope of one blob container (what a role assignment is limited to)."""
    return (f"/subscriptions/{spec.subscription_id}/resourceGroups/{group}/providers/Microsoft.Storage/"
            f"storageAccounts/{spec.storage_account}/blobServices/default/containers/{container}")
