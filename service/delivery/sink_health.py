"""Sinks that keep failing, announced once per outage through the other sinks.

A sink is *failing* when its deliveries have failed with a retryable error (the
receiver is down, throttling or timing out) and none has succeeded since, for at
least ``failing_after`` (one hour by default): long enough that a blip pages
nobody, and well inside the 24 h retry budget, so someone can fix the receiver
before anything is dead-lettered. A permanent rejection of one alert is not an
outage: it is a dead letter, counted in the run summary.

The first run that finds a sink failing writes ONE notice to the outbox for every
other sink (never the failing one). Its alert id derives from the sink and the
outage's start, so two workers, and every later run of the same outage, write the
same row: a create conflict, nothing sent twice. A delivery that succeeds ends the
outage; the next one gets its own notice.

Table ``sinkhealth``: PartitionKey ``sink``, RowKey the sink's name; ``failing_since``
(``NEVER`` while healthy), ``failed_runs``, ``last_reason`` and ``notified``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.core.exceptions import (
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient

from detections.alerts import Alert, alert_id_for
from detections.model import Severity
from service.state.outbox import NEVER, PENDING, Outbox
from service.state.payload import encode_alert
from service.state.tables import cap_text, merge_if_unchanged

TABLE = "sinkhealth"
PARTITION = "sink"
RULE_ID = "riskwatch_sink_failing"
MAX_TRIES = 20


@dataclass(slots=True)
class SinkTally:
    """One sink's outcomes in one run."""

    delivered: int = 0  # real posts that succeeded (severity skips are not counted)
    failed: int = 0  # retryable failures: left pending for a later run
    dead: int = 0
    reason: str = ""  # the last failure's reason (never a URL)


class SinkHealth:
    def __init__(self, outbox: Outbox, *, failing_after: timedelta) -> None:
        self.outbox = outbox
        self.failing_after = failing_after
        self._client: TableClient | None = None

    @property
    def table(self) -> TableClient:
        if self._client is None:  # created on first use, like every state table
            self._client = self.outbox.tables.table(TABLE)
        return self._client

    def observe(self, tallies: Mapping[str, SinkTally], now: datetime) -> dict[str, str]:
        """Record this run's outcomes; return the sinks failing for long enough, each with
        since when and why (for the run summary)."""
        for name, tally in tallies.items():
            if tally.delivered:
                self._update(name, now, healthy=True, reason="")
            elif tally.failed:
                self._update(name, now, healthy=False, reason=tally.reason)
        for row in list(self._failing(now, at_least=timedelta(0))):
            name = str(row["RowKey"])
            # Nothing failed this run and nothing waits for it (all of it dead-lettered):
            # no alert is being held back any more, so the outage is over; its dead letters
            # stay listed by ``riskwatch outbox list --status dead``.
            if not tallies.get(name, SinkTally()).failed and not self._pending_for(name):
                self._update(name, now, healthy=True, reason="")
        return {
            str(row["RowKey"]): f"since {row['failing_since'].isoformat()}: {row['last_reason']}"
            for row in self._failing(now)
        }

    def announce(self, now: datetime, *, retry_budget: timedelta) -> int:
        """Write one notice per newly failing sink to the outbox; how many were written."""
        written = 0
        for row in self._failing(now):
            if row.get("notified"):
                continue
            name = str(row["RowKey"])
            if all(s.name == name for s in self.outbox.sinks):
                # No other sink to tell: the summary says it.
                merge_if_unchanged(self.table, row, {"notified": True})
                continue
            alert = notice(name, row["failing_since"], now, str(row["last_reason"]),
                           pending=self._pending_for(name), retry_budget=retry_budget)
            written += self.outbox.write(
                RULE_ID, alert.alert_id, encode_alert(alert.to_dict()), alert.severity, now,
                exclude={name},
            )
            # A lost race is fine: the other worker set it.
            merge_if_unchanged(self.table, row, {"notified": True})
        return written

    def _failing(
        self, now: datetime, at_least: timedelta | None = None
    ) -> Iterator[Mapping[str, Any]]:
        """Sinks failing for ``at_least`` (default: long enough to report)."""
        configured = {s.name for s in self.outbox.sinks}
        least = self.failing_after if at_least is None else at_least
        for row in self.table.query_entities(f"PartitionKey eq '{PARTITION}'"):
            since = row.get("failing_since")
            if row["RowKey"] in configured and since is not None and since > NEVER \
                    and now - since >= least:  # fmt: skip
                yield row

    def _pending_for(self, name: str) -> int:
        return sum(1 for row in self.outbox.pending() if row.get(f"{name}_status") == PENDING)

    def _update(self, name: str, now: datetime, *, healthy: bool, reason: str) -> None:
        for _ in range(MAX_TRIES):
            try:
                row = self.table.get_entity(PARTITION, name)
            except ResourceNotFoundError:
                if healthy:
                    return  # never failed: nothing to record
                entity = {"PartitionKey": PARTITION, "RowKey": name, "failing_since": now,
                          "failed_runs": 1, "last_reason": cap_text(reason, 1_000),
                          "notified": False}
                try:
                    self.table.create_entity(entity)
                    return
                except ResourceExistsError:
                    continue  # another worker made it: update that one
            if healthy:
                if row["failing_since"] <= NEVER:
                    return
                patch: dict[str, Any] = {"failing_since": NEVER, "failed_runs": 0,
                                         "notified": False, "last_reason": ""}
            else:
                patch = {"failed_runs": int(row["failed_runs"]) + 1,
                         "last_reason": cap_text(reason, 1_000)}
                if row["failing_since"] <= NEVER:  # a new outage
                    patch.update(failing_since=now, notified=False)
            if merge_if_unchanged(self.table, row, patch):
                return


def notice(
    sink: str, since: datetime, now: datetime, reason: str, *, pending: int,
    retry_budget: timedelta,
) -> Alert:
    """The alert the other sinks receive: which sink, since when, why, what to do."""
    key = f"{RULE_ID}|{sink}"
    hours = retry_budget.total_seconds() / 3600
    return Alert(
        alert_id=alert_id_for(key, since),
        rule_id=RULE_ID,
        rule_version=1,
        title=f"Alerts are not reaching the {sink} sink",
        severity=Severity.HIGH,
        risk_score=73,
        principal="(riskwatch)",
        dedup_key=key,
        first_seen=since,
        last_seen=now,
        window_end=now,
        count=pending,
        event_ids=[],
        mitre=(),
        context={
            "sink": sink,
            "failing_since": since.isoformat(),
            "last_reason": reason,
            "pending_alerts": pending,
            "retry_budget_hours": hours,
            "gives_up_at": (since + retry_budget).isoformat(),
        },
        investigation=(
            f"Check the {sink} receiver and its URL setting; its alerts are retried for "
            f"{hours:g} h from their first attempt, then dead-lettered.",
            "List what waits: riskwatch outbox list --status pending",
            "Replay dead letters once it is fixed: riskwatch outbox retry --all-dead",
        ),
    )
