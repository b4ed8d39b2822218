"""Delivery from the outbox: lease, post, record, per sink and per alert.

A sink that is down keeps its alerts pending and they go out on a later run:
retries are budgeted by TIME since the alert was first attempted for that sink
(``RISKWATCH_DELIVERY_RETRY_HOURS``, 24 h by default), with jittered exponential
backoff between runs capped at an hour, so an outage of a few hours loses
nothing however often the timer runs. Only when the budget is spent, or when the
sink rejects an alert for good, is it dead-lettered with the reason; neither
touches the other sinks. A sink failing for longer than ``report_failing_after``
is announced once through the other sinks (``service.delivery.sink_health``).

The one duplicate left is a crash between a receiver's 2xx and the delivered
mark: the lease then expires and the alert is posted again with the same
``alert_id`` (the Idempotency-Key).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.delivery.base import DeliveryOutcome, DeliveryStatus, Sink
from service.delivery.sink_health import SinkHealth, SinkTally
from service.state.outbox import DEAD, DELIVERED, NEVER, PENDING, Entity, Outbox, status_of

Hook = Callable[[str], None]


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    busy: int = 0  # leased by another worker or not yet due
    deferred: int = 0  # left for the next run: the run's time budget was spent
    by_sink: dict[str, SinkTally] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)  # sink -> since when, and why
    health_notices: int = 0  # "sink failing" notifications written to the outbox

    def tally(self, sink: str) -> SinkTally:
        return self.by_sink.setdefault(sink, SinkTally())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff between runs: base * 2^(n-1) after the n-th failed run, capped, jittered
    (x0.5 to x1); dead once ``budget`` has passed since the first attempt."""

    budget: timedelta = timedelta(hours=24)
    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)
    report_failing_after: timedelta = timedelta(hours=1)
    rng: Callable[[], float] = random.random  # injectable: tests fix the jitter

    def delay(self, failures: int, retry_after: float | None) -> timedelta:
        ramp = min(self.cap, self.base * 2 ** max(0, min(failures - 1, 30)))
        jitter = 0.5 + 0.5 * self.rng()  # spreads a backlog so it does not retry in lockstep
        seconds = max(ramp.total_seconds() * jitter, retry_after or 0.0)
        return timedelta(seconds=seconds)

    def next_attempt(
        self, first: datetime, failures: int, now: datetime, retry_after: float | None
    ) -> datetime | None:
        """When to try again, or None once the budget is spent. The last try lands on the
        budget's end, so an alert is never given up while its budget still runs."""
        give_up_at = first + self.budget
        if now >= give_up_at:
            return None
        return min(now + self.delay(failures, retry_after), give_up_at)


class Deliverer:
    def __init__(
        self,
        outbox: Outbox,
        sinks: Sequence[Sink],
        *,
        owner: str,
        lease_for: timedelta,
        policy: RetryPolicy,
        hook: Hook,
    ) -> None:
        self.outbox = outbox
        self.sinks = tuple(sinks)
        self.owner = owner
        self.lease_for = lease_for
        self.policy = policy
        self.hook = hook
        self.health = SinkHealth(outbox, failing_after=policy.report_failing_after)

    def run(
        self, now: datetime, deadline: float | None = None, *, only: Collection[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> DeliveryReport:
        """Deliver what is due; stop cleanly when ``clock()`` reaches ``deadline``, the rest waits.
        ``only``: alert ids to deliver (``riskwatch outbox retry``), the others wait."""
        report = DeliveryReport()
        if only is None and self.sinks:  # announce sinks failing long enough; deliver that too
            report.health_notices = self.health.announce(now, retry_budget=self.policy.budget)
        for row in self.outbox.pending():
            rule_id, alert_id = row["PartitionKey"], row["RowKey"]
            if only is not None and alert_id not in only:
                continue
            waiting = [s for s in self.sinks if status_of(row, s.name) == PENDING]
            for sink in waiting:
                if row.get(f"{sink.name}_next", NEVER) > now:
                    report.busy += 1  # backing off: no need to ask for a lease
                elif deadline is not None and clock() >= deadline:
                    report.deferred += 1  # the next run delivers it
                else:
                    self._deliver(rule_id, alert_id, sink, now, report)
            if not waiting:  # e.g. its pending sink was removed from the configuration
                self.outbox.close_if_finished(rule_id, alert_id, now)
        if self.sinks:
            report.failing = self.health.observe(report.by_sink, now)
        return report

    def _deliver(
        self, rule_id: str, alert_id: str, sink: Sink, now: datetime, report: DeliveryReport
    ) -> None:
        leased = self.outbox.lease(rule_id, alert_id, sink.name, self.owner, now, self.lease_for)
        if leased is None:
            report.busy += 1
            return
        outcome = _send(sink, json.loads(leased["payload"]))
        self.hook("after_send")
        changes = self._changes(leased, sink.name, outcome, now)
        if not self.outbox.record(rule_id, alert_id, sink.name, changes, now):
            return
        tally = report.tally(sink.name)
        if changes.get("status") == DELIVERED:
            report.delivered += 1
            tally.delivered += outcome.attempts > 0  # a severity skip says nothing of health
        elif changes.get("status") == DEAD:
            report.dead_lettered += 1
            tally.dead += 1
            tally.reason = str(changes["reason"])
        else:
            report.retried += 1
            tally.failed += 1
            tally.reason = outcome.reason

    def _changes(
        self, row: Entity, sink: str, outcome: DeliveryOutcome, now: datetime
    ) -> dict[str, object]:
        attempts = int(row.get(f"{sink}_attempts", 0)) + max(1, outcome.attempts)
        failures = int(row.get(f"{sink}_failures", 0))
        first = first_attempt(row, sink, now)
        changes: dict[str, object] = {"attempts": attempts, "reason": outcome.reason,
                                      "first": first}
        if outcome.status is DeliveryStatus.DELIVERED:
            changes.update(status=DELIVERED, reason="")
        elif outcome.status is DeliveryStatus.DEAD:
            changes.update(status=DEAD, failures=failures + 1)
        else:
            failures += 1
            when = self.policy.next_attempt(first, failures, now, outcome.retry_after)
            changes["failures"] = failures
            if when is None:
                reason = (f"gave up after {duration_text(self.policy.budget)} of retries "
                          f"({failures} runs, {attempts} attempts): {outcome.reason}")
                changes.update(status=DEAD, reason=reason)
            else:
                changes["next"] = when
        return changes


def duration_text(span: timedelta) -> str:
    """``24 h``, ``90 min``: how long a retry budget is, for reasons and notices."""
    minutes = span.total_seconds() / 60
    return f"{minutes / 60:g} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes:g} min"


def first_attempt(row: Entity, sink: str, now: datetime) -> datetime:
    """When ``sink`` first tried the alert: the retry budget runs from there. Rows written
    before the field existed count from their creation."""
    first = row.get(f"{sink}_first")
    if first is None:
        first = row.get("created_at", now)
    return now if first is None or first <= NEVER else first


def _send(sink: Sink, alert: dict[str, object]) -> DeliveryOutcome:
    try:
        return sink.send(alert)
    except Exception as exc:  # noqa: BLE001 - one failing sink never blocks another
        # The type only: messages of HTTP errors embed the (secret) webhook URL.
        return DeliveryOutcome(DeliveryStatus.RETRY, reason=f"sink raised {type(exc).__name__}")
