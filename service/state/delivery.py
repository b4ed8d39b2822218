"""Delivery from the outbox: lease, post, record, per sink and per alert.

A sink that is down keeps its alerts pending (with backoff) and they go out on
a later run; a sink that rejects an alert for good dead-letters it with the
reason; neither touches the other sinks. The one duplicate left is a crash
between a receiver's 2xx and the delivered mark: the lease then expires and the
alert is posted again with the same ``alert_id`` (the Idempotency-Key).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.sinks.base import DeliveryOutcome, DeliveryStatus, Sink
from service.state.outbox import DEAD, DELIVERED, PENDING, Outbox, status_of

Hook = Callable[[str], None]


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    busy: int = 0  # leased by another worker or not yet due
    deferred: int = 0  # left for the next run: the run's time budget was spent


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff between runs: base * 2^(n-1), capped, with jitter; dead after max_attempts."""

    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 24  # about a day of hourly retries after the ramp-up

    def delay(self, attempts: int, retry_after: float | None) -> timedelta:
        ramp = min(self.cap, self.base * 2 ** max(0, min(attempts - 1, 30)))
        jitter = random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
        seconds = max(ramp.total_seconds() * jitter, retry_after or 0.0)
        return timedelta(seconds=seconds)


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

    def run(self, now: datetime, deadline: float | None = None) -> DeliveryReport:
        """Deliver what is due; stop cleanly at ``deadline`` (monotonic), the rest waits."""
        report = DeliveryReport()
        for row in self.outbox.pending():
            rule_id, alert_id = row["PartitionKey"], row["RowKey"]
            for sink in self.sinks:
                if status_of(row, sink.name) != PENDING:
                    continue
                if deadline is not None and time.monotonic() >= deadline:
                    report.deferred += 1  # the next run delivers it
                else:
                    self._deliver(rule_id, alert_id, sink, now, report)
            self.outbox.close_if_finished(rule_id, alert_id, now)
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
        attempts = int(leased[f"{sink.name}_attempts"]) + max(1, outcome.attempts)
        changes: dict[str, object] = {"attempts": attempts, "reason": outcome.reason}
        if outcome.status is DeliveryStatus.DELIVERED:
            changes.update(status=DELIVERED, reason="")
        elif outcome.status is DeliveryStatus.DEAD:
            changes.update(status=DEAD)
        elif attempts >= self.policy.max_attempts:
            reason = f"gave up after {attempts} attempts: {outcome.reason}"
            changes.update(status=DEAD, reason=reason)
        else:
            changes.update(next=now + self.policy.delay(attempts, outcome.retry_after))
        if not self.outbox.record(rule_id, alert_id, sink.name, changes, now):
            return
        if changes.get("status") == DELIVERED:
            report.delivered += 1
        elif changes.get("status") == DEAD:
            report.dead_lettered += 1
        else:
            report.retried += 1


def _send(sink: Sink, alert: dict[str, object]) -> DeliveryOutcome:
    try:
        return sink.send(alert)
    except Exception as exc:  # noqa: BLE001 - one failing sink never blocks another
        # The type only: messages of HTTP errors embed the (secret) webhook URL.
        return DeliveryOutcome(DeliveryStatus.RETRY, reason=f"sink raised {type(exc).__name__}")
