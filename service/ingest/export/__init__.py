"""Entra diagnostic-settings export blobs: registration, byte-offset cursors, tailing."""

from service.ingest.export.cursors import BlobCursor, BlobCursorStore, cursor_table_name
from service.ingest.export.paths import (
    EXPORT_CONTAINERS,
    BlobRegistration,
    parse_blob_hour,
    registration_for,
)
from service.ingest.export.tailer import Chunk, ExportLine, ExportTailer, TailReport

__all__ = [
    "EXPORT_CONTAINERS",
    "BlobCursor",
    "BlobCursorStore",
    "BlobRegistration",
    "Chunk",
    "ExportLine",
    "ExportTailer",
    "TailReport",
    "cursor_table_name",
    "parse_blob_hour",
    "registration_for",
]
