"""The alert outbox: one row per alert with a delivery status per sink.

PartitionKey = rule id, RowKey = alert id, so writing the same alert twice is a
create conflict (nothing to do). Per sink ``s``: ``s_status`` (pending, delivered,
dead, skipped), ``s_attempts`` (HTTP attempts), ``s_failures`` (failed runs: the
backoff), ``s_first`` (first attempt: the retry budget runs from there), ``s_next``
(earliest next attempt), ``s_reason``, ``s_owner`` and ``s_lease`` (a worker's lease
while it posts). ``done`` turns
true once no sink is pending, which is what delivery queries and sweep deletes.
Every status change is an ETag-conditional MERGE, so two workers never both
take a lease, and one sink's update never overwrites another's.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import (
    ResourceExistsError,
    ResourceNotFoundError,
)

from detections.model import Severity
from service.delivery.base import Sink
from service.delivery.severity import passes
from service.state.tables import Tables, cap_text, merge_if_unchanged

TABLE = "outbox"
PENDING, DELIVERED, DEAD, SKIPPED = "pending", "delivered", "dead", "skipped"
SINK_NAME = re.compile(r"^[a-z][a-z0-9]{0,30}$")
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # "no lease": None would drop the property
MAX_TRIES = 50
Entity = Mapping[str, Any]


def check_sink_names(sinks: Sequence[Sink]) -> None:
    names = [s.name for s in sinks]
    bad = [n for n in names if not SINK_NAME.match(n)]
    if bad:
        raise ValueError(f"sink names must be lowercase letters and digits: {bad}")
    if len(set(names)) != len(names):
        raise ValueError(f"sink names must be unique: {names}")


def sink_names(row: Entity) -> list[str]:
    """The sinks a row has a status for (configured when the alert was written)."""
    return sorted(k.removesuffix("_status") for k in row if k.endswith("_status"))


def status_of(row: Entity, sink: str) -> str:
    # A sink configured after the alert was written never receives it.
    return str(row.get(f"{sink}_status", SKIPPED))


class Outbox:
    def __init__(self, tables: Tables, sinks: Sequence[Sink]) -> None:
        check_sink_names(sinks)
        self.tables = tables
        self.table = tables.table(TABLE)
        self.sinks = tuple(sinks)

    def write(
        self,
        rule_id: str,
        alert_id: str,
        payload: str,
        severity: Severity,
        now: datetime,
        *,
        exclude: Collection[str] = (),
    ) -> bool:
        """Create the row; False when it is already there (written by another worker).
        Sinks in ``exclude`` never receive it (a notice about that very sink)."""
        row: dict[str, Any] = {
            "PartitionKey": rule_id,
            "RowKey": alert_id,
            "payload": payload,
            "severity": severity.value,
            "created_at": now,
        }
        for sink in self.sinks:
            wanted = passes(sink, severity, rule_id) and sink.name not in exclude
            row[f"{sink.name}_status"] = PENDING if wanted else SKIPPED
            row[f"{sink.name}_attempts"] = 0
            row[f"{sink.name}_failures"] = 0
            row[f"{sink.name}_first"] = NEVER
            row[f"{sink.name}_next"] = now
            row[f"{sink.name}_reason"] = "" if wanted else (
                "a notice about this sink" if sink.name in exclude
                else "below the sink's minimum severity")
            row[f"{sink.name}_owner"] = ""
            row[f"{sink.name}_lease"] = NEVER
        done = not any(row[f"{s.name}_status"] == PENDING for s in self.sinks)
        row["done"] = done
        row["done_at"] = now if done else NEVER
        try:
            self.table.create_entity(row)
        except ResourceExistsError:
            return False
        return True

    def get(self, rule_id: str, alert_id: str) -> Entity | None:
        try:
            return self.table.get_entity(rule_id, alert_id)
        except ResourceNotFoundError:
            return None

    def pending(self) -> Iterator[Entity]:
        return iter(self.table.query_entities("done eq false"))

    def all_rows(self) -> list[Entity]:
        return list(self.table.list_entities())

    def find(self, alert_id: str) -> list[Entity]:
        """The rows of ``alert_id`` whatever its rule (one, unless ids collide)."""
        return list(self.table.query_entities("RowKey eq @id", parameters={"id": alert_id}))

    def dead(self) -> Iterator[Entity]:
        """Every row with at least one dead-lettered sink."""
        for row in self.table.list_entities():
            if any(status_of(row, name) == DEAD for name in sink_names(row)):
                yield row

    def requeue(self, rule_id: str, alert_id: str, sink: str, now: datetime) -> bool:
        """A dead letter of ``sink`` back to pending with a fresh retry budget; False when
        that sink's status is not dead (a delivered alert is never sent again)."""
        for _ in range(MAX_TRIES):
            row = self.get(rule_id, alert_id)
            if row is None or status_of(row, sink) != DEAD:
                return False
            patch = {
                f"{sink}_status": PENDING, f"{sink}_failures": 0, f"{sink}_first": NEVER,
                f"{sink}_next": now, f"{sink}_owner": "", f"{sink}_lease": NEVER,
                f"{sink}_reason": cap_text(f"replayed; was: {row.get(f'{sink}_reason', '')}",
                                           1_000),
                "done": False, "done_at": NEVER,
            }
            if merge_if_unchanged(self.table, row, patch):
                return True
        return False

    def lease(
        self,
        rule_id: str,
        alert_id: str,
        sink: str,
        owner: str,
        now: datetime,
        lease_for: timedelta,
    ) -> Entity | None:
        """Take ``sink``'s lease on the alert if it is due and free; the row, or None."""
        for _ in range(MAX_TRIES):
            row = self.get(rule_id, alert_id)
            if row is None or status_of(row, sink) != PENDING:
                return None
            if row[f"{sink}_next"] > now or row[f"{sink}_lease"] > now:
                return None
            patch = {f"{sink}_owner": owner, f"{sink}_lease": now + lease_for}
            if merge_if_unchanged(self.table, row, patch):
                return row
        return None

    def record(
        self, rule_id: str, alert_id: str, sink: str, changes: Mapping[str, Any], now: datetime
    ) -> bool:
        """Apply a sink's new status; False when that sink was already finished."""
        for _ in range(MAX_TRIES):
            row = self.get(rule_id, alert_id)
            if row is None or status_of(row, sink) != PENDING:
                return False
            patch = {f"{sink}_{k}": v for k, v in changes.items()}
            patch[f"{sink}_owner"], patch[f"{sink}_lease"] = "", NEVER
            if "reason" in changes:
                patch[f"{sink}_reason"] = cap_text(str(changes["reason"]), 1_000)
            merged = {**row, **patch}
            if not any(status_of(merged, s.name) == PENDING for s in self.sinks):
                patch["done"], patch["done_at"] = True, now
            if merge_if_unchanged(self.table, row, patch):
                return True
        return False

    def close_if_finished(self, rule_id: str, alert_id: str, now: datetime) -> None:
        """Set ``done`` on a row whose sinks all finished (e.g. a sink was removed)."""
        for _ in range(MAX_TRIES):
            row = self.get(rule_id, alert_id)
            if row is None or row.get("done"):
                return
            if any(status_of(row, s.name) == PENDING for s in self.sinks):
                return
            if merge_if_unchanged(self.table, row, {"done": True, "done_at": now}):
                return
