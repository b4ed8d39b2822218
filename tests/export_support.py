"""A new export append blob in Azurite, named as a diagnostic setting names them."""

from __future__ import annotations

import contextlib
import uuid

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobClient, BlobServiceClient

SIGNINS = "insights-logs-signinlogs"


def new_export_blob(
    connection: str, hour: str = "y=2026/m=11/d=02/h=09", container: str = SIGNINS
) -> tuple[str, BlobClient]:
    """The blob's name and its client, the container made if it was not there."""
    blobs = BlobServiceClient.from_connection_string(connection)
    with contextlib.suppress(ResourceExistsError):
        blobs.create_container(container)
    name = f"tenantId={uuid.uuid4()}/{hour}/m=00/PT1H.json"
    client = blobs.get_blob_client(container, name)
    client.create_append_blob()
    return name, client
