"""Byte-offset cursors of export blobs, one Table row per blob.

Table ``<prefix>blobcursors``: PartitionKey = container, RowKey = sha256(blob path),
Offset (bytes handled), Lines (lines handled, for error line numbers), Hour, Retired.
A retired row is kept (not deleted) so a redelivered BlobCreated event, which Event
Grid sends for up to 24 h, cannot register the blob again and re-read it from byte 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import EdmType, EntityProperty, TableClient, TableServiceClient, UpdateMode

from detections.errors import RiskwatchError
from service.ingest.export.paths import READ_AFTER_SIGN_INS, BlobRegistration, blob_row_key


class OffsetError(RiskwatchError, ValueError):
    """A blob cursor asked to move back: offsets only grow (a rewritten blob is a new one)."""


@dataclass(frozen=True, slots=True)
class BlobCursor:
    container: str
    blob_name: str
    hour: datetime
    offset: int
    lines: int
    retired: bool
    etag: str | None = None

    @property
    def source(self) -> str:
        return f"{self.container}/{self.blob_name}"


def cursor_table_name(prefix: str) -> str:
    return f"{prefix}blobcursors"


class BlobCursorStore:
    def __init__(self, table: TableClient) -> None:
        self.table = table

    @classmethod
    def create(cls, service: TableServiceClient, prefix: str) -> BlobCursorStore:
        return cls(service.create_table_if_not_exists(cursor_table_name(prefix)))

    def register(self, registration: BlobRegistration) -> bool:
        """Add the blob at offset 0; False (and nothing changed) if it was already known."""
        entity = {
            "PartitionKey": registration.container,
            "RowKey": registration.row_key,
            "BlobName": registration.blob_name,
            "Hour": registration.hour,
            "Offset": EntityProperty(0, EdmType.INT64),
            "Lines": EntityProperty(0, EdmType.INT64),
            "Retired": False,
        }
        try:
            self.table.create_entity(entity)
        except ResourceExistsError:
            return False  # Event Grid redelivery: idempotent, never resets the offset
        return True

    def active(self) -> list[BlobCursor]:
        """Blobs still being tailed, oldest hour first; an hour's audits after its sign-ins."""
        rows = self.table.query_entities("Retired eq false")
        return sorted((_cursor(row) for row in rows),
                      key=lambda c: (c.hour, c.container in READ_AFTER_SIGN_INS, c.source))

    def get(self, container: str, row_key: str) -> BlobCursor:
        return _cursor(self.table.get_entity(container, row_key))

    def advance(self, cursor: BlobCursor, offset: int, lines: int) -> BlobCursor:
        """Move the offset forward; raises ResourceModifiedError if another run moved it."""
        if offset < cursor.offset:
            raise OffsetError(f"{cursor.source}: offset may not move back to {offset}")
        changes = {
            "Offset": EntityProperty(offset, EdmType.INT64),
            "Lines": EntityProperty(lines, EdmType.INT64),
        }
        return self._update(cursor, changes)

    def retire(self, cursor: BlobCursor, reason: str) -> BlobCursor:
        return self._update(cursor, {"Retired": True, "RetiredReason": reason[:500]})

    def _update(self, cursor: BlobCursor, changes: dict[str, Any]) -> BlobCursor:
        keys = {"PartitionKey": cursor.container, "RowKey": blob_row_key(cursor.blob_name)}
        entity = {**keys, **changes}
        metadata = self.table.update_entity(
            entity,
            mode=UpdateMode.MERGE,
            etag=cursor.etag,
            match_condition=MatchConditions.IfNotModified,
        )
        offset = changes.get("Offset", EntityProperty(cursor.offset, EdmType.INT64)).value
        lines = changes.get("Lines", EntityProperty(cursor.lines, EdmType.INT64)).value
        return replace(
            cursor, offset=offset, lines=lines,
            retired=bool(changes.get("Retired", cursor.retired)), etag=metadata.get("etag"),
        )


def _int(value: object) -> int:
    # Int64 columns come back as EntityProperty(value, INT64); Int32 ones as plain int.
    if isinstance(value, EntityProperty):
        value = value.value
    if not isinstance(value, int | str):
        raise TypeError(f"expected an integer column, got {type(value).__name__}")
    return int(value)


def _cursor(row: Any) -> BlobCursor:
    return BlobCursor(
        container=row["PartitionKey"],
        blob_name=row["BlobName"],
        hour=row["Hour"],
        offset=_int(row["Offset"]),
        lines=_int(row["Lines"]),
        retired=bool(row.get("Retired", False)),
        etag=row.metadata.get("etag"),
    )
