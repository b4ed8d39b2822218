"""Retries budgeted by time: a receiver down for hours loses nothing, a day-long outage
dead-letters. Runs every 5 minutes on a simulated clock, Azurite state, a loopback
receiver and the real webhook sink."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from detections.model import Severity
from detections.rules import signin_risk_detection
from detections.testing import T0, risk_detection
from service.delivery.deliverer import RetryPolicy
from service.delivery.http import Poster
from service.delivery.webhook import WebhookSink
from service.run.pipeline import Pipeline
from service.settings import load_settings
from service.state.outbox import DEAD, DELIVERED, PENDING
from tests.graph_server import SimulatedClock
from tests.receivers import Receiver, Reply
from tests.support_sinks import make_tables

RULE = signin_risk_detection.RULE
RUN_EVERY = timedelta(minutes=5)  # the timer's default schedule
DOWN = Reply(503, b"")  # no body: the test receiver answers it in one write, fast


def detections(keys: int) -> list:
    return [risk_detection(id=f"rd-{k}", correlation_id=f"corr-{k}", time=T0) for k in range(keys)]


def webhook(rx: Receiver, clock: SimulatedClock, name: str = "webhook") -> WebhookSink:
    # The real sink and poster; the poster's sleeps between attempts pass instantly.
    return WebhookSink(rx.url, name=name, min_severity=Severity.LOW,
                       poster=Poster(name, sleep=clock.sleep))


def runs(start: datetime, end: datetime, every: timedelta = RUN_EVERY) -> list[datetime]:
    """The timer's schedule: every 5 minutes from ``start`` up to ``end``."""
    times, now = [], start
    while now <= end:
        times.append(now)
        now += every
    return times


def statuses(pipe: Pipeline, sink: str) -> Counter[str]:
    return Counter(str(r[f"{sink}_status"]) for r in pipe.outbox.all_rows()
                   if r["PartitionKey"] == RULE.id)


def keys_after(rx: Receiver, index: int) -> Counter[str]:
    return Counter(str(r.header("Idempotency-Key")) for r in rx.requests[index:])


@pytest.fixture
def tables(storage_connection, table_prefix):
    return make_tables(storage_connection, table_prefix)


@pytest.mark.azurite
def test_a_receiver_down_for_three_hours_gets_every_alert_exactly_once(tables, clock):
    with Receiver(DOWN) as rx:
        # The defaults (24 h budget, 1 h cap) with a seeded jitter.
        policy = RetryPolicy(rng=random.Random(3).random)  # noqa: S311 - not crypto
        pipe = Pipeline(tables, [webhook(rx, clock)], rules=[RULE], retry_policy=policy)
        first = pipe.process(detections(3), T0)
        assert (first.alerts_raised, first.delivered, first.retried) == (3, 0, 3)
        for now in runs(T0 + RUN_EVERY, T0 + timedelta(hours=3)):
            report = pipe.deliver(now)
            assert report.dead_lettered == 0, f"dead-lettered at {now - T0}"
        assert statuses(pipe, "webhook") == {PENDING: 3}
        assert len(rx.requests) > 3 * 4  # it kept trying across runs
        rx.default, back = Reply(200, b"ok"), len(rx.requests)
        delivered_by = None
        for now in runs(T0 + timedelta(hours=3, minutes=5), T0 + timedelta(hours=5)):
            pipe.deliver(now)
            if delivered_by is None and statuses(pipe, "webhook") == {DELIVERED: 3}:
                delivered_by = now
    assert delivered_by is not None
    assert delivered_by - T0 <= timedelta(hours=4, minutes=5)  # backoff is capped at 1 h
    ids = {str(r["RowKey"]) for r in pipe.outbox.all_rows() if r["PartitionKey"] == RULE.id}
    assert keys_after(rx, back) == Counter({alert_id: 1 for alert_id in ids})


@pytest.mark.azurite
def test_a_25_hour_outage_dead_letters_once_the_24_hour_budget_is_spent(tables, clock):
    with Receiver(DOWN) as rx:
        policy = RetryPolicy(rng=random.Random(5).random)  # noqa: S311 - seeded jitter
        pipe = Pipeline(tables, [webhook(rx, clock)], rules=[RULE], retry_policy=policy)
        pipe.process(detections(2), T0)
        dead_at: list[datetime] = []
        # Half-hourly for the first 23 hours (only the time matters, and it keeps the test
        # short), then the real 5-minute schedule across the budget's end.
        schedule = runs(T0 + RUN_EVERY, T0 + timedelta(hours=23), timedelta(minutes=30))
        schedule += runs(T0 + timedelta(hours=23, minutes=5), T0 + timedelta(hours=25))
        for now in schedule:
            dead_at += [now] * pipe.deliver(now).dead_lettered
    assert len(dead_at) == 2
    assert all(T0 + timedelta(hours=24) <= t < T0 + timedelta(hours=24) + RUN_EVERY
               for t in dead_at)
    rows = [r for r in pipe.outbox.all_rows() if r["PartitionKey"] == RULE.id]
    assert {r["webhook_status"] for r in rows} == {DEAD}
    for row in rows:
        assert row["webhook_reason"].startswith("gave up after 24 h of retries (")
        assert row["webhook_reason"].endswith("HTTP 503 (attempts exhausted)")
        assert rx.url not in row["webhook_reason"]


@pytest.mark.azurite
def test_a_permanent_rejection_is_still_dead_at_once(tables, clock):
    with Receiver(Reply(404, b"no such flow")) as rx:
        pipe = Pipeline(tables, [webhook(rx, clock)], rules=[RULE])
        report = pipe.process(detections(1), T0)
    assert (report.dead_lettered, len(rx.requests)) == (1, 1)


@pytest.mark.azurite
def test_the_budget_setting_reaches_the_pipeline(storage_connection, table_prefix):
    settings = load_settings({"RISKWATCH_STORAGE": storage_connection,
                              "RISKWATCH_TABLE_PREFIX": table_prefix,
                              "RISKWATCH_DELIVERY_RETRY_HOURS": "3"})
    assert Pipeline.from_settings(settings).deliverer.policy.budget == timedelta(hours=3)


def test_backoff_doubles_per_failed_run_and_is_capped_at_an_hour():
    policy = RetryPolicy(rng=lambda: 1.0)  # no jitter: the ceiling of each step
    assert [policy.delay(n, None) for n in (1, 2, 3, 7, 8, 500)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 60, 60, 60)]
    low = RetryPolicy(rng=lambda: 0.0)
    assert low.delay(3, None) == timedelta(minutes=2)  # jitter keeps at least half
    assert policy.delay(1, 600.0) == timedelta(minutes=10)  # Retry-After wins when longer


@given(
    failures=st.integers(min_value=1, max_value=10_000),
    elapsed=st.floats(min_value=0, max_value=48 * 3600, allow_nan=False),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=10 * 86400)),
    jitter=st.floats(min_value=0, max_value=1),
)
@example(failures=1, elapsed=24 * 3600 - 1, retry_after=86400.0, jitter=0.0)
@example(failures=1, elapsed=24 * 3600, retry_after=None, jitter=1.0)
def test_the_next_attempt_never_outlives_the_budget_and_never_comes_early(
    failures: int, elapsed: float, retry_after: float | None, jitter: float
):
    policy = RetryPolicy(rng=lambda: jitter)
    now = T0 + timedelta(seconds=elapsed)
    when = policy.next_attempt(T0, failures, now, retry_after)
    if now >= T0 + policy.budget:
        assert when is None
    else:
        assert when is not None and now < when <= T0 + policy.budget
        assert when - now >= min(T0 + policy.budget - now, timedelta(seconds=30))
