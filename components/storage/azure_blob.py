"""Azure Blob artifact store: a storage account and container, reached through workload identity.

A user-assigned managed identity trusts the AKS OIDC issuer for the Kubernetes
ServiceAccount ``mlplane-artifacts`` (a federated credential) and holds "Storage Blob
Data Contributor" on the container. Shared keys are disabled on the account.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pulumi
import pulumi_azure_native as azure

from mlplane.components.storage.volume import stateful_options

if TYPE_CHECKING:
    from mlplane.components.storage.artifacts import ArtifactStore, ArtifactStoreArgs

#: Azure's built-in role "Storage Blob Data Contributor".
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def declare(store: "ArtifactStore", name: str, args: "ArtifactStoreArgs") -> dict[str, pulumi.Input[str]]:
    """Declare account, container and identity; return the ServiceAccount's annotations."""
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
    identity = azure.managedidentity.UserAssignedIdentity(
        f"{name}-identity", resource_name_=spec.identity_name, resource_group_name=group, location=spec.location,
        opts=pulumi.ResourceOptions(parent=store),
    )
    for namespace in args.namespaces:
        # One federated credential per namespace (a credential trusts one subject).
        own = namespace == args.workload_namespace
        azure.managedidentity.FederatedIdentityCredential(
            f"{name}-federated-credential" + ("" if own else f"-{namespace}"),
            federated_identity_credential_resource_name="mlplane-artifacts" + ("" if own else f"-{namespace}"),
            resource_name_=spec.identity_name, resource_group_name=group, issuer=spec.oidc_issuer_url,
            subject=f"system:serviceaccount:{namespace}:{store.facts.service_account}",
            audiences=["api://AzureADTokenExchange"], opts=pulumi.ResourceOptions(parent=store, depends_on=[identity]),
        )
    scope = (f"/subscriptions/{spec.subscription_id}/resourceGroups/{group}/providers/Microsoft.Storage/"
             f"storageAccounts/{spec.storage_account}/blobServices/default/containers/{spec.container}")
    azure.authorization.RoleAssignment(
        f"{name}-blob-access",
        # Role assignment names are GUIDs; derive one from the scope so it is stable.
        role_assignment_name=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}#{spec.identity_name}")),
        scope=scope, principal_id=identity.principal_id, principal_type="ServicePrincipal",
        role_definition_id=f"/subscriptions/{spec.subscription_id}/providers/Microsoft.Authorization/"
                           f"roleDefinitions/{BLOB_DATA_CONTRIBUTOR}",
        opts=pulumi.ResourceOptions(parent=store, depends_on=[container]),
    )
    return {"azure.workload.identity/client-id": identity.client_id}
