"""Outbox rows: idempotent writes, exclusive leases, per-sink status."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detections.model import Severity
from detections.testing import T0
from service.state.outbox import DEAD, DELIVERED, NEVER, PENDING, SKIPPED, Outbox
from tests.support_sinks import LoopbackSink, make_tables

pytestmark = pytest.mark.azurite


@pytest.fixture
def outbox(storage_connection, table_prefix):
    sinks = [
        LoopbackSink("teams", "http://127.0.0.1:9/"),
        LoopbackSink("slack", "http://127.0.0.1:9/", min_severity=Severity.CRITICAL),
    ]
    return Outbox(make_tables(storage_connection, table_prefix), sinks)


def test_write_is_idempotent_and_sets_per_sink_status(outbox):
    assert outbox.write("rule_a", "alert1", '{"alert_id": "alert1"}', Severity.HIGH, T0)
    assert not outbox.write("rule_a", "alert1", '{"alert_id": "other"}', Severity.HIGH, T0)
    row = outbox.get("rule_a", "alert1")
    assert (row["teams_status"], row["slack_status"], row["done"]) == (PENDING, SKIPPED, False)
    assert row["payload"] == '{"alert_id": "alert1"}'


def test_only_one_worker_holds_a_lease(outbox):
    outbox.write("rule_a", "alert1", "{}", Severity.HIGH, T0)
    lease = timedelta(minutes=5)
    assert outbox.lease("rule_a", "alert1", "teams", "w1", T0, lease) is not None
    assert outbox.lease("rule_a", "alert1", "teams", "w2", T0, lease) is None
    assert outbox.lease("rule_a", "alert1", "teams", "w2", T0 + lease * 2, lease) is not None


def test_recording_the_last_pending_sink_finishes_the_row(outbox):
    outbox.write("rule_a", "alert1", "{}", Severity.HIGH, T0)
    assert outbox.record("rule_a", "alert1", "teams", {"status": DELIVERED, "attempts": 1}, T0)
    assert not outbox.record("rule_a", "alert1", "teams", {"status": DELIVERED}, T0)
    row = outbox.get("rule_a", "alert1")
    assert (row["teams_status"], row["done"]) == (DELIVERED, True)
    assert list(outbox.pending()) == []


def test_sink_names_must_be_safe_property_names(storage_connection, table_prefix):
    with pytest.raises(ValueError, match="lowercase"):
        Outbox(make_tables(storage_connection, table_prefix), [LoopbackSink("My-Sink", "x")])


def test_a_notice_about_a_sink_is_never_queued_for_that_sink(outbox):
    outbox.write("rule_a", "alert1", "{}", Severity.CRITICAL, T0, exclude={"teams"})
    row = outbox.get("rule_a", "alert1")
    assert (row["teams_status"], row["slack_status"]) == (SKIPPED, PENDING)
    assert row["teams_reason"] == "a notice about this sink"


def test_requeue_turns_only_a_dead_letter_back_to_pending_with_a_fresh_budget(outbox):
    outbox.write("rule_a", "alert1", "{}", Severity.CRITICAL, T0)
    later = T0 + timedelta(hours=30)
    assert not outbox.requeue("rule_a", "alert1", "teams", later)  # pending, not dead
    outbox.record("rule_a", "alert1", "teams", {"status": DEAD, "reason": "HTTP 410",
                                                "first": T0, "failures": 3}, T0)
    outbox.record("rule_a", "alert1", "slack", {"status": DELIVERED}, T0)
    assert [r["RowKey"] for r in outbox.dead()] == ["alert1"]
    assert not outbox.requeue("rule_a", "alert1", "slack", later)  # delivered stays delivered
    assert outbox.requeue("rule_a", "alert1", "teams", later)
    row = outbox.get("rule_a", "alert1")
    assert (row["teams_status"], row["teams_failures"], row["teams_first"]) == (PENDING, 0, NEVER)
    assert row["teams_next"] == later and row["teams_reason"] == "replayed; was: HTTP 410"
    assert (row["slack_status"], row["done"]) == (DELIVERED, False)
    assert [r["PartitionKey"] for r in outbox.find("alert1")] == ["rule_a"]
    assert list(outbox.dead()) == []
