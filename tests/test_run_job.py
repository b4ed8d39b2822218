"""The main job end to end: the loopback Graph server, Azurite state, a webhook receiver."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from service.ingest.export import registration_for
from service.run.job import MainJob
from service.settings import load_settings
from service.state.audit import AuditLog
from tests.export_support import new_export_blob
from tests.graph_actions_server import GraphActionsServer
from tests.graph_server import GraphRecords, risky_user, simulated_client
from tests.receivers import Receiver, Reply

pytestmark = pytest.mark.azurite

DETECTIONS = "/v1.0/identityProtection/riskDetections"
RISKY_USERS = "/v1.0/identityProtection/riskyUsers"
SIGN_INS = "/v1.0/auditLogs/signIns"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def webhook():
    with Receiver(Reply(200, b"")) as receiver:
        yield receiver


def make_job(storage_connection, table_prefix, graph_server, clock, webhook, feeds: str) -> MainJob:
    settings = load_settings(
        {
            "RISKWATCH_STORAGE": storage_connection, "RISKWATCH_NOTIFY": "alerts",
            "RISKWATCH_TABLE_PREFIX": table_prefix,
            "RISKWATCH_GRAPH_BASE_URL": graph_server.base_url,
            "RISKWATCH_GRAPH_AUTH": "none",
            "RISKWATCH_FEEDS": feeds,
            "RISKWATCH_WEBHOOK_URL": webhook.url,
            "RISKWATCH_WEBHOOK_MIN_SEVERITY": "low",
        }
    )
    client = simulated_client(graph_server, clock)
    return MainJob(settings, graph=client)


def test_feeds_to_webhook_once_and_cursor_reread_raises_nothing_again(
    storage_connection, table_prefix, graph_server, clock, webhook, peer_corpus
):
    records = GraphRecords(peer_corpus)
    graph_server.data[DETECTIONS] = [
        records.risk_detection(1, NOW - timedelta(hours=1), riskEventType="anomalousToken",
                               userPrincipalName="victim@contoso.com"),
        records.risk_detection(2, NOW - timedelta(hours=2), riskState="dismissed"),
    ]
    graph_server.data[RISKY_USERS] = [risky_user(1, NOW - timedelta(minutes=30))]
    graph_server.data[SIGN_INS] = [
        records.sign_in(1, NOW - timedelta(minutes=10), riskLevelDuringSignIn="high",
                        riskLevelAggregated="high", riskState="atRisk", riskDetail="none"),
    ]
    job = make_job(storage_connection, table_prefix, graph_server, clock, webhook,
                   "riskDetections,riskyUsers,signIns")

    first = job.run(NOW)
    assert first.sources.events == {"riskDetections": 2, "riskyUsers": 1, "signIns": 1}
    rule_ids = {r.json()["alert"]["rule_id"] for r in webhook.requests}
    # anomalousToken (open) fires both the sign-in risk and the priority rule; the
    # dismissed detection fires nothing; the risky user and the risky sign-in fire theirs.
    assert {"priority_risk_detection", "signin_risk_detection", "user_risk_detection",
            "high_risk_signin_succeeded"} <= rule_ids
    assert first.run.alerts_raised == len(webhook.requests) == first.run.delivered
    ids = [r.header("Idempotency-Key") for r in webhook.requests]
    assert len(ids) == len(set(ids))

    # The next run re-reads the 48 h look-back: the same events, no new alert, no new post.
    posted = len(webhook.requests)
    second = job.run(NOW + timedelta(minutes=5))
    assert second.sources.events == first.sources.events
    assert second.run.alerts_raised == 0
    assert second.run.duplicates_skipped > 0
    assert len(webhook.requests) == posted
    queries = [r.query["$filter"] for r in graph_server.requests_to(SIGN_INS)]
    # The second query starts at the stored watermark minus the look-back: two hours for
    # sign-ins (they land within minutes), the full 48 h for risk detections (offline ones).
    assert queries[1] == "createdDateTime ge 2026-11-02T09:50:00Z"
    detections = [r.query["$filter"] for r in graph_server.requests_to(DETECTIONS)]
    assert detections[1] == "detectedDateTime ge 2026-10-31T11:00:00Z"
    assert "riskDetections=2" in second.summary()


def test_a_forbidden_feed_is_disabled_and_the_others_still_run(
    storage_connection, table_prefix, graph_server, clock, webhook, peer_corpus
):
    records = GraphRecords(peer_corpus)
    graph_server.forbidden.add(SIGN_INS)
    graph_server.data[DETECTIONS] = [records.risk_detection(1, NOW - timedelta(hours=1))]
    job = make_job(storage_connection, table_prefix, graph_server, clock, webhook,
                   "riskDetections,signIns")
    report = job.run(NOW)
    assert "signIns" in report.sources.disabled
    assert "AuditLog.Read.All" in report.sources.disabled["signIns"]
    assert report.sources.events == {"riskDetections": 1}
    assert report.run.delivered >= 1
    assert "disabled_feeds=signIns" in report.summary()


def test_a_webhook_down_for_a_run_gets_its_alert_on_the_next(
    storage_connection, table_prefix, graph_server, clock, webhook, peer_corpus
):
    records = GraphRecords(peer_corpus)
    graph_server.data[DETECTIONS] = [records.risk_detection(1, NOW - timedelta(hours=1))]
    webhook.default = Reply(503, b"down", {"Retry-After": "0"})
    job = make_job(storage_connection, table_prefix, graph_server, clock, webhook, "riskDetections")
    first = job.run(NOW)
    assert first.run.alerts_raised >= 1 and first.run.delivered == 0 and first.run.retried >= 1
    webhook.default = Reply(200, b"")  # the receiver is back
    second = job.run(NOW + timedelta(hours=1))
    assert second.run.delivered == first.run.alerts_raised
    delivered_ids = {r.header("Idempotency-Key") for r in webhook.requests if r.body}
    assert len(delivered_ids) == first.run.alerts_raised


def diagnostic_sign_in(n: int, **properties: object) -> bytes:
    props = {
        "id": f"exp-{n}", "createdDateTime": f"2026-11-02T09:{n:02d}:00Z",
        "userPrincipalName": "bob@contoso.com", "userId": "u-bob", "ipAddress": "203.0.113.7",
        "status": {"errorCode": 0}, "isInteractive": True, "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none", "riskState": "none", "riskDetail": "none",
        "location": {"city": "Oslo", "countryOrRegion": "NO"},
    }
    props.update(properties)
    record = {"time": f"2026-11-02T09:{n:02d}:05Z", "category": "SignInLogs",
              "operationName": "Sign-in activity", "resultType": "0", "properties": props}
    return (json.dumps(record) + "\n").encode()


def test_the_timer_tails_registered_export_blobs_line_by_line(
    storage_connection, table_prefix, graph_server, clock, webhook
):
    name, blob = new_export_blob(storage_connection)
    settings = load_settings({
        "RISKWATCH_STORAGE": storage_connection, "RISKWATCH_TABLE_PREFIX": table_prefix,
        "RISKWATCH_NOTIFY": "alerts",
        "RISKWATCH_EXPORT_STORAGE": storage_connection,
        "RISKWATCH_GRAPH_BASE_URL": graph_server.base_url,
        "RISKWATCH_GRAPH_AUTH": "none", "RISKWATCH_FEEDS": "riskDetections",
        "RISKWATCH_WEBHOOK_URL": webhook.url, "RISKWATCH_WEBHOOK_MIN_SEVERITY": "low",
    })
    job = MainJob(settings, graph=simulated_client(graph_server, clock))
    assert job.register_blob(registration_for("insights-logs-signinlogs", name))
    risky = {"riskLevelDuringSignIn": "high", "riskState": "atRisk"}
    blob.append_block(diagnostic_sign_in(1) + diagnostic_sign_in(2, **risky)
                      + diagnostic_sign_in(3)[:40])  # the third line is still being written
    first = job.run(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    assert first.sources.events.get("export") == 2
    assert {r.json()["alert"]["rule_id"] for r in webhook.requests} >= {
        "high_risk_signin_succeeded"}
    blob.append_block(diagnostic_sign_in(3)[40:] + diagnostic_sign_in(4))
    second = job.run(datetime(2026, 11, 2, 9, 35, tzinfo=UTC))
    assert second.sources.events.get("export") == 2  # lines 3 and 4, each exactly once
    assert second.run.alerts_raised == 0


def test_a_warm_worker_builds_a_fresh_graph_client_every_run(
    storage_connection, table_prefix, graph_server, webhook, peer_corpus
):
    """The run budget's deadline and the 403-disabled feeds belong to one run, not to the
    worker process that keeps the job between timer runs."""
    records = GraphRecords(peer_corpus)
    graph_server.data[SIGN_INS] = [records.sign_in(1, NOW - timedelta(minutes=10))]
    graph_server.forbidden.add(SIGN_INS)
    settings = load_settings({
        "RISKWATCH_STORAGE": storage_connection, "RISKWATCH_TABLE_PREFIX": table_prefix,
        "RISKWATCH_NOTIFY": "alerts",
        "RISKWATCH_GRAPH_BASE_URL": graph_server.base_url, "RISKWATCH_GRAPH_AUTH": "none",
        "RISKWATCH_FEEDS": "signIns", "RISKWATCH_RUN_BUDGET_SECONDS": "60",
    })
    job = MainJob(settings, sinks=[])
    first = job.run(NOW)
    assert "signIns" in first.sources.disabled
    client = job.parts.graph
    graph_server.forbidden.clear()  # the administrator granted AuditLog.Read.All
    second = job.run(NOW + timedelta(minutes=5))
    assert job.parts.graph is not client
    assert second.sources.disabled == {}
    assert second.sources.events == {"signIns": 1}


def test_a_refused_directory_read_is_a_named_riskwatch_error_and_the_run_goes_on(
    storage_connection, table_prefix, graph_server, clock, webhook, peer_corpus
):
    records = GraphRecords(peer_corpus)
    graph_server.forbidden.add("/v1.0/roleManagement/directory/roleAssignments")
    graph_server.data[DETECTIONS] = [records.risk_detection(1, NOW - timedelta(hours=1))]
    job = make_job(storage_connection, table_prefix, graph_server, clock, webhook,
                   "riskDetections,directoryRoles")
    report = job.run(NOW)
    assert "RoleManagement.Read.Directory" in report.sources.disabled["directoryRoles"]
    (problem,) = report.sources.problems
    assert problem.startswith("directoryRoles: DirectoryReadError: Graph roleAssignments: "
                              "read forbidden")
    assert report.run.delivered >= 1


@pytest.fixture
def actions():
    """The loopback Graph of the response actions (the reads stay on ``graph_server``)."""
    with GraphActionsServer() as server:
        server.add_user(VICTIM_ID, VICTIM)
        yield server


VICTIM, VICTIM_ID = "victim@contoso.com", "6f1d3c2a-0b7e-4d1a-9c3e-2a4b6c8d0e1f"


def stolen_credentials(graph_server, records: GraphRecords) -> None:
    """A high incident with leaked credentials: the policy's high_token_theft case."""
    who = {"userPrincipalName": VICTIM, "userId": VICTIM_ID}
    graph_server.data[DETECTIONS] = [records.risk_detection(
        1, NOW - timedelta(hours=1), riskEventType="leakedCredentials", riskLevel="high",
        riskDetail="none", **who)]
    graph_server.data[RISKY_USERS] = [risky_user(
        1, NOW - timedelta(minutes=30), id=VICTIM_ID, userPrincipalName=VICTIM)]
    graph_server.data[SIGN_INS] = [records.sign_in(
        1, NOW - timedelta(minutes=10), riskLevelDuringSignIn="high", riskLevelAggregated="high",
        riskState="atRisk", riskDetail="none", **who)]


def response_job(storage_connection, table_prefix, graph_server, actions, clock, webhook,
                 mode: str, **more: str) -> MainJob:
    settings = load_settings({
        "RISKWATCH_STORAGE": storage_connection, "RISKWATCH_TABLE_PREFIX": table_prefix,
        "RISKWATCH_GRAPH_BASE_URL": actions.base_url, "RISKWATCH_GRAPH_AUTH": "none",
        "RISKWATCH_FEEDS": "riskDetections,riskyUsers,signIns",
        "RISKWATCH_WEBHOOK_URL": webhook.url, "RISKWATCH_WEBHOOK_MIN_SEVERITY": "low",
        "RISKWATCH_RESPONSE_MODE": mode,
        "RISKWATCH_EVIDENCE_CONTAINER": "ev" + uuid.uuid4().hex[:12], **more,
    })
    return MainJob(settings, graph=simulated_client(graph_server, clock))


def test_the_timer_in_enforce_mode_acts_once_on_a_high_incident_and_never_again(
    storage_connection, table_prefix, graph_server, actions, clock, webhook, peer_corpus
):
    stolen_credentials(graph_server, GraphRecords(peer_corpus))
    job = response_job(storage_connection, table_prefix, graph_server, actions, clock, webhook,
                       "enforce")
    first = job.run(NOW)
    assert (first.response_done, first.response_failures) == (2, [])
    assert [(a.method, a.path, a.body) for a in actions.calls()] == [
        ("POST", f"/v1.0/users/{VICTIM_ID}/revokeSignInSessions", None),
        ("POST", "/v1.0/identityProtection/riskyUsers/confirmCompromised",
         {"userIds": [VICTIM_ID]})]
    assert actions.users[VICTIM_ID].risk_state == "confirmedCompromised"
    records = AuditLog(job.tables).records()
    assert sorted((r.action, r.outcome, r.policy_rule) for r in records) == [
        ("confirm-compromised", "done", "high_token_theft"), ("revoke", "done", "high_token_theft")]
    assert all(r.evidence_prefix and r.graph_request_id for r in records)
    # The notification told what the policy did about this revision.
    (told,) = [r.json() for r in webhook.requests if r.json().get("schema", "").startswith(
        "riskwatch.incident")]
    assert [p["action"] for p in told["incident"]["response"]] == ["revoke", "confirm-compromised"]
    second = job.run(NOW + timedelta(minutes=5))  # the same look-back, read again
    assert (second.response_done, second.response_failures) == (0, [])
    assert len(actions.calls()) == 2 and len(AuditLog(job.tables).records()) == 2


def test_the_policy_runs_once_per_run_after_every_batch(
    storage_connection, table_prefix, graph_server, actions, clock, webhook, peer_corpus
):
    """The feeds' batch opens a high incident, an export blob's batch revises it: plan mode
    proposes for the revision the run ends with, not once per batch."""
    stolen_credentials(graph_server, GraphRecords(peer_corpus))
    graph_server.data[SIGN_INS] = []  # the risky sign-in comes from the export instead
    name, blob = new_export_blob(storage_connection)
    job = response_job(storage_connection, table_prefix, graph_server, actions, clock, webhook,
                       "plan", RISKWATCH_EXPORT_STORAGE=storage_connection)
    assert job.register_blob(registration_for("insights-logs-signinlogs", name))
    blob.append_block(diagnostic_sign_in(
        1, userPrincipalName=VICTIM, userId=VICTIM_ID, riskLevelDuringSignIn="high",
        riskLevelAggregated="high", riskState="atRisk"))
    report = job.run(NOW)
    assert report.sources.events.get("export") == 1
    (revision,) = report.run.incidents.values()
    told = [r.json()["incident"]["revision"] for r in webhook.requests]
    assert revision == 2 and told == [1, 2]  # both revisions told, each high with theft
    assert sorted((r.action, r.revision) for r in AuditLog(job.tables).records()) == [
        ("confirm-compromised", 2), ("revoke", 2)]
    assert report.response_proposed == 2 and actions.asked == []
