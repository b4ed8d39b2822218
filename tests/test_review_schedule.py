"""The review timer against Azurite, a loopback Graph and loopback receivers: the report lands
in the ``reviews`` container and each sink gets ONE summary per window, whatever reruns."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient

from detections.incidents.model import Evidence
from detections.registry import load_rules
from service.ingest.graph.client import GraphClient
from service.review.schedule import CONTAINER, MAX_READ_ATTEMPTS, ReviewTimer
from service.run.job import configured_sinks
from service.settings import load_settings
from service.state.incidents import IncidentStore
from service.state.storage import table_service
from service.state.tables import Tables
from tests.graph_server import GraphRecords, GraphServer
from tests.receivers import Receiver, Reply
from tests.test_review_accuracy import alert, incident

pytestmark = pytest.mark.azurite
HOSTILE = "<script>x</script>*bold* <!channel>@contoso.com"
MONDAY = datetime(2026, 11, 9, 7, 5, tzinfo=UTC)  # the first tick after Mon 07:00 (UTC zone)


@pytest.fixture
def world(storage_connection, table_prefix, peer_corpus):
    with GraphServer() as graph, Receiver(Reply(200, b"ok")) as slack, Receiver() as hook:
        records = GraphRecords(peer_corpus)
        graph.data["/v1.0/identityProtection/riskDetections"].append(
            records.risk_detection(1, MONDAY - timedelta(days=2), riskLevel="high",
                                   userPrincipalName=HOSTILE))
        graph.data["/v1.0/auditLogs/signIns"].append(
            records.sign_in(1, MONDAY - timedelta(days=1), userPrincipalName=HOSTILE))
        settings = load_settings({
            "RISKWATCH_STORAGE": storage_connection, "RISKWATCH_TABLE_PREFIX": table_prefix,
            "RISKWATCH_GRAPH_BASE_URL": graph.base_url, "RISKWATCH_GRAPH_AUTH": "none",
            "RISKWATCH_FEEDS": "riskDetections,signIns",
            "RISKWATCH_SLACK_WEBHOOK_URL": slack.url, "RISKWATCH_WEBHOOK_URL": hook.url,
            "RISKWATCH_SLACK_MIN_SEVERITY": "critical",  # a report reaches every sink anyway
        })
        tables = Tables(table_service(settings.storage), table_prefix)
        case = incident("inc-hostile", alert("a1", "signin_risk_detection", "det-00001"))
        case = replace(case, principal=HOSTILE, first_seen=MONDAY - timedelta(days=2),
                       last_seen=MONDAY - timedelta(days=2), timeline=(Evidence(
                           time=MONDAY - timedelta(days=2), kind="detection",
                           event_id="det-00001", summary="risk detection", city=HOSTILE),))
        IncidentStore(tables).put(None, case, outboxed=True)
        blobs = BlobServiceClient.from_connection_string(storage_connection)

        def timer() -> ReviewTimer:  # a fresh worker each time: nothing kept in memory
            return ReviewTimer(settings, Tables(table_service(settings.storage), table_prefix),
                               blobs, configured_sinks(settings),
                               lambda: GraphClient(graph.base_url, lambda: None),
                               load_rules())

        yield timer, slack, hook, blobs, graph


def test_one_report_and_one_summary_per_sink_per_window(world):
    timer, slack, hook, blobs, _ = world
    assert timer().tick(MONDAY - timedelta(hours=1)) is not None  # first ever: last week
    slack.requests.clear()
    hook.requests.clear()
    run = timer().tick(MONDAY)
    assert run is not None and run.outboxed and run.users == 1
    assert run.window.until == datetime(2026, 11, 9, 7, 0, tzinfo=UTC)
    names = sorted(b.name for b in blobs.get_container_client(CONTAINER).list_blobs())
    assert "2026-11-02T0700Z_2026-11-09T0700Z/review.html" in names
    stored = json.loads(blobs.get_blob_client(CONTAINER, run.blobs[1]).download_blob().readall())
    assert stored["users"][0]["principal"] == HOSTILE
    assert stored["inventory"]["detections"]["total"] == 1
    # The summary: once to Slack (its minimum is critical), once to the webhook.
    assert len(slack.requests) == 1 and len(hook.requests) == 1
    body = hook.requests[0].json()
    assert body["alert"]["rule_id"] == "riskwatch_review"
    # Its true severity (the high user's verdict), not raised to Slack's minimum.
    assert body["alert"]["severity"] == "high"
    assert body["alert"]["context"]["coverage_gaps"].startswith("2: riskDetections: the app")
    assert run.blobs[0] in body["alert"]["context"]["report"]
    assert HOSTILE in body["alert"]["context"]["top_users"]  # plain JSON string, as received
    text = slack.requests[0].body.decode()
    assert "<!channel>" not in text and "<script>" not in text  # escaped for mrkdwn
    # Reruns of the same window (a crash before the cursor moved, or the next ticks) send
    # nothing again.
    for later in (MONDAY, MONDAY + timedelta(hours=1)):
        timer().tick(later)
    assert len(slack.requests) == 1 and len(hook.requests) == 1


def test_a_crash_before_the_cursor_moved_reruns_the_window_without_sending_twice(world):
    timer, slack, hook, _, _ = world
    timer().tick(MONDAY - timedelta(days=7))
    first = timer().tick(MONDAY)
    assert first is not None and len(hook.requests) == 2
    # Forget the cursor move, as if the worker died right after writing the outbox row.
    reviewer = timer()
    from service.state.cursors import CursorStore

    cursors = CursorStore(reviewer.tables)
    stored = cursors.load("review", "periodic")
    cursors.save("review", "periodic", first.window.since.isoformat(), MONDAY, stored)
    again = reviewer.tick(MONDAY)
    assert again is not None and again.window == first.window and not again.outboxed
    assert len(hook.requests) == 2 and len(slack.requests) == 2


def test_a_quiet_week_reaches_every_sink_at_its_true_severity(world):
    timer, slack, hook, _, _ = world
    run = timer().tick(MONDAY - timedelta(hours=1))  # the week before: nobody flagged
    assert run is not None and run.users == 0 and run.deferred is None
    # Slack's minimum is critical; the summary is a report and reaches it anyway, as
    # informational (it was raised to critical to get there).
    assert len(slack.requests) == 1 and len(hook.requests) == 1
    assert hook.requests[0].json()["alert"]["severity"] == "informational"


def test_a_failed_graph_read_is_retried_then_announced_with_its_gap(world):
    timer, slack, hook, blobs, graph = world
    graph.forbidden.add("/v1.0/auditLogs/signIns")
    container = blobs.get_container_client(CONTAINER)
    window = "2026-11-02T0700Z_2026-11-09T0700Z/"

    def reports() -> list[str]:  # the container is shared by this module's tests
        if not container.exists():
            return []
        return [b.name for b in container.list_blobs(name_starts_with=window)]

    for name in reports():
        container.delete_blob(name)
    for attempt in range(1, MAX_READ_ATTEMPTS):
        run = timer().tick(MONDAY + timedelta(hours=attempt - 1))
        assert run is not None and run.deferred is not None
        assert run.deferred.startswith(f"attempt {attempt} of {MAX_READ_ATTEMPTS}: signIns: "
                                       "Graph read forbidden")
        assert not run.outboxed and run.blobs == ("", "")
    # Nothing stored, nothing announced, the cursor where it was: the window is still due.
    assert reports() == []
    assert slack.requests == [] and hook.requests == []
    first = timer().tick(MONDAY + timedelta(hours=MAX_READ_ATTEMPTS - 1))  # gives up waiting
    assert first is not None and first.deferred is None and first.outboxed
    assert first.window.until - first.window.since == timedelta(days=7)
    assert len(slack.requests) == 1 and len(hook.requests) == 1
    alert = hook.requests[0].json()["alert"]
    assert "signIns: Graph read forbidden" in alert["context"]["coverage_gaps"]
    assert "coverage gap" in alert["title"]
    # The card shows the gaps and still the report's address (a card has eight facts).
    card = slack.requests[0].body.decode()
    assert "Coverage gaps" in card and "Graph read forbidden" in card
    assert first.blobs[0] in card
    stored = json.loads(container.get_blob_client(first.blobs[1]).download_blob().readall())
    assert any(g["why"].startswith("Graph read forbidden") for g in stored["coverage"]["gaps"])
    assert timer().tick(MONDAY + timedelta(hours=MAX_READ_ATTEMPTS)) is None  # cursor moved


def test_a_read_that_recovers_is_announced_once_without_the_gap(world):
    timer, _, hook, _, graph = world
    graph.forbidden.add("/v1.0/auditLogs/signIns")
    assert timer().tick(MONDAY).deferred is not None
    graph.forbidden.clear()
    run = timer().tick(MONDAY + timedelta(hours=1))
    assert run is not None and run.deferred is None and run.outboxed
    assert len(hook.requests) == 1
    assert "Graph read" not in hook.requests[0].json()["alert"]["context"]["coverage_gaps"]
