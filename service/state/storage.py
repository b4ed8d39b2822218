"""Storage clients from settings: a connection string locally, an identity in Azure.

In Azure the app reaches its account by name with its managed identity
(``__clientId`` picks a user-assigned one; without it DefaultAzureCredential
finds the system-assigned identity or ``AZURE_CLIENT_ID``).
"""

from __future__ import annotations

from azure.core.credentials import TokenCredential
from azure.data.tables import TableServiceClient
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.storage.blob import BlobServiceClient

from service.settings import StorageSettings


def credential(storage: StorageSettings) -> TokenCredential:
    if storage.client_id:
        return ManagedIdentityCredential(client_id=storage.client_id)
    return DefaultAzureCredential()


def table_endpoint(storage: StorageSettings) -> str:
    if storage.table_service_uri:
        return storage.table_service_uri
    return f"https://{storage.account_name}.table.core.windows.net"


def blob_endpoint(storage: StorageSettings) -> str:
    if storage.blob_service_uri:
        return storage.blob_service_uri
    return f"https://{storage.account_name}.blob.core.windows.net"


def table_service(storage: StorageSettings) -> TableServiceClient:
    if storage.connection_string is not None:
        return TableServiceClient.from_connection_string(storage.connection_string.reveal())
    return TableServiceClient(endpoint=table_endpoint(storage), credential=credential(storage))


def blob_service(storage: StorageSettings) -> BlobServiceClient:
    if storage.connection_string is not None:
        return BlobServiceClient.from_connection_string(storage.connection_string.reveal())
    return BlobServiceClient(account_url=blob_endpoint(storage), credential=credential(storage))
