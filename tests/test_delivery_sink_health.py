"""A sink that keeps failing is announced once per outage through the other sinks."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from detections.model import Severity
from detections.rules import signin_risk_detection
from detections.testing import T0, risk_detection
from service.delivery.deliverer import RetryPolicy
from service.delivery.http import Poster
from service.delivery.sink_health import RULE_ID
from service.delivery.webhook import WebhookSink
from service.run.pipeline import Pipeline
from tests.graph_server import SimulatedClock
from tests.receivers import Receiver, Reply
from tests.support_sinks import make_tables

pytestmark = pytest.mark.azurite
RULE = signin_risk_detection.RULE
RUN_EVERY = timedelta(minutes=5)
UP, DOWN = Reply(200, b""), Reply(503, b"")


def sink(rx: Receiver, name: str, clock: SimulatedClock) -> WebhookSink:
    return WebhookSink(rx.url, name=name, min_severity=Severity.LOW,
                       poster=Poster(name, sleep=clock.sleep))


def notices(rx: Receiver) -> list[dict]:
    return [r.json()["alert"] for r in rx.requests
            if r.json()["alert"]["rule_id"] == RULE_ID]


def pipeline(tables, down: Receiver, backup: Receiver, clock: SimulatedClock) -> Pipeline:
    sinks = [sink(down, "webhook", clock), sink(backup, "backup", clock)]
    seeded = random.Random(1).random  # noqa: S311 - seeded jitter, not crypto
    return Pipeline(tables, sinks, rules=[RULE], retry_policy=RetryPolicy(rng=seeded))


@pytest.fixture
def tables(storage_connection, table_prefix):
    return make_tables(storage_connection, table_prefix)


def test_one_notice_per_outage_reaches_the_other_sink_and_the_summary(tables, clock):
    with Receiver(DOWN) as down, Receiver(UP) as backup:
        pipe = pipeline(tables, down, backup, clock)
        worker2 = pipeline(tables, down, backup, clock)  # another worker on the same state
        pipe.process([risk_detection(id="rd-1", correlation_id="c1", time=T0)], T0)
        failing_from = None
        now = T0
        while now < T0 + timedelta(hours=3):
            now += RUN_EVERY
            report = pipe.deliver(now)
            worker2.deliver(now + timedelta(seconds=1))
            if report.failing and failing_from is None:
                failing_from = now
                assert report.failing["webhook"].startswith(f"since {T0.isoformat()}: HTTP 503")
        assert failing_from is not None and failing_from - T0 == timedelta(hours=1)
        first = notices(backup)
        assert len(first) == 1 and notices(down) == []  # never told about itself
        assert first[0]["context"]["sink"] == "webhook"
        assert first[0]["context"]["pending_alerts"] == 1
        assert "outbox list" in " ".join(first[0]["investigation"])
        assert [r.header("Idempotency-Key") for r in backup.requests].count(
            first[0]["alert_id"]) == 1

        down.default = UP  # back: the outage ends, its alerts go out
        now += RUN_EVERY * 13  # past the 1 h backoff cap
        assert pipe.deliver(now).failing == {}
        assert pipe.deliver(now + RUN_EVERY).failing == {}

        down.default = DOWN  # a second outage gets its own notice, once
        pipe.process([risk_detection(id="rd-2", correlation_id="c2", time=now)], now)
        for _ in range(20):
            now += RUN_EVERY
            pipe.deliver(now)
    again = notices(backup)
    assert len(again) == 2 and again[1]["alert_id"] != first[0]["alert_id"]


def test_a_single_sink_has_nobody_to_tell_but_the_summary(tables, clock):
    with Receiver(DOWN) as down:
        pipe = Pipeline(tables, [sink(down, "webhook", clock)], rules=[RULE])
        pipe.process([risk_detection(id="rd-1", correlation_id="c1", time=T0)], T0)
        report = pipe.deliver(T0 + timedelta(hours=1, minutes=5))
    assert "webhook" in report.failing and report.health_notices == 0
    assert {r["PartitionKey"] for r in pipe.outbox.all_rows()} == {RULE.id}


def test_an_outage_whose_alerts_were_all_dead_lettered_is_over(tables, clock):
    """Nothing waits for the sink any more: it is not reported as failing run after run
    (its dead letters stay in ``outbox list``)."""
    with Receiver(DOWN) as down:
        policy = RetryPolicy(budget=timedelta(hours=2), rng=random.Random(1).random)  # noqa: S311
        pipe = Pipeline(tables, [sink(down, "webhook", clock)], rules=[RULE],
                        retry_policy=policy)
        pipe.process([risk_detection(id="rd-1", correlation_id="c1", time=T0)], T0)
        now, dead, failing = T0, 0, []
        while now < T0 + timedelta(hours=4):
            now += RUN_EVERY
            report = pipe.deliver(now)
            dead += report.dead_lettered
            failing.append(bool(report.failing))
    assert dead == 1
    assert any(failing)  # it was reported while the alert was still held back
    assert not failing[-1]  # and no longer once nothing waits for it
