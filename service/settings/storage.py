"""Where the state lives: a connection string (local, Azurite) or an account and an identity.

Checked the way Azure and the Storage SDK would check them, so a name Azure refuses or a
malformed connection string is one line at start-up instead of a failure in the first run.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from service.settings.parsing import Reader, Secret

_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")  # Azure's rule for storage account names
_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageSettings:
    """A connection string (local, Azurite) or an account reached with an identity."""

    setting: str  # the setting it came from, for messages
    connection_string: Secret | None = None
    account_name: str | None = None
    client_id: str | None = None  # user-assigned identity; None: DefaultAzureCredential
    table_service_uri: str | None = None
    blob_service_uri: str | None = None


def storage_setting(read: Reader, base: str) -> StorageSettings | None:
    connection = read.raw(base)
    account = read.raw(f"{base}__accountName")
    if account is not None and not _ACCOUNT.match(account):
        read.problem(f"{base}__accountName",
                     f"{account[:40]!r} is not a storage account name (3-24 lowercase letters "
                     "and digits)")
    table_uri = read.url(f"{base}__tableServiceUri", secret=False)
    blob_uri = read.url(f"{base}__blobServiceUri", secret=False)
    credential = read.raw(f"{base}__credential")
    if credential is not None and credential.lower() != "managedidentity":
        read.problem(f"{base}__credential", "only 'managedidentity' is supported")
    client_id = client_id_setting(read, f"{base}__clientId")
    if connection is not None:
        why = connection_string_problem(connection)
        if why:
            read.problem(base, why)
        return StorageSettings(setting=base, connection_string=Secret(connection))
    if account is None and table_uri is None:
        return None
    return StorageSettings(
        setting=base,
        account_name=account,
        client_id=client_id,
        table_service_uri=table_uri,
        blob_service_uri=blob_uri,
    )


def connection_string_problem(connection: str) -> str | None:
    """What the Storage SDK would refuse later; the message never shows the value."""
    if "AccountName=" not in connection and "UseDevelopmentStorage=true" not in connection:
        return "not a storage connection string (no AccountName=)"
    parts = [part.strip() for part in connection.split(";") if part.strip()]
    if not all("=" in part for part in parts):
        return "not a storage connection string (every part is Key=Value)"
    values = dict(part.split("=", 1) for part in parts)
    key = values.get("AccountKey")
    if key is not None:
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            return "its AccountKey is not base64"
    return None


def client_id_setting(read: Reader, name: str) -> str | None:
    value = read.raw(name)
    if value is not None and not _GUID.match(value):
        read.problem(name, f"{value[:40]!r} is not a client id (a GUID)")
        return None
    return value
