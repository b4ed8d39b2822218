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
from service.ingest.export.cursors import OffsetError
from service.ingest.sources import SourceReport, export_batches, merged

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


def two_blobs(blobs, store):
    """A risk-events blob (registered first, record 1) and a sign-ins blob (record 2)."""
    risk, sign_ins = new_blob(blobs, store, RISK), new_blob(blobs, store)
    risk.append_block(record(1, "UserRiskEvents"))
    sign_ins.append_block(record(2))
    return risk, sign_ins


def test_failing_handler_keeps_the_offset_and_never_blocks_other_blobs(blobs, store):
    two_blobs(blobs, store)
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


def _lines_of(batches) -> int:
    return sum(len(c.chunk.lines) for b in batches for c in b.commits)


def test_a_runs_chunks_judged_together_read_every_chunk_and_commit_in_order(blobs, store):
    """The job judges a run's export reads as one batch (``merged``): it asks for a blob's
    next chunk before it has committed the last one. Every chunk is still read in the same
    run, the offsets commit in order, and a judgement that fails commits none of them."""
    client = new_blob(blobs, store)
    for n in range(1, 9):
        client.append_block(record(n))
    size = len(record(1))

    def run(report: SourceReport, *, commit: bool) -> list:
        tailer = ExportTailer(blobs, store, max_bytes=2 * size)  # two lines a read
        batches = list(merged(export_batches(tailer, DURING, report)))
        if commit:
            for batch in batches:
                for c in batch.commits:
                    tailer.commit(c.chunk)
        return batches

    assert _lines_of(run(SourceReport(), commit=False)) == 8  # the judgement failed
    assert _lines_of(run(SourceReport(), commit=True)) == 8  # all of them again, once
    client.append_block(record(9))
    assert _lines_of(run(SourceReport(), commit=True)) == 1  # only what is new
    assert _lines_of(run(SourceReport(), commit=True)) == 0


def test_a_chunk_read_ahead_of_one_not_committed_never_moves_the_offset(blobs, store):
    """The run's batches are split (``merged``'s limit) and the first one's judgement fails:
    the second's chunk must not commit past the first's lines."""
    client = new_blob(blobs, store)
    for n in range(1, 7):
        client.append_block(record(n))
    tailer = ExportTailer(blobs, store, max_bytes=2 * len(record(1)))
    first, *rest = list(merged(export_batches(tailer, DURING, SourceReport()), limit=2))
    with pytest.raises(OffsetError):
        tailer.commit(rest[0].commits[0].chunk)
    again = ExportTailer(blobs, store, max_bytes=2 * len(record(1)))
    batches = list(merged(export_batches(again, DURING, SourceReport())))
    assert _lines_of(batches) == 6  # nothing was lost
    assert _lines_of([first]) == 2


def _spent_after(reads: int):
    asked: list[int] = []

    def spent() -> bool:  # the job's clock past its export share after ``reads`` reads
        asked.append(1)
        return len(asked) >= reads

    return spent


def test_reading_stops_when_the_runs_budget_is_spent_and_the_next_run_goes_on(blobs, store):
    client = new_blob(blobs, store)
    for n in range(1, 7):
        client.append_block(record(n))
    size = len(record(1))
    report = SourceReport()
    tailer = ExportTailer(blobs, store, max_bytes=2 * size)
    batches = list(merged(export_batches(tailer, DURING, report, _spent_after(2))))
    assert _lines_of(batches) == 4 and report.incomplete == ["export"]
    for c in batches[0].commits:
        tailer.commit(c.chunk)
    rest = SourceReport()
    tailer = ExportTailer(blobs, store, max_bytes=2 * size)
    assert _lines_of(list(merged(export_batches(tailer, DURING, rest)))) == 2
    assert rest.incomplete == []


def test_a_budget_spent_on_the_last_chunk_leaves_nothing_to_resume(blobs, store):
    client = new_blob(blobs, store)
    for n in range(1, 5):
        client.append_block(record(n))
    report = SourceReport()
    tailer = ExportTailer(blobs, store, max_bytes=2 * len(record(1)))
    batches = list(merged(export_batches(tailer, DURING, report, _spent_after(2))))
    assert _lines_of(batches) == 4
    assert report.incomplete == []  # not "resume_next_run=export": all was read


def test_a_budget_spent_at_one_blobs_end_resumes_the_next_blob(blobs, store):
    two_blobs(blobs, store)
    report = SourceReport()
    tailer = ExportTailer(blobs, store)
    batches = list(merged(export_batches(tailer, DURING, report, _spent_after(1))))
    assert _lines_of(batches) == 1 and report.incomplete == ["export"]
    for c in batches[0].commits:
        tailer.commit(c.chunk)
    rest = SourceReport()
    again = list(merged(export_batches(ExportTailer(blobs, store), DURING, rest)))
    assert _lines_of(again) == 1 and rest.incomplete == []  # the peeked chunk comes again
