"""Claims and the event ledger on Azurite: exact counts, windows, batches of 100."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from detections.engine import Engine
from detections.rules import signin_risk_detection
from detections.testing import T0, risk_detection
from service.state.dedup import Budget, DedupStore
from tests.support_sinks import make_tables

pytestmark = pytest.mark.azurite
RULE = signin_risk_detection.RULE


def matches(n: int, start: int = 0, step: timedelta = timedelta(seconds=10)):
    engine = Engine([RULE])
    out = []
    for i in range(start, start + n):
        found, _ = engine.evaluate(risk_detection(id=f"rd-{i}", time=T0 + i * step))
        out += found
    return out


@pytest.fixture
def store(storage_connection, table_prefix):
    return DedupStore(
        make_tables(storage_connection, table_prefix), ledger_retention=timedelta(days=5)
    )


@dataclass
class Recorded:
    counted: int = 0
    duplicates: int = 0
    opened: int = 0
    suppressed: list = field(default_factory=list)


def record(store, ms, budget=None, replaced=None):
    """Drive ``record`` step by step as the pipeline does, without an outbox: opened
    claims stay unoutboxed, and a claim handed over is collected and marked."""
    budget = budget or Budget(10)
    pending, held = store.uncounted(ms)
    result, opened = Recorded(duplicates=held), []
    while pending:
        step = store.record(pending, T0, budget)
        result.counted += step.counted
        result.duplicates += step.duplicates
        result.opened += step.raised
        result.suppressed += step.suppressed
        if step.handover is not None:
            (replaced if replaced is not None else opened).append(step.handover)
            store.mark_outboxed(step.handover)
        if step.opened is not None:
            opened.append(step.opened)
        pending = step.rest
    return result, opened


def test_250_events_of_one_key_count_once_each_in_batches(store):
    result, opened = record(store, matches(250))
    assert (result.counted, result.opened, result.duplicates) == (250, 1, 0)
    claim = store.get(RULE.id, matches(1)[0].dedup_hash)
    assert claim is not None and claim.count == 250
    assert len(opened) == 1 and opened[0].alert_id == claim.alert_id
    assert len(store.counted_events(RULE.id, claim.dedup_hash)) == 250


def test_rereading_overlapping_input_counts_only_new_events(store):
    record(store, matches(10))
    result, opened = record(store, matches(15, start=5))
    assert (result.counted, result.duplicates, result.opened, opened) == (10, 5, 0, [])
    assert store.get(RULE.id, matches(1)[0].dedup_hash).count == 20


def test_events_past_the_window_open_a_new_alert(store):
    hourly = matches(30, step=timedelta(hours=1))  # the rule's window is 24 h
    replaced = []
    result, opened = record(store, hourly, replaced=replaced)
    assert (result.counted, result.opened) == (30, 2)
    assert opened[0].alert_id != opened[1].alert_id
    # The first window was never outboxed here, so it was handed over before the replace.
    assert [c.alert_id for c in replaced] == [opened[0].alert_id]
    latest = store.get(RULE.id, hourly[0].dedup_hash)
    assert (latest.count, latest.first_seen) == (6, T0 + timedelta(hours=24))


def test_budget_suppresses_new_alerts_without_marking_them_counted(store):
    hourly = matches(30, step=timedelta(hours=1))
    result, _ = record(store, hourly, Budget(1))
    assert (result.opened, result.counted, len(result.suppressed)) == (1, 24, 6)
    assert len(store.counted_events(RULE.id, hourly[0].dedup_hash)) == 24


def test_a_later_higher_severity_match_raises_the_claims_severity(store):
    """As ``Alert.absorb`` does in scan, so ``run --json`` and ``scan`` agree."""
    from detections.rules import risk_level_passthrough
    from detections.testing import sign_in

    engine = Engine([risk_level_passthrough.RULE])
    first, _ = engine.evaluate(sign_in(id="si-1", time=T0, risk_level_during_sign_in="medium"))
    later, _ = engine.evaluate(sign_in(id="si-2", time=T0 + timedelta(minutes=5),
                                       risk_level_during_sign_in="high"))
    record(store, first)
    record(store, later)
    claim = store.get(risk_level_passthrough.RULE.id, first[0].dedup_hash)
    assert claim is not None and claim.count == 2
    assert claim.severity.value == "high"
