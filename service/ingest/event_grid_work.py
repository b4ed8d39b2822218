"""What the Event Grid handlers record for the timer: a blob to tail, a rescan to run.

The handlers need only storage (a bad sink or Graph setting must not stop them), stay
short and are idempotent, since Event Grid redelivers; the timer's run reads what they
recorded (``service.ingest.sources.rescan_batches``, ``service.ingest.sources.export_batches``).
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

from service.ingest.event_grid import RescanRequest
from service.ingest.export import BlobCursorStore, BlobRegistration
from service.settings import StorageSettings
from service.state.cursors import CursorConflict, CursorStore
from service.state.storage import table_service
from service.state.tables import Tables

RESCAN_GROUP = "rescan"  # cursor group of the stored rescan requests


def state_tables(storage: StorageSettings, prefix: str) -> Tables:
    return Tables(table_service(storage), prefix)


def register_blob(tables: Tables, registration: BlobRegistration) -> bool:
    """Event Grid's BlobCreated: remember the blob; the timer tails it."""
    return BlobCursorStore.create(tables.service, tables.prefix).register(registration)


def request_rescan(tables: Tables, request: RescanRequest, now: datetime) -> None:
    """Store a rescan for the next timer run."""
    cursors = CursorStore(tables)
    value = json.dumps(
        {"start": request.start.isoformat(), "end": request.end.isoformat(),
         "users": list(request.users)}
    )
    if cursors.load(RESCAN_GROUP, request.event_id) is None:
        with contextlib.suppress(CursorConflict):  # a concurrent redelivery stored it
            cursors.save(RESCAN_GROUP, request.event_id, value, now, None)
