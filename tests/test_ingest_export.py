"""Export-blob tailing against Azurite: real append blobs that grow between runs."""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from service.ingest.event_grid import BLOB_CREATED, parse_event_grid_event
from service.ingest.export import BlobCursorStore, ExportTailer, TailReport, registration_for

pytestmark = pytest.mark.azurite

SIGNINS = "insights-logs-signinlogs"
RISK = "insights-logs-userriskevents"
HOUR = datetime(2024, 6, 20, 5, tzinfo=UTC)
DURING = HOUR + timedelta(minutes=30)
AFTER = HOUR + timedelta(hours=2)


@pytest.fixture
def blobs(storage_connection) -> BlobServiceClient:
    service = BlobServiceClient.from_connection_string(storage_connection)
    for container in (SIGNINS, RISK):
        with contextlib.suppress(ResourceExistsError):
            service.create_container(container)
    return service


@pytest.fixture
def store(storage_connection, table_prefix) -> BlobCursorStore:
    return BlobCursorStore.create(
        TableServiceClient.from_connection_string(storage_connection), table_prefix
    )


def blob_path() -> str:
    return f"tenantId={uuid.uuid4()}/y=2024/m=06/d=20/h=05/m=00/PT1H.json"


def record(n: int, category: str = "SignInLogs") -> bytes:
    line = {"time": f"2024-06-20T05:{n:02d}:00Z", "category": category,
            "properties": {"id": f"si-{n}", "userPrincipalName": f"u{n}@contoso.com"}}
    return json.dumps(line).encode() + b"\n"


def new_blob(blobs, store, container=SIGNINS):
    name = blob_path()
    client = blobs.get_blob_client(container, name)
    client.create_append_blob()
    assert store.register(registration_for(container, name))
    return client


class Collector:
    def __init__(self):
        self.seen: list[tuple[str, int, dict]] = []

    def __call__(self, chunk):
        self.seen.extend((ln.blob_name, ln.number, json.loads(ln.text)) for ln in chunk.lines)

    def ids(self) -> list[str]:
        return [r["properties"]["id"] for _, _, r in self.seen]


def test_growing_blob_every_line_once_half_line_waited_for_then_retired(blobs, store):
    client = new_blob(blobs, store)
    tailer = ExportTailer(blobs, store)
    got = Collector()
    third = record(3)
    client.append_block(record(1) + record(2) + third[:20])  # line 3 half-written

    first = tailer.tail(got, DURING)
    assert got.ids() == ["si-1", "si-2"]
    assert first.waiting_bytes == 20 and first.retired == 0

    client.append_block(third[20:] + record(4))
    tailer.tail(got, DURING)
    assert got.ids() == ["si-1", "si-2", "si-3", "si-4"]
    assert [n for _, n, _ in got.seen] == [1, 2, 3, 4]

    assert tailer.tail(got, DURING).lines == 0  # nothing new: nothing repeated
    client.append_block(record(5))  # a late append inside the grace period
    done = tailer.tail(got, AFTER)
    assert got.ids() == ["si-1", "si-2", "si-3", "si-4", "si-5"]
    assert done.retired == 1 and store.active() == []
    assert tailer.tail(got, AFTER).blobs == 0


def test_failing_handler_keeps_the_offset_and_never_blocks_other_blobs(blobs, store):
    bad = new_blob(blobs, store, RISK)
    good = new_blob(blobs, store)
    bad.append_block(record(1, "UserRiskEvents"))
    good.append_block(record(2))
    got = Collector()

    def handle(chunk):
        if chunk.cursor.container == RISK:
            raise RuntimeError("outbox unavailable")
        got(chunk)

    report = ExportTailer(blobs, store).tail(handle, DURING)
    assert got.ids() == ["si-2"]
    assert len(report.failures) == 1 and "outbox unavailable" in report.failures[0]
    assert {c.container: c.offset for c in store.active()}[RISK] == 0
    ExportTailer(blobs, store).tail(got, DURING)
    assert got.ids() == ["si-2", "si-1"]  # the failed lines come back, the others don't


def test_two_step_read_then_commit(blobs, store):
    client = new_blob(blobs, store)
    client.append_block(record(1) + record(2))
    tailer = ExportTailer(blobs, store)
    [cursor] = store.active()
    chunk = tailer.read(cursor, DURING)
    assert [ln.number for ln in tailer.read(cursor, DURING).lines] == [1, 2]  # not committed
    committed = tailer.commit(chunk)
    assert committed.offset == len(record(1) + record(2)) and committed.lines == 2
    assert tailer.read(store.active()[0], DURING).lines == []
    with pytest.raises(ResourceModifiedError):
        tailer.commit(chunk)  # a stale cursor (another run moved it) is refused


def test_last_line_without_newline_counts_once_the_hour_is_over(blobs, store):
    client = new_blob(blobs, store)
    client.append_block(record(1) + record(2).rstrip(b"\n"))
    tailer = ExportTailer(blobs, store)
    got = Collector()
    tailer.tail(got, DURING)
    assert got.ids() == ["si-1"]
    report = tailer.tail(got, AFTER)
    assert got.ids() == ["si-1", "si-2"] and report.retired == 1


def test_small_reads_and_lines_longer_than_a_read(blobs, store):
    client = new_blob(blobs, store)
    client.append_block(b"".join(record(n) for n in range(1, 8)) + b"\n\r\n")
    got = Collector()
    ExportTailer(blobs, store, max_bytes=16).tail(got, DURING)
    assert got.ids() == [f"si-{n}" for n in range(1, 8)]
    [cursor] = store.active()
    assert cursor.lines == 9  # blank lines are skipped but still counted for numbering


def test_missing_blob_is_retired_only_after_its_hour(blobs, store):
    store.register(registration_for(SIGNINS, blob_path()))
    tailer = ExportTailer(blobs, store)
    assert tailer.tail(Collector(), DURING).retired == 0
    assert tailer.tail(Collector(), AFTER).retired == 1
    assert store.active() == []


def test_blob_created_event_registers_once_and_the_timer_tails_it(blobs, store):
    name = blob_path()
    client = blobs.get_blob_client(SIGNINS, name)
    client.create_append_blob()
    subject = f"/blobServices/default/containers/{SIGNINS}/blobs/{name}"
    registration = parse_event_grid_event("e1", BLOB_CREATED, subject, {"blobType": "AppendBlob"})
    assert store.register(registration)
    client.append_block(record(1))
    got = Collector()
    ExportTailer(blobs, store).tail(got, DURING)
    assert not store.register(registration)  # redelivered event: no reset to byte 0
    ExportTailer(blobs, store).tail(got, AFTER)
    assert not store.register(registration)  # retired rows are kept for the same reason
    assert got.ids() == ["si-1"]


def test_an_hours_audit_blobs_are_read_after_its_sign_in_blobs(blobs, store):
    with contextlib.suppress(ResourceExistsError):
        blobs.create_container("insights-logs-auditlogs")
    audit = new_blob(blobs, store, "insights-logs-auditlogs")  # registered first
    sign_ins = new_blob(blobs, store)
    risk = new_blob(blobs, store, RISK)
    audit.append_block(record(1, "AuditLogs"))
    sign_ins.append_block(record(2))
    risk.append_block(record(3, "UserRiskEvents"))
    order = [c.cursor.container for c in ExportTailer(blobs, store).chunks(DURING, TailReport())]
    # The audit rules need the sign-in's flag first: audits come last within their hour.
    assert order[-1] == "insights-logs-auditlogs"
    assert sorted(order[:-1]) == sorted([SIGNINS, RISK])
