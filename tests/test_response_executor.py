"""Each action exactly once, evidence first, always audited: against Azurite and the
loopback Graph, with a crash injected between every step."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from detections.incidents.model import Incident
from detections.response.policy import Exclusions
from service.ingest.graph.throttle import Backoff
from service.response.bundles import EvidenceStore
from service.response.executor import (
    REDERIVED,
    RETRIED,
    Request,
    Responder,
    ResponseError,
)
from service.response.graph_actions import GraphActions, Target
from service.state.audit import AuditLog
from service.state.response_claims import LEASE, ClaimStore
from service.state.tables import Tables
from tests.graph_actions_server import Canned, GraphActionsServer
from tests.graph_server import SimulatedClock
from tests.test_response_policy import incident_of

pytestmark = pytest.mark.azurite
INCIDENT = incident_of("anomalousToken")
NOW = INCIDENT.last_seen + timedelta(minutes=10)
LATER = NOW + LEASE + timedelta(minutes=1)
POINTS = ("action_evidence", "action_claim", "action_call", "action_outcome", "action_audit")


class Crash(Exception):
    pass


@pytest.fixture
def tables(storage_connection: str, table_prefix: str) -> Tables:
    return Tables(TableServiceClient.from_connection_string(storage_connection), table_prefix)


@pytest.fixture
def evidence(storage_connection: str) -> EvidenceStore:
    blobs = BlobServiceClient.from_connection_string(storage_connection)
    container = blobs.get_container_client("ev" + uuid.uuid4().hex[:12])
    container.create_container()
    return EvidenceStore(container)


@pytest.fixture
def server(clock: SimulatedClock) -> Iterator[GraphActionsServer]:
    with GraphActionsServer(clock.time) as running:
        running.add_user("u-alice", "alice@contoso.com")
        yield running


def graph_of(server: GraphActionsServer, clock: SimulatedClock) -> GraphActions:
    return GraphActions(server.base_url, lambda: None, clock=clock.time, sleep=clock.sleep,
                        backoff=Backoff(base=1.0, cap=4.0), max_attempts=4)


def request(action: str = "confirm-compromised", incident: Incident = INCIDENT,
            reason: str = "policy") -> Request:
    return Request(incident=incident, target=Target(incident.principal, "u-alice"),
                   action=action, actor="riskwatch (app identity)", reason=reason,  # type: ignore[arg-type]
                   policy_rule="high_token_theft", min_revision=incident.revision)


def responder(tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
              clock: SimulatedClock, crash_at: str | None = None,
              exclusions: Exclusions | None = None) -> Responder:
    def hook(point: str) -> None:
        if point == crash_at:
            raise Crash(point)

    return Responder(tables, evidence, graph_of(server, clock), exclusions or Exclusions(),
                     hook=hook)


def test_no_evidence_no_action(tables: Tables, evidence: EvidenceStore,
                               server: GraphActionsServer, clock: SimulatedClock) -> None:
    done = responder(tables, evidence, server, clock).execute(request(), NOW)
    assert done.outcome == "no_evidence" and server.calls() == []
    (record,) = AuditLog(tables).records()
    assert record.outcome == "no_evidence" and "no evidence bundle" in (record.error or "")
    assert ClaimStore(tables).get(INCIDENT.incident_id, "confirm-compromised") is None


def test_an_action_is_taken_once_and_audited_with_its_evidence(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    ref = evidence.write(INCIDENT, [], [], NOW)
    run = responder(tables, evidence, server, clock)
    first = run.execute(request(), NOW)
    again = run.execute(request(), NOW + timedelta(hours=1))
    assert (first.outcome, first.repeated, again.outcome, again.repeated) == (
        "done", False, "done", True)
    assert len(server.calls()) == 1
    (record,) = AuditLog(tables).records()
    assert record.to_dict() == {
        "time": NOW.isoformat(), "actor": "riskwatch (app identity)",
        "action": "confirm-compromised", "target": "alice@contoso.com",
        "incident_id": INCIDENT.incident_id, "revision": INCIDENT.revision,
        "evidence": {"prefix": ref.prefix, "manifest_sha256": ref.manifest_sha256},
        "reason": "policy", "policy_rule": "high_token_theft",
        "graph_request_id": server.calls()[0].request_id, "outcome": "done", "error": None,
    }


def test_a_tampered_bundle_stops_the_action(tables: Tables, evidence: EvidenceStore,
                                            server: GraphActionsServer,
                                            clock: SimulatedClock) -> None:
    ref = evidence.write(INCIDENT, [], [], NOW)
    for blob in evidence.container.list_blobs(name_starts_with=ref.prefix):
        if not blob.name.endswith("manifest.json"):
            evidence.container.get_blob_client(blob.name).upload_blob(b"changed", overwrite=True)
            break
    done = responder(tables, evidence, server, clock).execute(request(), NOW)
    assert done.outcome == "no_evidence" and "does not verify" in (done.record.error or "")  # type: ignore[union-attr]
    assert server.calls() == []


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_any_step_is_finished_once_by_the_next_run(
        point: str, tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    evidence.write(INCIDENT, [], [], NOW)
    with pytest.raises(Crash):
        responder(tables, evidence, server, clock, crash_at=point).execute(request(), NOW)
    called_before = len(server.calls())
    assert called_before == (0 if point in ("action_evidence", "action_claim") else 1)
    # The next run, once the crashed claim's lease ran out: recovery, then the policy again.
    run = responder(tables, evidence, server, clock)
    run.recover(LATER)
    again = run.execute(request(), LATER)
    assert again.outcome == "done"
    # Confirm-compromised is read back: a call that went out is never made twice.
    assert len(server.calls()) == 1
    assert server.users["u-alice"].risk_state == "confirmedCompromised"
    (record,) = AuditLog(tables).records()  # exactly one audit record per action
    assert record.outcome == "done" and record.evidence_prefix
    if point == "action_call":
        assert record.error == REDERIVED  # the interrupted call's outcome, re-derived
    claim = ClaimStore(tables).get(INCIDENT.incident_id, "confirm-compromised")
    assert claim is not None and claim.status == "audited"


def test_an_interrupted_revoke_is_retried_idempotently_and_says_so(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    evidence.write(INCIDENT, [], [], NOW)
    with pytest.raises(Crash):
        responder(tables, evidence, server, clock, crash_at="action_call").execute(
            request("revoke"), NOW)
    run = responder(tables, evidence, server, clock)
    assert [d.outcome for d in run.recover(NOW)] == ["in_progress"]  # its lease still runs
    (done,) = run.recover(LATER)
    assert done.outcome == "done" and done.record is not None
    assert done.record.error == RETRIED
    assert server.users["u-alice"].revoked == 2  # Graph cannot tell: revoked again, harmless
    assert len(AuditLog(tables).records()) == 1


def test_a_gone_user_is_recorded_once_and_never_asked_again(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    evidence.write(INCIDENT, [], [], NOW)
    del server.users["u-alice"]
    run = responder(tables, evidence, server, clock)
    gone = run.execute(request("revoke"), NOW)
    assert gone.outcome == "user_gone"
    for later in (LATER, NOW + timedelta(days=2)):  # neither the policy nor a person retries
        assert run.execute(request("revoke"), later).repeated
        assert run.execute(replace(request("revoke"), policy_rule=None), later).repeated
    assert len(server.calls()) == 1
    assert [r.outcome for r in AuditLog(tables).records()] == ["user_gone"]


def test_a_failed_action_is_retried_by_later_runs_with_backoff_up_to_three_attempts(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    evidence.write(INCIDENT, [], [], NOW)
    server.forbid("/v1.0/users/")
    run = responder(tables, evidence, server, clock)
    first = run.execute(request("revoke"), NOW)
    assert first.outcome == "forbidden" and "User.RevokeSessions.All" in (
        first.record.error or "")  # type: ignore[union-attr]
    # The same run, or one before the back-off ran out: the failure stands, nothing called.
    soon = run.execute(request("revoke"), NOW + timedelta(minutes=5))
    assert (soon.outcome, soon.repeated, len(server.calls())) == ("forbidden", True, 1)
    second = run.execute(request("revoke"), NOW + timedelta(minutes=20))
    assert (second.outcome, second.repeated) == ("forbidden", False)
    assert run.execute(request("revoke"), NOW + timedelta(minutes=50)).repeated  # 1 h back-off
    third = run.execute(request("revoke"), NOW + timedelta(hours=2))
    assert (third.outcome, third.repeated) == ("forbidden", False)
    assert run.execute(request("revoke"), NOW + timedelta(days=3)).repeated  # attempts used up
    assert len(server.calls()) == 3
    claim = ClaimStore(tables).get(INCIDENT.incident_id, "revoke")
    assert claim is not None and (claim.attempt, claim.status) == (3, "audited")
    assert [r.outcome for r in AuditLog(tables).records()] == ["forbidden"] * 3


def test_a_person_may_retry_a_failed_action_at_once_and_done_stays_done(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    evidence.write(INCIDENT, [], [], NOW)
    server.forbid("/v1.0/users/")
    run = responder(tables, evidence, server, clock)
    person = replace(request("disable", reason="confirmed by phone"), actor="ana",
                     policy_rule=None)
    failed = run.execute(person, NOW)
    assert failed.outcome == "forbidden" and "User.EnableDisableAccount.All" in (
        failed.record.error or "")  # type: ignore[union-attr]
    server.forbidden.clear()  # the administrator granted the permission
    done = run.execute(person, NOW + timedelta(minutes=1))
    assert (done.outcome, done.repeated) == ("done", False)
    assert server.users["u-alice"].enabled is False
    assert run.execute(person, NOW + timedelta(minutes=2)).repeated  # done: exactly once
    assert run.execute(request("disable"), NOW + timedelta(days=1)).repeated
    assert len(server.calls()) == 2
    assert [(r.actor, r.outcome) for r in AuditLog(tables).records()] == [
        ("ana", "forbidden"), ("ana", "done")]


def test_throttled_calls_are_retried_within_the_attempts(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    evidence.write(INCIDENT, [], [], NOW)
    server.script("revokeSignInSessions", Canned(429), Canned(503, {"Retry-After": "2"}))
    done = responder(tables, evidence, server, clock).execute(request("revoke"), NOW)
    assert done.outcome == "done" and [a.status for a in server.calls()] == [429, 503, 200]
    assert done.record is not None and done.record.graph_request_id == server.calls()[-1].request_id


def test_an_excluded_account_is_an_error_naming_it(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    evidence.write(INCIDENT, [], [], NOW)
    run = responder(tables, evidence, server, clock,
                    exclusions=Exclusions.of(["Alice@Contoso.com"]))
    with pytest.raises(ResponseError, match=r"alice@contoso\.com"):
        run.execute(request("revoke"), NOW)
    assert server.calls() == [] and AuditLog(tables).records() == []


def test_an_unknown_object_id_is_refused_while_object_ids_are_excluded(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    evidence.write(INCIDENT, [], [], NOW)
    run = responder(tables, evidence, server, clock,
                    exclusions=Exclusions.of(["6f1d3c2a-0b7e-4d1a-9c3e-2a4b6c8d0e1f"]))
    unknown = replace(request("revoke"), target=Target(INCIDENT.principal, None))
    with pytest.raises(ResponseError, match="object id"):
        run.execute(unknown, NOW)
    assert server.calls() == [] and AuditLog(tables).records() == []


def test_a_hostile_reason_and_upn_stay_data(tables: Tables, evidence: EvidenceStore,
                                            server: GraphActionsServer,
                                            clock: SimulatedClock) -> None:
    upn = "<script>alert(1)</script>'\"; DROP TABLE--@contoso.com"
    hostile = replace(INCIDENT, principal=upn)
    server.add_user("u-alice", upn)
    evidence.write(hostile, [], [], NOW)
    reason = "</td><img src=x onerror=alert(1)> *bold* <!channel> \u202e" + "x" * 5000
    done = responder(tables, evidence, server, clock).execute(
        request("revoke", incident=hostile, reason=reason), NOW)
    assert done.outcome == "done"
    (record,) = AuditLog(tables).records()
    assert record.target == upn and record.reason.startswith(reason[:1000])
    assert record.reason.endswith("[truncated]")
