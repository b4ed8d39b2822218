"""The pipeline end to end on Azurite with a real loopback receiver."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest

from detections.rule import Finding
from detections.rules import signin_risk_detection
from detections.testing import T0, risk_detection
from service.run.pipeline import Pipeline
from service.state.outbox import DEAD, DELIVERED, PENDING, SKIPPED
from service.state.payload import TRUNCATED
from service.state.tables import MAX_STRING_UNITS
from tests.support_sinks import LoopbackSink, make_tables, receiver

pytestmark = pytest.mark.azurite
RULE = signin_risk_detection.RULE


def detections(keys: int, per_key: int, start: int = 0) -> list:
    return [
        risk_detection(id=f"rd-{k}-{i}", correlation_id=f"corr-{k}", time=T0 + timedelta(minutes=i))
        for k in range(start, start + keys)
        for i in range(per_key)
    ]


@pytest.fixture
def tables(storage_connection, table_prefix):
    return make_tables(storage_connection, table_prefix)


def test_first_run_delivers_second_run_sends_nothing(tables):
    with receiver() as rx:
        pipe = Pipeline(tables, [LoopbackSink("webhook", rx.url)], rules=[RULE])
        first = pipe.process(detections(3, 4), T0 + timedelta(hours=1))
        second = pipe.process(detections(3, 4), T0 + timedelta(hours=2))
    assert (first.events, first.matches, first.alerts_raised, first.delivered) == (12, 12, 3, 3)
    assert (second.alerts_raised, second.duplicates_skipped, second.delivered) == (0, 12, 0)
    assert sorted(b["count"] for b in rx.bodies()) == [4, 4, 4]
    assert all(count == 1 for count in rx.keys().values())
    assert {b["alert_id"] for b in rx.bodies()} == set(rx.keys())


def test_sink_down_for_a_while_gets_its_alerts_later(tables):
    with receiver() as rx:
        rx.status, rx.retry_after = 503, "30"
        pipe = Pipeline(tables, [LoopbackSink("webhook", rx.url)], rules=[RULE])
        down = pipe.process(detections(2, 1), T0)
        assert (down.delivered, down.retried, rx.posts) == (0, 2, [])
        too_soon = pipe.deliver(T0 + timedelta(seconds=10))  # Retry-After not yet over
        assert (too_soon.delivered, too_soon.busy) == (0, 2)
        rx.status, rx.retry_after = 200, None
        later = pipe.deliver(T0 + timedelta(hours=1))
    assert later.delivered == 2
    assert len(rx.keys()) == 2


def test_one_failing_sink_never_blocks_another(tables):
    with receiver() as good, receiver() as bad:
        bad.status = 400
        pipe = Pipeline(
            tables,
            [LoopbackSink("broken", bad.url), LoopbackSink("good", good.url)],
            rules=[RULE],
        )
        report = pipe.process(detections(2, 1), T0)
    assert (report.delivered, report.dead_lettered) == (2, 2)
    rows = pipe.outbox.all_rows()
    assert {r["broken_status"] for r in rows} == {DEAD}
    assert {r["broken_reason"] for r in rows} == {"HTTP 400"}
    assert {r["good_status"] for r in rows} == {DELIVERED}
    assert all(r["done"] for r in rows)


def test_sink_below_min_severity_is_skipped(tables):
    from detections.model import Severity

    with receiver() as rx:
        sink = LoopbackSink("critical", rx.url, min_severity=Severity.CRITICAL)
        pipe = Pipeline(tables, [sink], rules=[RULE])  # the rule is HIGH
        report = pipe.process(detections(1, 1), T0)
    assert (report.alerts_raised, report.delivered, rx.posts) == (1, 0, [])
    assert [r["critical_status"] for r in pipe.outbox.all_rows()] == [SKIPPED]


def test_retries_give_up_into_dead_letter(tables):
    from service.delivery.deliverer import RetryPolicy

    with receiver() as rx:
        rx.status = 500
        policy = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=1),
                             budget=timedelta(minutes=2))
        pipe = Pipeline(
            tables, [LoopbackSink("webhook", rx.url)], rules=[RULE], retry_policy=policy
        )
        pipe.process(detections(1, 1), T0)
        assert pipe.outbox.all_rows()[0]["webhook_status"] == PENDING
        pipe.deliver(T0 + timedelta(minutes=1))
        last = pipe.deliver(T0 + timedelta(minutes=2))
    row = pipe.outbox.all_rows()[0]
    assert last.dead_lettered == 1
    assert (row["webhook_status"], row["webhook_attempts"]) == (DEAD, 3)
    assert row["webhook_reason"] == (
        "gave up after 2 min of retries (3 runs, 3 attempts): HTTP 500")


def test_oversized_context_is_truncated_and_says_so(tables):
    def huge(event, ctx):
        return Finding(title="big", context={"blob": "é" * 100_000, "user": event.principal})

    rule = dataclasses.replace(RULE, id="huge_context", match=huge)
    with receiver() as rx:
        pipe = Pipeline(tables, [LoopbackSink("webhook", rx.url)], rules=[rule])
        report = pipe.process(detections(1, 1), T0)
    assert report.delivered == 1
    stored = pipe.outbox.all_rows()[0]["payload"]
    assert len(stored) <= MAX_STRING_UNITS
    body = rx.bodies()[0]
    assert "context cut from" in body["context"][TRUNCATED]
    assert body["context"]["context_preview"].startswith('{"blob": "\\u00e9')
    assert json.loads(stored)["alert_id"] == body["alert_id"]


def test_cap_per_run_raises_one_overflow_summary(tables):
    with receiver() as rx:
        pipe = Pipeline(
            tables, [LoopbackSink("webhook", rx.url)], rules=[RULE], max_alerts_per_run=2
        )
        report = pipe.process(detections(5, 2), T0)
        again = pipe.process([], T0 + timedelta(minutes=5))
    assert (report.alerts_raised, report.suppressed) == (2, 6)
    titles = [b["title"] for b in rx.bodies()]
    overflow = [b for b in rx.bodies() if b["rule_id"] == "riskwatch_overflow"]
    assert len(titles) == 3 and len(overflow) == 1
    assert overflow[0]["count"] == 6
    assert overflow[0]["context"]["suppressed_by_rule"] == {RULE.id: 6}
    assert again.delivered == 0


def test_expired_window_opens_a_new_alert(tables):
    with receiver() as rx:
        pipe = Pipeline(tables, [LoopbackSink("webhook", rx.url)], rules=[RULE])
        pipe.process([risk_detection(id="a", time=T0)], T0)
        late = risk_detection(id="b", time=T0 + RULE.dedup_window + timedelta(minutes=1))
        report = pipe.process([late], late.time)
    assert report.alerts_raised == 1
    assert len(rx.keys()) == 2


def test_disabled_rules_do_not_run(tables):
    pipe = Pipeline(tables, [], disabled_rules=[RULE.id])
    assert RULE.id not in {r.id for r in pipe.rules}
    assert pipe.process(detections(1, 1), T0).alerts_raised == sum(
        1 for r in pipe.rules if r.match(detections(1, 1)[0], _ctx(r)) is not None
    )


def _ctx(rule):
    from detections.correlation_history import History
    from detections.rule import Context

    return Context(history=History(), params=rule.default_params())
