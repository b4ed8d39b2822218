"""What Azure writes for the export-blob benchmark: the hour's append blobs and their events.

Azure Monitor appends a tenant's diagnostic-settings records, one JSON line each, to one
``PT1H.json`` append blob per hour and category (``insights-logs-<category>/tenantId=<guid>/
y=/m=/d=/h=/m=00/PT1H.json``); Azure Storage publishes ``Microsoft.Storage.BlobCreated`` once,
when the blob is created (platform notes 1(b)), never for the appends.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

APPEND_LIMIT = 4 * 1024 * 1024  # bytes per Append Block call


class ExportWriter:
    """Appends diagnostic records to the hour's blobs; a new blob raises its BlobCreated."""

    def __init__(self, connection: str, on_created: Callable[[dict[str, Any]], None]) -> None:
        from azure.storage.blob import BlobServiceClient

        self.blobs = BlobServiceClient.from_connection_string(connection)
        self.on_created = on_created
        self.known: set[tuple[str, str]] = set()

    def append(self, lines: list[str]) -> dict[str, int]:
        """The window's Graph-shaped sign-ins, as export lines; bytes appended per container."""
        from synth.shapes import TENANT_ID, diagnostic, dumps

        grouped: dict[tuple[str, str], list[bytes]] = {}
        for line in lines:
            record = diagnostic("signIn", json.loads(line))
            when = str(record["time"])
            name = (
                f"tenantId={TENANT_ID}/y={when[0:4]}/m={when[5:7]}/d={when[8:10]}/"
                f"h={when[11:13]}/m=00/PT1H.json"
            )
            container = f"insights-logs-{str(record['category']).lower()}"
            grouped.setdefault((container, name), []).append((dumps(record) + "\n").encode())
        written: dict[str, int] = {}
        for (container, name), parts in grouped.items():
            client = self.blobs.get_blob_client(container, name)
            if (container, name) not in self.known:
                self._create(container, name)
            block = b""
            for part in parts:
                if len(block) + len(part) > APPEND_LIMIT:
                    client.append_block(block)
                    block = b""
                block += part
            if block:
                client.append_block(block)
            written[container] = written.get(container, 0) + sum(map(len, parts))
        return written

    def _create(self, container: str, name: str) -> None:
        from azure.core.exceptions import ResourceExistsError

        with suppress(ResourceExistsError):  # the other container's first blob made it
            self.blobs.create_container(container)
        client = self.blobs.get_blob_client(container, name)
        created = client.create_append_blob()
        self.known.add((container, name))
        self.on_created(
            blob_created_event(
                client.url,
                client.account_name or "bench",
                container,
                name,
                str(created.get("etag", "")),
            )
        )


def blob_created_event(
    url: str, account: str, container: str, name: str, etag: str
) -> dict[str, Any]:
    """The Event Grid schema event Azure Storage publishes when an append blob is created."""
    return {
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
        f"rg-riskwatch-bench/providers/Microsoft.Storage/storageAccounts/{account}",
        "subject": f"/blobServices/default/containers/{container}/blobs/{name}",
        "eventType": "Microsoft.Storage.BlobCreated",
        "id": str(uuid.uuid4()),
        "data": {
            "api": "PutBlob",
            "clientRequestId": str(uuid.uuid4()),
            "requestId": str(uuid.uuid4()),
            "eTag": etag,
            "contentType": "application/json",
            "contentLength": 0,
            "blobType": "AppendBlob",
            "url": url,
            "sequencer": f"{time.time_ns():032x}",
            "storageDiagnostics": {"batchId": str(uuid.uuid4())},
        },
        "dataVersion": "",
        "metadataVersion": "1",
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def history_before(work: Path, users: int, first: datetime, day: Path | None = None) -> Path:
    """The tenant's sign-ins from midnight to ``first`` (JSON lines, untimed): the lines of
    ``day`` before ``first`` when given (its tenant's day), else generated for those hours."""
    from bench.data import tenant_window

    midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
    if day is None:
        return tenant_window(work, users, midnight, int((first - midnight).total_seconds() // 60))
    target = work / f"history-{users}-{first:%H%M}.jsonl"
    if not target.exists():
        until = f'"createdDateTime":"{first:%Y-%m-%dT%H:%M:%S}'
        work.mkdir(parents=True, exist_ok=True)
        with day.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
            for line in src:
                found = line.find('"createdDateTime":"', 0, 400)
                if found >= 0 and line[found : found + len(until)] >= until:
                    break
                dst.write(line)
    return target
