"""Entra diagnostic-settings export blobs: registration, byte-offset cursors, tailing."""

from service.export.cursors import BlobCursor, BlobCursorStore, cursor_table_name
from service.export.paths import (
    EXPORT_CONTAINERS,
    BlobRegistration,
    parse_blob_hour,
    registration_for,
)
from service.export.tailer import Chunk, ExportLine, ExportTailer, TailReport

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
