"""The real requests-based Graph client against the loopback Graph graph_server."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from service.ingest.graph.auth import make_token_provider
from service.ingest.graph.client import GraphClient
from service.ingest.graph.cursor import FeedCursor, next_query_start
from tests.graph_server import (
    GraphRecords,
    Scripted,
    graph_time,
    risky_user,
    role_assignment,
    simulated_client,
)

DETECTIONS = "/v1.0/identityProtection/riskDetections"
RISKY_USERS = "/v1.0/identityProtection/riskyUsers"
SIGN_INS = "/v1.0/auditLogs/signIns"
BETA_SIGN_INS = "/beta/auditLogs/signIns"
ROLES = "/v1.0/roleManagement/directory/roleAssignments"
T0 = datetime(2024, 6, 20, 5, 0, tzinfo=UTC)


@pytest.fixture
def records(peer_corpus) -> GraphRecords:
    return GraphRecords(peer_corpus)


make_client = simulated_client


def add_detections(graph_server, records, count, start=T0, step=timedelta(minutes=1)) -> list[dict]:
    made = [records.risk_detection(i, start + i * step) for i in range(count)]
    graph_server.data[DETECTIONS].extend(made)
    return made


def test_pages_follow_whole_nextlink_with_time_filter_top_and_prefer(graph_server, clock, records):
    made = add_detections(graph_server, records, 1200)
    start = T0 + timedelta(minutes=100)  # detections 100..1199 qualify: 1100, three pages
    run = make_client(graph_server, clock).read("riskDetections", start=start)
    pages = list(run)

    ids = [r["id"] for page in pages for r in page.records]
    assert ids == [r["id"] for r in made[100:]]
    assert [len(p.records) for p in pages] == [500, 500, 100]
    sent = graph_server.requests_to(DETECTIONS)
    assert sent[0].query == {"$filter": "detectedDateTime ge 2024-06-20T06:40:00Z", "$top": "500"}
    assert "%20ge%20" in sent[0].raw_query  # spaces as %20, never "+"
    # The nextLink is used whole: later requests carry the original filter and a skiptoken.
    assert [r.query.get("$skiptoken") for r in sent] == [None, "500", "1000"]
    assert all(r.query["$filter"] == sent[0].query["$filter"] for r in sent)
    assert all(r.headers.get("Prefer") == "include-unknown-enum-members" for r in sent)
    assert all("Authorization" not in r.headers for r in sent)  # auth "none" on loopback
    assert pages[0].latest == graph_time(made[599]["detectedDateTime"])
    assert (run.outcome.status, run.outcome.pages, run.outcome.records) == ("complete", 3, 1100)


def test_cursor_moves_only_after_the_last_page(graph_server, clock, records):
    made = add_detections(graph_server, records, 700)
    cursor = FeedCursor("riskDetections", T0 - timedelta(days=1))
    pages = list(make_client(graph_server, clock).read("riskDetections", cursor, start=T0))
    assert [p.watermark_after for p in pages] == [
        cursor.watermark,
        graph_time(made[-1]["detectedDateTime"]),
    ]
    assert [p.last for p in pages] == [False, True]


def test_second_run_rereads_lookback_and_sees_late_detections(graph_server, clock, records):
    add_detections(graph_server, records, 10)
    now = T0 + timedelta(hours=1)
    cursor = FeedCursor("riskDetections")
    client = make_client(graph_server, clock)
    for page in client.read("riskDetections", cursor, next_query_start(cursor, now)):
        cursor = cursor.advanced_to(page.watermark_after)
    assert cursor.watermark == T0 + timedelta(minutes=9)
    # An offline detection surfaces late, timed before the watermark: the look-back finds it.
    late = records.risk_detection(99, T0 - timedelta(hours=30))
    graph_server.data[DETECTIONS].append(late)
    later = now + timedelta(hours=1)
    seen = [r["id"] for p in client.read("riskDetections", cursor, next_query_start(cursor, later))
            for r in p.records]
    assert late["id"] in seen and len(seen) == 11


def test_identity_protection_requests_are_paced_one_per_second_across_feeds(
    graph_server, clock, records
):
    add_detections(graph_server, records, 1600)  # 4 pages
    users = graph_server.data[RISKY_USERS]
    users.extend(risky_user(i, T0 + timedelta(seconds=i)) for i in range(1100))
    client = make_client(graph_server, clock)
    for feed in ("riskDetections", "riskyUsers"):
        assert sum(len(p.records) for p in client.read(feed, start=T0)) in (1600, 1100)
    times = sorted(r.time for r in graph_server.requests if r.path.startswith("/v1.0/identityP"))
    assert len(times) == 7
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0  # the tenant-wide 1 request/s, shared by both feeds
    assert max(gaps) < 1.5  # paced, not needlessly slow


def test_sign_in_reports_are_paced_five_per_ten_seconds(graph_server, clock, records):
    # Every sign-in kind shares the reports limit; 2 pages each = 8 requests.
    for kind, path in [("interactiveUser", SIGN_INS)] + [
        (k, BETA_SIGN_INS) for k in ("nonInteractiveUser", "servicePrincipal", "managedIdentity")
    ]:
        graph_server.data[path].extend(
            {"id": f"{kind}-{i}", "createdDateTime": f"2024-06-20T05:{i % 60:02d}:00Z",
             "signInEventTypes": [kind]}
            for i in range(1001)
        )
    client = make_client(graph_server, clock)
    for feed in ("signIns", "nonInteractiveSignIns", "servicePrincipalSignIns",
                 "managedIdentitySignIns"):
        run = client.read(feed, start=T0)
        assert sum(len(p.records) for p in run) == 1001
    sent = [r for r in graph_server.requests if r.path.endswith("/auditLogs/signIns")]
    assert len(sent) == 8
    times = [r.time for r in sent]
    assert all(times[i + 5] - times[i] >= 10.0 for i in range(len(times) - 5))
    assert times[4] - times[0] < 1.0  # the first five go at once: a window, not a fixed gap
    beta = [r for r in sent if r.path == BETA_SIGN_INS]
    assert {r.query["$filter"].split(" and ")[1] for r in beta} == {
        f"signInEventTypes/any(t: t eq '{k}')"
        for k in ("nonInteractiveUser", "servicePrincipal", "managedIdentity")
    }


def test_429_without_retry_after_backs_off_exponentially(graph_server, clock, records):
    add_detections(graph_server, records, 3)
    graph_server.script(DETECTIONS, Scripted(429), Scripted(429), Scripted(429))
    run = make_client(graph_server, clock).read("riskDetections", start=T0)
    assert sum(len(p.records) for p in run) == 3
    times = [r.time for r in graph_server.requests_to(DETECTIONS)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # base 2 s doubling, jitter in [0.5, 1]: [1, 2], [2, 4], [4, 8]
    assert [lo <= g <= hi for g, (lo, hi) in zip(gaps, [(1, 2), (2, 4), (4, 8)], strict=True)] == [
        True, True, True,
    ]
    assert (run.outcome.status, run.outcome.retries, run.outcome.requests) == ("complete", 3, 4)


def test_503_with_retry_after_is_honoured(graph_server, clock, records):
    graph_server.data[SIGN_INS].append(records.sign_in(1, T0))
    graph_server.script(SIGN_INS, Scripted(503, {"Retry-After": "7"}))
    run = make_client(graph_server, clock).read("signIns", start=T0)
    assert [r["id"] for p in run for r in p.records] == ["si-interactiveUser-00001"]
    times = [r.time for r in graph_server.requests_to(SIGN_INS)]
    assert [r.status for r in graph_server.requests_to(SIGN_INS)] == [503, 200]
    assert times[1] - times[0] >= 7.0
    assert 7.0 in clock.sleeps


def test_truncated_page_is_retried_then_reported(graph_server, clock, records):
    made = add_detections(graph_server, records, 600)
    graph_server.script(DETECTIONS, Scripted(truncated=True))
    client = make_client(graph_server, clock)
    run = client.read("riskDetections", start=T0)
    assert [r["id"] for p in run for r in p.records] == [r["id"] for r in made]
    assert run.outcome.retries == 1

    graph_server.script(DETECTIONS, *[Scripted(truncated=True)] * 6)
    broken = client.read("riskDetections", start=T0)
    assert list(broken) == []
    assert broken.outcome.status == "failed"
    assert "invalid JSON" in broken.outcome.message and "6 attempts" in broken.outcome.message


def test_nextlink_loop_stops_without_moving_the_cursor(graph_server, clock, records):
    add_detections(graph_server, records, 1600)
    graph_server.loops.add(DETECTIONS)
    cursor = FeedCursor("riskDetections", T0)
    run = make_client(graph_server, clock).read("riskDetections", cursor, start=T0)
    pages = list(run)
    assert len(pages) == 2 and len(graph_server.requests_to(DETECTIONS)) == 2
    assert run.outcome.status == "loop" and "repeated nextLink" in run.outcome.message
    assert all(p.watermark_after == T0 for p in pages)


def test_nextlink_to_another_host_is_never_followed(graph_server, clock, records):
    add_detections(graph_server, records, 600)
    graph_server.next_base = "http://127.0.0.2:9"
    run = make_client(graph_server, clock).read("riskDetections", start=T0)
    assert len(list(run)) == 1
    assert run.outcome.status == "failed" and "127.0.0.2" in run.outcome.message


def test_403_names_the_permission_and_disables_only_that_feed(graph_server, clock, records, caplog):
    add_detections(graph_server, records, 2)
    graph_server.forbidden.add(RISKY_USERS)
    client = make_client(graph_server, clock)
    denied = client.read("riskyUsers", start=T0)
    assert list(denied) == []
    assert denied.outcome.status == "forbidden"
    assert "IdentityRiskyUser.Read.All" in denied.outcome.message
    assert "IdentityRiskyUser.Read.All" in caplog.text
    again = client.read("riskyUsers", start=T0)
    assert list(again) == [] and again.outcome.status == "forbidden"
    assert len(graph_server.requests_to(RISKY_USERS)) == 1  # disabled for the rest of the run
    assert sum(len(p.records) for p in client.read("riskDetections", start=T0)) == 2


def test_deadline_stops_cleanly_and_reports_where_to_resume(graph_server, clock, records):
    add_detections(graph_server, records, 2000)
    client = GraphClient.with_budget(
        graph_server.base_url, make_token_provider("none", graph_server.base_url), 3.0,
        clock=clock.time, sleep=clock.sleep,
    )
    assert client.transport.deadline == clock.time() + 3.0
    run = client.read("riskDetections", FeedCursor("riskDetections", T0), start=T0)
    pages = list(run)
    assert len(pages) == 2
    assert run.outcome.status == "deadline"
    assert run.outcome.resume_url is not None and "$skiptoken=1000" in run.outcome.resume_url
    assert all(p.watermark_after == T0 for p in pages)
    assert clock.time() <= client.transport.deadline


def test_retry_after_beyond_the_budget_stops_instead_of_sleeping(graph_server, clock, records):
    graph_server.data[SIGN_INS].append(records.sign_in(1, T0))
    graph_server.script(SIGN_INS, Scripted(429, {"Retry-After": "120"}))
    run = make_client(graph_server, clock, deadline=clock.time() + 60).read("signIns", start=T0)
    assert list(run) == []
    assert run.outcome.status == "deadline" and run.outcome.resume_url is not None
    assert 120.0 not in clock.sleeps


def test_token_is_sent_as_bearer(graph_server, clock, records):
    add_detections(graph_server, records, 1)
    client = GraphClient(
        graph_server.base_url, lambda: "tok-123", clock=clock.time, sleep=clock.sleep
    )
    list(client.read("riskDetections", start=T0))
    assert graph_server.requests_to(DETECTIONS)[0].headers["Authorization"] == "Bearer tok-123"


def test_directory_roles_snapshot_expands_principal_and_role(graph_server, clock):
    graph_server.data[ROLES].extend(role_assignment(i) for i in range(3))
    run = make_client(graph_server, clock).read("directoryRoles", start=T0)
    pages = list(run)
    assert [r["roleDefinition"]["displayName"] for r in pages[0].records] == [
        "Global Administrator"
    ] * 3
    assert graph_server.requests_to(ROLES)[0].query == {"$expand": "principal,roleDefinition"}
    assert pages[0].latest is None


def test_non_interactive_feed_reads_only_its_kind_from_beta(graph_server, clock, records):
    graph_server.data[BETA_SIGN_INS].extend(
        [records.sign_in(1, T0, "nonInteractiveUser"), records.sign_in(2, T0, "servicePrincipal")]
    )
    run = make_client(graph_server, clock).read("nonInteractiveSignIns", start=T0)
    assert [r["id"] for p in run for r in p.records] == ["si-nonInteractiveUser-00001"]
