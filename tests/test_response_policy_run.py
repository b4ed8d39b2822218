"""The policy over Table Storage as the timer runs it: plan writes proposals once and calls
nothing; enforce acts once per (incident, action); an fp label drives a dismissal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from azure.data.tables import TableServiceClient, UpdateMode
from azure.storage.blob import BlobServiceClient

from detections.response.policy import Exclusions
from service.ingest.graph.throttle import Backoff
from service.response.bundles import EvidenceStore
from service.response.executor import Responder
from service.response.graph_actions import GraphActions
from service.response.policy_run import run_policy
from service.state.audit import AuditLog
from service.state.incidents import IncidentStore
from service.state.labels import LabelStore
from service.state.tables import Tables, row_key_hash
from tests.graph_actions_server import GraphActionsServer
from tests.graph_server import SimulatedClock
from tests.test_response_policy import incident_of

pytestmark = pytest.mark.azurite
INCIDENT = incident_of("leakedCredentials")
NOW = INCIDENT.last_seen + timedelta(minutes=5)
LATER = NOW + timedelta(hours=1)
ALICE = ("user", INCIDENT.principal)  # the incident's row key: (principal type, principal)


@pytest.fixture
def tables(storage_connection: str, table_prefix: str) -> Tables:
    made = Tables(TableServiceClient.from_connection_string(storage_connection), table_prefix)
    IncidentStore(made).put(None, INCIDENT, outboxed=True)
    return made


@pytest.fixture
def evidence(storage_connection: str) -> EvidenceStore:
    container = BlobServiceClient.from_connection_string(storage_connection) \
        .get_container_client("ev" + uuid.uuid4().hex[:12])  # fmt: skip
    container.create_container()
    store = EvidenceStore(container)
    store.write(INCIDENT, [], [], NOW)
    return store


@pytest.fixture
def server(clock: SimulatedClock) -> Iterator[GraphActionsServer]:
    with GraphActionsServer(clock.time) as running:
        running.add_user("u-alice", "alice@contoso.com")
        yield running


def responder(tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
              clock: SimulatedClock, graph: bool = True) -> Responder:
    actions = GraphActions(server.base_url, lambda: None, clock=clock.time, sleep=clock.sleep,
                           backoff=Backoff(base=1.0, cap=2.0)) if graph else None
    return Responder(tables, evidence, actions, Exclusions())


def test_plan_proposes_once_per_revision_and_calls_nothing(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    run = responder(tables, evidence, server, clock, graph=False)
    first = run_policy(tables, run, "plan", [ALICE], NOW,
                       user_ids={"alice@contoso.com": "u-alice"})
    again = run_policy(tables, run, "plan", [ALICE], NOW + timedelta(minutes=5))
    assert (first.proposed, again.proposed) == (2, 0)
    records = AuditLog(tables).records()
    assert sorted((r.action, r.outcome, r.policy_rule) for r in records) == [
        ("confirm-compromised", "proposed", "high_token_theft"),
        ("revoke", "proposed", "high_token_theft")]
    assert all(r.evidence_prefix for r in records) and server.asked == []


def test_enforce_acts_once_and_off_does_nothing(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    run = responder(tables, evidence, server, clock)
    assert run_policy(tables, run, "off", [ALICE], NOW).done == 0
    assert server.asked == []
    first = run_policy(tables, run, "enforce", [ALICE], NOW,
                       user_ids={"alice@contoso.com": "u-alice"})
    again = run_policy(tables, run, "enforce", [ALICE], NOW + timedelta(hours=1),
                       user_ids={"alice@contoso.com": "u-alice"})
    assert (first.done, first.failed, again.done) == (2, [], 0)
    assert [a.path for a in server.calls()] == [
        "/v1.0/users/u-alice/revokeSignInSessions",
        "/v1.0/identityProtection/riskyUsers/confirmCompromised"]
    assert {r.outcome for r in AuditLog(tables).records()} == {"done"}


def test_an_fp_label_drives_a_dismissal_on_the_next_run(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    LabelStore(tables).add(INCIDENT.incident_id, "fp", NOW, by="ana", note="travel")
    run = responder(tables, evidence, server, clock)
    report = run_policy(tables, run, "enforce", [], NOW, user_ids={})
    assert report.done == 0 and len(report.failed) == 1  # no object id on record: not sent
    assert "object id" in report.failed[0] and server.calls() == []
    other = incident_of("leakedCredentials")
    assert other.incident_id == INCIDENT.incident_id
    plan = run_policy(tables, responder(tables, evidence, server, clock, graph=False), "plan",
                      [], NOW)
    assert plan.proposed == 1
    assert [r.action for r in AuditLog(tables).records() if r.outcome == "proposed"] == [
        "dismiss"]


def test_a_settled_dismissal_is_not_read_again_and_a_broken_row_stops_nothing(
        tables: Tables, evidence: EvidenceStore, server: GraphActionsServer,
        clock: SimulatedClock) -> None:
    LabelStore(tables).add(INCIDENT.incident_id, "fp", NOW, by="ana", note="travel")
    run = responder(tables, evidence, server, clock)
    done = run_policy(tables, run, "enforce", [], NOW, user_ids={INCIDENT.principal: "u-alice"})
    assert (done.done, done.failed) == (1, [])
    # Alice's row turns unreadable: her dismissal is settled, so the fp label is not read.
    IncidentStore(tables).table.upsert_entity({
        "PartitionKey": "user", "RowKey": row_key_hash(INCIDENT.principal), "n": 1,
        "d0": "{not json"}, mode=UpdateMode.MERGE)
    assert run_policy(tables, run, "enforce", [], LATER).failed == []
    # Named as a batch's principal, it is reported, and Bob's incident is still judged.
    bob = replace(incident_of("leakedCredentials"), incident_id="b" * 32,
                  principal="bob@contoso.com")
    IncidentStore(tables).put(None, bob, outboxed=True)
    plan = run_policy(tables, responder(tables, evidence, server, clock, graph=False), "plan",
                      [ALICE, ("user", bob.principal)], LATER)
    (failed,) = plan.failed
    assert "unreadable incident state" in failed and row_key_hash(INCIDENT.principal) in failed
    assert plan.proposed == 2
    assert len(server.calls()) == 1  # the one dismissal
