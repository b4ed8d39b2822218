"""Table Storage has no TTL: the job deletes what it no longer needs.

- claims whose window ended and whose alert is in the outbox;
- ledger rows past their retention (look-back re-reads can no longer bring them back);
- outbox rows every sink finished (delivered, dead, skipped) longer ago than the retention;
- incident rows closed (their risk closed) or quiet for longer than the quiet days plus
  ``INCIDENT_GRACE`` (a look-back re-read can still bring an alert of the quiet time),
  once their revision is in the outbox: a later alert opens a new incident either way.

Deletes go in per-partition batches of at most 100, ETag-conditional where a row
may change (a claim re-opened for a new window is not deleted). A row that
changed or vanished meanwhile is dropped from its batch and the rest retried.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableTransactionError

from service.state import dedup, incidents, outbox
from service.state.tables import Operation, Tables, plan_batches, submit

_GONE = {"ResourceNotFound", "UpdateConditionNotSatisfied"}
INCIDENT_GRACE = timedelta(days=2)  # the longest default look-back re-read


@dataclass(slots=True)
class SweepReport:
    claims: int = 0
    ledger: int = 0
    outbox: int = 0
    incidents: int = 0


def sweep(
    tables: Tables, now: datetime, outbox_retention: timedelta,
    incident_quiet: timedelta = timedelta(days=7),
) -> SweepReport:
    claims = tables.table(dedup.TABLE)
    report = SweepReport()
    report.claims = _delete(
        claims,
        claims.query_entities(
            "kind eq 'claim' and outboxed eq true and sweep_after lt @now",
            parameters={"now": now},
        ),
    )
    report.ledger = _delete(
        claims,
        claims.query_entities(
            "kind eq 'event' and sweep_after lt @now", parameters={"now": now}
        ),
    )
    box = tables.table(outbox.TABLE)
    report.outbox = _delete(
        box,
        box.query_entities(
            "done eq true and done_at lt @cutoff", parameters={"cutoff": now - outbox_retention}
        ),
    )
    rows = tables.table(incidents.TABLE)
    # The SDK reads a parameter name up to the next space, hence "@cutoff )".
    report.incidents = _delete(
        rows,
        rows.query_entities(
            "outboxed eq true and ((closed ne '' and last_seen lt @closedcut ) "
            "or last_seen lt @cutoff )",
            # A closed row stays while its alerts' claims can still take matches (a day at
            # most), so a repeat of one of its alerts is known to belong to it.
            parameters={"cutoff": now - incident_quiet - INCIDENT_GRACE,
                        "closedcut": now - INCIDENT_GRACE},
        ),
    )
    return report


def _delete(client: TableClient, rows: Iterable[Mapping[str, Any]]) -> int:
    ops: list[Operation] = [
        (
            "delete",
            {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"]},
            {"etag": row.metadata["etag"], "match_condition": MatchConditions.IfNotModified},  # type: ignore[attr-defined]
        )
        for row in rows
    ]
    deleted = 0
    for batch in plan_batches(ops):
        while batch:
            try:
                submit(client, batch)
            except TableTransactionError as exc:
                if _code(exc) not in _GONE:
                    raise
                del batch[exc.index]  # changed or deleted meanwhile: leave it alone
                continue
            deleted += len(batch)
            batch = []
    return deleted


def _code(exc: TableTransactionError) -> str:
    return str(getattr(exc, "error_code", ""))
