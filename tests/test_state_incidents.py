"""Open incidents in Table Storage (Azurite): ETag-guarded writes, the outboxed mark,
unreadable rows named, and notifications that always fit one string property."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from detections.incidents.grouping import assemble
from detections.incidents.model import AlertFacts, Evidence, Incident
from detections.model import Severity
from detections.testing import T0, risky_user, sign_in
from service.delivery.webhook import WebhookSink
from service.run.pipeline import Pipeline
from service.state.incidents import (
    INCIDENT_SCHEMA,
    IncidentStateError,
    IncidentStore,
    encode_notification,
    notification,
)
from service.state.tables import row_key_hash
from tests.support_sinks import make_tables, receiver


def facts(alert_id: str = "a1", rule_id: str = "signin_risk_detection") -> AlertFacts:
    return AlertFacts(alert_id=alert_id, rule_id=rule_id, severity="high", first_seen=T0,
                      last_seen=T0, count=1, event_ids=("e1",))


def incident(principal: str = "alice@contoso.com", *alerts: AlertFacts) -> Incident:
    return assemble(None, "user", principal, alerts or (facts(),), [])


@pytest.mark.azurite
def test_a_write_over_a_stale_etag_is_refused_and_the_row_kept(storage_connection, table_prefix):
    store = IncidentStore(make_tables(storage_connection, table_prefix))
    first = store.put(None, incident(), outboxed=False)
    assert first is not None and store.put(None, incident(), outboxed=False) is None  # exists
    grown = assemble(first.incident, "user", first.incident.principal,
                     (facts(), facts("a2", "user_risk_detection")), [])
    moved = store.put(first, grown, outboxed=False)
    assert moved is not None and moved.incident.revision == 2
    assert store.put(first, incident(), outboxed=True) is None  # first's ETag is stale
    assert store.get("user", "alice@contoso.com") == moved


@pytest.mark.azurite
def test_the_outboxed_mark_only_lands_on_the_revision_it_names(storage_connection, table_prefix):
    store = IncidentStore(make_tables(storage_connection, table_prefix))
    old = store.put(None, incident(), outboxed=False)
    assert old is not None and [s.incident.revision for s in store.unoutboxed()] == [1]
    grown = assemble(old.incident, "user", old.incident.principal,
                     (facts(), facts("a2", "user_risk_detection")), [])
    new = store.put(old, grown, outboxed=False)
    assert new is not None
    store.mark_outboxed(old)  # revision 1 was told; revision 2 is not yet
    assert [s.incident.revision for s in store.unoutboxed()] == [2]
    store.mark_outboxed(new)
    assert list(store.unoutboxed()) == []


@pytest.mark.azurite
def test_an_unreadable_row_is_named(storage_connection, table_prefix):
    tables = make_tables(storage_connection, table_prefix)
    store = IncidentStore(tables)
    store.table.create_entity({"PartitionKey": "user", "RowKey": row_key_hash("bob"),
                               "outboxed": False, "n": 1, "d0": '{"revision": 1}'})
    with pytest.raises(IncidentStateError, match=r"incidents/user/.*unreadable incident state"):
        store.get("user", "bob")


@pytest.mark.parametrize("filler", ["x", "\u00e9", "\U0001f600"])  # 1, 6 and 12 JSON chars
def test_a_huge_incident_still_fits_one_property_as_json(filler: str) -> None:
    hostile = "\u202e" + filler * 5_000  # attacker-sized text, escaped by json.dumps
    many = tuple(facts(f"a{i}", f"rule_{i % 7}") for i in range(400))
    evidence = [Evidence(time=T0 + timedelta(minutes=i), kind="signin", event_id=f"s{i}",
                         summary=hostile, ip=f"198.51.100.{i % 250}", result="success")
                for i in range(300)]
    big = assemble(None, "user", hostile, many, evidence)
    payload = notification(big, [{"title": "Risky users", "url": "https://x.example/"}])
    assert len(json.dumps(payload)) > 32_000
    text = encode_notification(payload)
    decoded = json.loads(text)
    assert len(text) <= 32_000 and decoded["schema"] == INCIDENT_SCHEMA
    assert decoded["id"] == f"{big.incident_id}:1"
    assert decoded["incident"]["verdict"] == big.verdict and decoded["incident"]["truncated"]


def test_a_small_incident_is_encoded_whole() -> None:
    small = incident()
    payload = notification(small, [])
    assert json.loads(encode_notification(payload)) == payload


def _risky(user: str, at: timedelta) -> list:
    who = {"user_principal_name": f"{user}@contoso.com", "user_id": f"u-{user}"}
    return [sign_in(id=f"risky-{user}", time=T0 + at, **who, risk_level_during_sign_in="high",
                    risk_level_aggregated="high", risk_state="atRisk", risk_detail="none",
                    authentication_requirement="singleFactorAuthentication")]


def test_sweep_deletes_closed_and_quiet_incident_rows_and_keeps_the_open_ones(
    storage_connection, table_prefix
):
    tables = make_tables(storage_connection, table_prefix)
    with receiver() as rx:
        pipe = Pipeline(tables, [WebhookSink(rx.url, min_severity=Severity.LOW)],
                        notify="incidents", incident_quiet=timedelta(days=7))
        pipe.process(_risky("quiet", timedelta(0)), T0)  # quiet for 10 days by the sweep
        pipe.process([*_risky("closed", timedelta(days=9)),
                      risky_user(id="u-closed", time=T0 + timedelta(days=9, minutes=5),
                                 user_principal_name="closed@contoso.com",
                                 risk_state="dismissed")], T0 + timedelta(days=9))
        pipe.process(_risky("open", timedelta(days=9)), T0 + timedelta(days=9))
        store = IncidentStore(tables)
        assert all(store.get("user", f"{u}@contoso.com") for u in ("quiet", "closed", "open"))
        report = pipe.sweep(T0 + timedelta(days=10))
        assert report.incidents == 1
        assert store.get("user", "quiet@contoso.com") is None  # 10 days > 7 quiet + 2 grace
        # Closed a day ago: kept while its alerts' claims can still take a repeat.
        assert store.get("user", "closed@contoso.com") is not None
        later = pipe.sweep(T0 + timedelta(days=11, hours=12))
    assert later.incidents == 1
    assert store.get("user", "closed@contoso.com") is None  # closed over 2 days ago
    assert store.get("user", "open@contoso.com") is not None
    assert pipe.sweep(T0 + timedelta(days=11, hours=12)).incidents == 0


def test_the_last_resort_encoding_fits_even_when_every_text_is_escaped_twelvefold() -> None:
    """Reasons and principal of non-ASCII text: json.dumps writes each astral character as
    two \\uXXXX escapes, so capping by characters alone is not enough."""
    emoji = "\U0001f600" * 3_000
    big = incident().to_dict()
    big.update(principal=emoji, reasons=[{"text": emoji, "effect": "raises", "rule_id": "r",
                                          "event_ids": []}] * 10)
    payload = {"schema": INCIDENT_SCHEMA, "id": "i:1", "incident": big, "links": []}
    text = encode_notification(payload)
    decoded = json.loads(text)
    assert len(text) <= 32_000
    assert decoded["id"] == "i:1" and decoded["incident"]["verdict"] == big["verdict"]
