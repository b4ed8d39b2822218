"""The deployed path with poisoned records: files, export blobs and Graph pages.

One poisoned record among good ones (the crash classes of issue 12) is named in the run's
log and counted as skipped; the good records' alerts reach a real webhook receiver, with
state in Azurite. Nothing here is mocked.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from service.ingest.export import registration_for
from service.run.job import MainJob
from service.settings import load_settings
from tests.export_support import new_export_blob
from tests.graph_server import GraphRecords, GraphServer, SimulatedClock, iso, simulated_client
from tests.hostile_records import DEEP, T0, Hostile, good_sign_in, hostile_lines, line
from tests.receivers import Receiver, Reply

pytestmark = pytest.mark.azurite

NOW = T0 + timedelta(hours=1)
SIGN_INS = "/v1.0/auditLogs/signIns"
POISON = ("signIn.ipAddress=object", "signIn.userId=list", "signIn.location.city=object",
          "signIn.deviceDetail.deviceId=boolean", "invalid UTF-8", "lone surrogate in the UPN",
          "a 100,000-deep array as a line", "a deep value in a field",
          "deep JSON inside the status string", "year 9999 with a negative offset",
          "year 0001 with a positive offset")  # fmt: skip


@pytest.fixture
def records(peer_corpus: Path) -> GraphRecords:
    return GraphRecords(peer_corpus)


@pytest.fixture
def webhook():
    with Receiver(Reply(200, b"")) as receiver:
        yield receiver


def poisoned(records: GraphRecords) -> list[Hostile]:
    by_name = {case.name: case for case in hostile_lines(records)}
    return [by_name[name] for name in POISON]


def settings_for(storage: str, prefix: str, graph_url: str, webhook: Receiver, **extra: str):
    return load_settings({
        "RISKWATCH_STORAGE": storage, "RISKWATCH_TABLE_PREFIX": prefix,
        "RISKWATCH_NOTIFY": "alerts",
        "RISKWATCH_GRAPH_BASE_URL": graph_url, "RISKWATCH_GRAPH_AUTH": "none",
        "RISKWATCH_WEBHOOK_URL": webhook.url, "RISKWATCH_WEBHOOK_MIN_SEVERITY": "low",
        **extra,
    })  # fmt: skip


def delivered_event_ids(webhook: Receiver) -> set[str]:
    return {i for r in webhook.requests if r.body for i in r.json()["alert"]["event_ids"]}


def skip_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped ")]


def test_run_once_input_names_each_poisoned_line_and_delivers_the_good_alerts(
    tmp_path, storage_connection, table_prefix, graph_server, clock, webhook, records, caplog
):
    cases = poisoned(records)
    good = [line(good_sign_in(records, n, ipAddress=f"198.51.100.{n}")) for n in (1, 2)]
    path = tmp_path / "signins.jsonl"
    path.write_bytes(b"\n".join([good[0], *(c.line for c in cases), good[1]]) + b"\n")
    settings = settings_for(storage_connection, table_prefix, graph_server.base_url, webhook,
                            RISKWATCH_FEEDS="riskDetections")  # fmt: skip
    caplog.set_level(logging.WARNING, logger="riskwatch.sources")

    report = MainJob(settings, graph=simulated_client(graph_server, clock)).run(NOW, files=[path])

    assert {"good-1", "good-2", "surrogate"} <= delivered_event_ids(webhook)
    kept = sum(c.kept for c in cases)
    assert report.sources.skipped == len(cases) - kept
    logged = skip_logs(caplog)
    for number, case in enumerate(cases, start=2):
        if not case.kept:
            assert any(m.startswith(f"skipped {path}:{number}") for m in logged), case.name
    assert report.run.delivered == report.run.alerts_raised > 0


def diagnostic(record: dict[str, Any] | bytes) -> bytes:
    props = record if isinstance(record, bytes) else line(record)
    return (b'{"time": "%s", "category": "SignInLogs", "operationName": "Sign-in activity", '
            b'"resultType": "0", "properties": %s}\n' % (iso(T0).encode(), props))  # fmt: skip


def test_an_export_blob_with_poisoned_lines_keeps_its_good_lines(
    storage_connection, table_prefix, graph_server, clock, webhook, records, caplog
):
    name, blob = new_export_blob(storage_connection)
    sign_in = good_sign_in(records, 3)
    body = (diagnostic(good_sign_in(records, 1, ipAddress="198.51.100.1"))
            + diagnostic(dict(sign_in, ipAddress={"a": 1}, id="bad-ip"))
            + diagnostic(line(sign_in).replace(b"Graph explorer", b"Graph \xff"))
            + diagnostic(b"[" * DEEP + b"]" * DEEP)
            + diagnostic(dict(sign_in, createdDateTime="9999-12-31T23:00:00-05:00"))
            + b"\f" + diagnostic(good_sign_in(records, 2, ipAddress="198.51.100.2")))  # fmt: skip
    blob.append_block(body)
    settings = settings_for(storage_connection, table_prefix, graph_server.base_url, webhook,
                            RISKWATCH_FEEDS="riskDetections",
                            RISKWATCH_EXPORT_STORAGE=storage_connection)  # fmt: skip
    job = MainJob(settings, graph=simulated_client(graph_server, clock))
    assert job.register_blob(registration_for("insights-logs-signinlogs", name))
    caplog.set_level(logging.WARNING, logger="riskwatch.sources")

    report = job.run(T0 + timedelta(minutes=30))

    assert report.sources.events.get("export") == 2
    assert {"good-1", "good-2"} <= delivered_event_ids(webhook)
    assert report.sources.problems == []  # the blob is read, its offset moves on
    logged = skip_logs(caplog)
    source = f"insights-logs-signinlogs/{name}"
    for number, text in ((2, "properties.ipAddress"), (3, "not valid UTF-8"),
                         (4, "nested too deeply"), (5, "properties.createdDateTime")):  # fmt: skip
        assert any(m.startswith(f"skipped {source}:{number}") and text in m for m in logged)


class RawPageGraph(GraphServer):
    """The loopback Graph server, answering the sign-in feed with raw page bytes."""

    def __init__(self, clock: Any, page: bytes) -> None:
        super().__init__(clock)
        self.page = page

    def _page(self, path: str, raw_query: str, query: dict[str, str]) -> tuple[int, bytes]:
        if path == SIGN_INS:
            return 200, self.page
        return super()._page(path, raw_query, query)


def test_a_graph_page_with_poisoned_records_delivers_the_good_ones(
    storage_connection, table_prefix, webhook, records, caplog
):
    good = [good_sign_in(records, n, ipAddress=f"198.51.100.{n}") for n in (1, 2)]
    bad = good_sign_in(records, 3)
    poison = [
        line(dict(bad, id="bad-ip", ipAddress=["x"])),
        line(dict(bad, id="future", createdDateTime="9999-12-31T23:00:00-05:00")),
        b'{"id": "deep", "extra": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        line(bad).replace(b"Graph explorer", b"Graph \xff").replace(b"good-3", b"latin"),
        b"42",
    ]
    context = b'"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns"'
    listed = b", ".join([line(good[0]), *poison, line(good[1])])
    page = b'{"@odata.context": ' + context + b', "value": [' + listed + b"]}"
    clock = SimulatedClock()
    caplog.set_level(logging.WARNING, logger="riskwatch.sources")
    with RawPageGraph(clock.time, page) as server:
        settings = settings_for(storage_connection, table_prefix, server.base_url, webhook,
                                RISKWATCH_FEEDS="signIns")  # fmt: skip
        job = MainJob(settings, graph=simulated_client(server, clock))
        report = job.run(NOW)
        second = job.run(NOW + timedelta(minutes=5))

    assert {"good-1", "good-2", "latin"} <= delivered_event_ids(webhook)
    assert report.sources.events == {"signIns": 3}  # good-1, good-2 and the U+FFFD one
    assert report.sources.skipped == 4 and report.sources.problems == []
    logged = " ".join(skip_logs(caplog))
    for text in ("'ipAddress'", "'createdDateTime'", "nested too deeply", "not a JSON object"):
        assert text in logged
    # The year-9999 record never became the watermark: the next run asks from the newest
    # good record (09:03) minus the two-hour sign-in look-back, not from the year 9999.
    queries = [r.query["$filter"] for r in server.requests_to(SIGN_INS)]
    start = T0 + timedelta(minutes=3) - timedelta(hours=2)
    assert queries[-1] == f"createdDateTime ge {start:%Y-%m-%dT%H:%M:%SZ}"
    assert second.sources.problems == []
