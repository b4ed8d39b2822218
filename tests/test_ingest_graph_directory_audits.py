"""The directoryAudits feed through the real Graph client and job, against the loopback
Graph server: paged, throttled, normalized and cursored like the other feeds."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from detections.model import DirectoryAudit
from service.ingest.graph.cursor import FeedCursor
from service.ingest.sources import SourceReport, normalized
from service.run.job import MainJob
from service.settings import load_settings
from tests.graph_server import Scripted, directory_audit, graph_time, simulated_client

AUDITS = "/v1.0/auditLogs/directoryAudits"
SIGN_INS = "/v1.0/auditLogs/signIns"
T0 = datetime(2024, 6, 20, 5, 0, tzinfo=UTC)


def add_audits(graph_server, count: int, start=T0, step=timedelta(seconds=10)) -> list[dict]:
    made = [directory_audit(i, start + i * step, upn=f"user{i % 7}@contoso.com")
            for i in range(count)]
    graph_server.data[AUDITS].extend(made)
    return made


def test_pages_of_999_follow_the_nextlink_and_move_the_cursor_on_the_last(graph_server, clock):
    made = add_audits(graph_server, 2100)
    cursor = FeedCursor("directoryAudits", T0 - timedelta(days=1))
    run = simulated_client(graph_server, clock).read("directoryAudits", cursor, start=T0)
    pages = list(run)
    assert [len(p.records) for p in pages] == [999, 999, 102]
    assert sorted(r["id"] for p in pages for r in p.records) == sorted(r["id"] for r in made)
    sent = graph_server.requests_to(AUDITS)
    assert sent[0].query == {"$filter": "activityDateTime ge 2024-06-20T05:00:00Z", "$top": "999"}
    assert [r.query.get("$skiptoken") for r in sent] == [None, "999", "1998"]
    newest = graph_time(made[-1]["activityDateTime"])
    # Graph returns audits newest first: the watermark may only move after the last page.
    assert [p.watermark_after for p in pages] == [cursor.watermark, cursor.watermark, newest]
    assert (run.outcome.status, run.outcome.pages, run.outcome.records) == ("complete", 3, 2100)


def test_audits_share_the_reports_limit_with_the_sign_ins(graph_server, clock):
    add_audits(graph_server, 3000)  # 4 pages
    graph_server.data[SIGN_INS].extend(
        {"id": f"si-{i}", "createdDateTime": "2024-06-20T05:10:00Z"} for i in range(2001))  # 3
    client = simulated_client(graph_server, clock)
    assert sum(len(p.records) for p in client.read("signIns", start=T0)) == 2001
    assert sum(len(p.records) for p in client.read("directoryAudits", start=T0)) == 3000
    times = sorted(r.time for r in graph_server.requests if r.path.startswith("/v1.0/auditLogs"))
    assert len(times) == 7
    # 5 requests per 10 s per app for all Identity and access reports together.
    assert all(times[i + 5] - times[i] >= 10.0 for i in range(len(times) - 5))


def test_429_backs_off_and_503_honours_retry_after(graph_server, clock):
    add_audits(graph_server, 3)
    graph_server.script(AUDITS, Scripted(429), Scripted(503, {"Retry-After": "9"}))
    run = simulated_client(graph_server, clock).read("directoryAudits", start=T0)
    assert sum(len(p.records) for p in run) == 3
    sent = graph_server.requests_to(AUDITS)
    assert [r.status for r in sent] == [429, 503, 200]
    gaps = [b.time - a.time for a, b in itertools.pairwise(sent)]
    assert 1.0 <= gaps[0] <= 2.0  # back-off (base 2 s, jitter 0.5-1) when no Retry-After
    assert gaps[1] >= 9.0 and 9.0 in clock.sleeps
    assert (run.outcome.status, run.outcome.retries) == ("complete", 2)


def test_a_forbidden_audit_feed_names_its_permission(graph_server, clock):
    graph_server.forbidden.add(AUDITS)
    run = simulated_client(graph_server, clock).read("directoryAudits", start=T0)
    assert list(run) == []
    assert run.outcome.status == "forbidden"
    assert "AuditLog.Read.All" in run.outcome.message


def test_graph_audit_pages_normalize_to_directory_audits_and_bad_records_are_named():
    good = directory_audit(1, T0, activity="Admin registered security info",
                           upn="bob@contoso.com")
    bad = directory_audit(2, T0, initiatedBy={"user": {"userPrincipalName": ["not", "text"]}})
    report = SourceReport()
    events = normalized([good, bad, 7], "graph:directoryAudits", "directoryAudit", report)
    (event,) = events
    assert isinstance(event, DirectoryAudit)
    assert (event.id, event.activity_display_name, event.principal) == (
        "Directory_00001", "Admin registered security info", "bob@contoso.com")
    assert event.targets[0].user_principal_name == "bob@contoso.com"
    assert event.time == T0 and event.succeeded
    assert report.skipped == 2


@pytest.mark.azurite
def test_the_job_reads_audits_by_default_and_rereads_its_own_look_back(
    storage_connection, table_prefix, graph_server, clock
):
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    graph_server.data[AUDITS] = [directory_audit(i, now - timedelta(minutes=30 - i))
                                 for i in range(3)]
    settings = load_settings({
        "RISKWATCH_STORAGE": storage_connection, "RISKWATCH_TABLE_PREFIX": table_prefix,
        "RISKWATCH_GRAPH_BASE_URL": graph_server.base_url, "RISKWATCH_GRAPH_AUTH": "none",
    })
    assert "directoryAudits" in settings.feeds  # on by default
    job = MainJob(settings, graph=simulated_client(graph_server, clock))
    first = job.run(now)
    assert first.sources.events.get("directoryAudits") == 3
    second = job.run(now + timedelta(minutes=5))
    assert second.sources.events.get("directoryAudits") == 3  # the look-back re-read
    queries = [r.query["$filter"] for r in graph_server.requests_to(AUDITS)]
    # The first run starts its look-back before now; the second the newest audit (11:32)
    # minus the feed's own two hours, not the 48 h of the risk feeds.
    assert queries[0] == "activityDateTime ge 2026-11-02T10:00:00Z"
    assert queries[1] == "activityDateTime ge 2026-11-02T09:32:00Z"
