"""Dedup claims and the event ledger: one alert per dedup key and window, counts exact.

Both live in one table and one partition (the rule id), so one transaction
covers a claim change and the ledger rows of the events it counts:

- claim row: RowKey = sha256(dedup key); first_seen, last_seen, count, alert_id,
  window_end, outboxed, and the alert payload (so any worker can rebuild the outbox row);
- ledger row: RowKey = "<dedup hash>-<sha256(event id)>": this event is counted.

A ledger conflict means another run already counted the event (overlapping runs,
48 h look-back re-reads); a claim conflict or a 412 means another worker moved
first: re-read and try again. There is no read-then-write window: every write is
a create (fails if present) or an ETag-conditional update.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as replace_claim
from datetime import datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableTransactionError, UpdateMode

from detections.alert_window import AlertWindow, join_window
from detections.alerts import Alert
from detections.engine import Match
from detections.errors import RiskwatchError, Where
from service.state.claim import Budget, Claim, event_hash
from service.state.payload import encode_alert
from service.state.tables import MAX_BATCH, Operation, Tables, cap_text, row_key_hash, submit

__all__ = ["Budget", "Claim", "ContentionError", "DedupStore", "Pending", "Step", "event_hash"]

TABLE = "dedup"
MAX_TRIES = 50  # optimistic-concurrency retries before giving up loudly
_RETRY_CODES = {"EntityAlreadyExists", "UpdateConditionNotSatisfied", "ResourceNotFound"}


class ContentionError(RiskwatchError):
    """A claim kept changing under us; the run stops rather than guess."""

    def __init__(self, where: Where, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where


Pending = tuple[str, Match]  # (ledger RowKey, the match it counts), oldest first


@dataclass(slots=True)
class Step:
    """What one ``DedupStore.record`` call did: at most one transaction.

    ``opened``: the claim it opened, for the caller to put in the outbox now;
    ``handover``: a claim not yet outboxed that the next match would replace: the caller
    puts it in the outbox first and calls again; ``touched``: the claim as it stands
    after this step; ``rest``: matches still to record.
    """

    counted: int = 0
    duplicates: int = 0  # counted by another worker meanwhile
    raised: bool = False  # this step opened an alert (its claim is ``opened`` if unmoved)
    opened: Claim | None = None
    handover: Claim | None = None
    touched: Claim | None = None
    suppressed: list[Match] = field(default_factory=list)
    rest: list[Pending] = field(default_factory=list)


class DedupStore:
    def __init__(self, tables: Tables, *, ledger_retention: timedelta) -> None:
        self.table = tables.table(TABLE)
        self.ledger_retention = ledger_retention

    def get(self, rule_id: str, dedup_hash: str) -> Claim | None:
        try:
            return Claim.from_entity(self.table.get_entity(rule_id, dedup_hash))
        except ResourceNotFoundError:
            return None

    def counted_events(self, rule_id: str, dedup_hash: str) -> set[str]:
        """RowKeys of the ledger rows of one key: one range query, not one read per event."""
        rows = self.table.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            parameters={"pk": rule_id, "lo": f"{dedup_hash}-", "hi": f"{dedup_hash}."},
            select=["RowKey"],
        )
        return {row["RowKey"] for row in rows}

    def unoutboxed(self) -> Iterator[Claim]:
        rows = self.table.query_entities("kind eq 'claim' and outboxed eq false")
        return (Claim.from_entity(row) for row in rows)

    def uncounted(self, matches: Sequence[Match]) -> tuple[list[Pending], int]:
        """The matches of one dedup key that the ledger does not hold yet, oldest first,
        and how many it already holds (repeats within ``matches`` count as held)."""
        first = matches[0]
        known = self.counted_events(first.rule.id, first.dedup_hash)
        pending: list[Pending] = []
        duplicates = 0
        for match in sorted(matches, key=lambda m: (m.time, m.event.event_id)):
            row_key = f"{first.dedup_hash}-{event_hash(match.event.event_id)}"
            if row_key in known:
                duplicates += 1
            else:
                known.add(row_key)
                pending.append((row_key, match))
        return pending, duplicates

    def record(self, pending: list[Pending], now: datetime, budget: Budget) -> Step:
        """Count the oldest of ``pending`` (one dedup key, from ``uncounted``) in one
        transaction with their claim: merged into the open alert, or opening a new one
        as ``join_window`` decides. Call again with ``rest`` until it is empty."""
        pending = list(pending)
        step = Step()
        head = pending[0][1]
        rule_id, dedup_hash = head.rule.id, head.dedup_hash
        for _ in range(MAX_TRIES + len(pending)):
            if not pending:
                return step
            claim = self.get(rule_id, dedup_hash)
            opening = claim is None or _window(claim, pending[0][1]) is None
            if opening and budget.left <= 0:
                step.suppressed = [m for _, m in pending]
                return step
            if opening and claim is not None and not claim.outboxed:
                step.handover = claim  # the old window's alert reaches the outbox first
                step.rest = pending
                return step
            chunk, ops, alert, touched = self._plan(claim, pending, now)
            try:
                submit(self.table, ops)
            except TableTransactionError as exc:
                if _code(exc) not in _RETRY_CODES:
                    raise
                if exc.index > 0 and _code(exc) == "EntityAlreadyExists":
                    del pending[exc.index - 1]  # counted by another worker meanwhile
                    step.duplicates += 1
                continue  # index 0: the claim changed under us; re-read
            step.counted = len(chunk)
            step.rest = pending[len(chunk):]
            step.touched = touched
            if alert is not None:
                budget.take()
                step.raised = True
                opened = self.get(rule_id, dedup_hash)
                if opened is not None and opened.alert_id == alert.alert_id:
                    step.opened = step.touched = opened
            return step
        raise ContentionError(Where(f"dedup claim {rule_id}/{dedup_hash}"), "kept changing")

    def _plan(
        self, claim: Claim | None, pending: list[Pending], now: datetime
    ) -> tuple[list[Pending], list[Operation], Alert | None, Claim | None]:
        """The next transaction: the claim change and the ledger rows of the matches it
        counts (those ``join_window`` puts in one window, at most a batch of them)."""
        head = pending[0][1]
        length = head.rule.dedup_window
        opening = claim is None or _window(claim, head) is None
        if claim is None or opening:
            window, chunk = AlertWindow.opened_at(head.time, length), pending[:1]
        else:  # the head joins: start from the claim's window and join from the head on
            window, chunk = AlertWindow(claim.first_seen, claim.last_seen, claim.window_end), []
        for row_key, match in pending[len(chunk) : MAX_BATCH - 1]:
            joined = join_window(window, match.time, length)
            if joined is None:
                break  # it and every later match open the next window
            window = joined
            chunk.append((row_key, match))
        ledger: list[Operation] = [
            ("create", self._ledger_row(head.rule.id, rk, m, now)) for rk, m in chunk
        ]
        if opening:
            alert = Alert.open(head)
            for _, m in chunk[1:]:
                alert.absorb(m, alert.joined(m) or window)  # joins: chosen above
            entity = _claim_entity(head.rule.id, head.dedup_hash, alert)
            if claim is None:
                return chunk, [("create", entity), *ledger], alert, None
            replace = ("update", entity, _conditional(claim, UpdateMode.REPLACE))
            return chunk, [replace, *ledger], alert, None
        assert claim is not None  # noqa: S101 - merging needs a claim, by construction
        # A later match of higher severity raises the alert's, as Alert.absorb does in scan.
        severity = claim.severity
        for _, m in chunk:
            severity = severity.at_least(m.severity)
        patch = {
            "PartitionKey": claim.rule_id,
            "RowKey": claim.dedup_hash,
            "count": claim.count + len(chunk),
            "first_seen": window.first_seen,
            "last_seen": window.last_seen,
            "window_end": window.end,
            "severity": severity.value,
        }
        touched = replace_claim(claim, count=claim.count + len(chunk), first_seen=window.first_seen,
                                last_seen=window.last_seen, window_end=window.end,
                                severity=severity)
        ops: list[Operation] = [("update", patch, _conditional(claim, UpdateMode.MERGE)), *ledger]
        return chunk, ops, None, touched

    def _ledger_row(
        self, rule_id: str, row_key: str, match: Match, now: datetime
    ) -> dict[str, Any]:
        return {
            "PartitionKey": rule_id,
            "RowKey": row_key,
            "kind": "event",
            "sweep_after": max(now, match.time) + self.ledger_retention,
        }

    def open_summary(self, alert: Alert) -> Claim | None:
        """Open (or add to) a claim without ledger rows: the overflow summary alert."""
        dedup_hash = row_key_hash(alert.dedup_key)
        for _ in range(MAX_TRIES):
            claim = self.get(alert.rule_id, dedup_hash)
            try:
                if claim is None:
                    self.table.create_entity(_claim_entity(alert.rule_id, dedup_hash, alert))
                    return self.get(alert.rule_id, dedup_hash)
                patch = {
                    "PartitionKey": alert.rule_id,
                    "RowKey": dedup_hash,
                    "count": claim.count + alert.count,
                }
                self.table.update_entity(patch, **_conditional(claim, UpdateMode.MERGE))
                return None
            except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                continue  # another worker moved first: re-read
        raise ContentionError(Where(f"dedup claim {alert.rule_id}/{dedup_hash}"), "kept changing")

    def mark_outboxed(self, claim: Claim) -> None:
        """Record that ``claim``'s alert is in the outbox (a no-op if the claim moved on)."""
        for _ in range(MAX_TRIES):
            current = self.get(claim.rule_id, claim.dedup_hash)
            if current is None or current.alert_id != claim.alert_id or current.outboxed:
                return
            patch = {"PartitionKey": claim.rule_id, "RowKey": claim.dedup_hash, "outboxed": True}
            try:
                self.table.update_entity(patch, **_conditional(current, UpdateMode.MERGE))
                return
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
        raise ContentionError(Where(f"dedup claim {claim.rule_id}/{claim.dedup_hash}"),
                              "kept changing")


def _conditional(claim: Claim, mode: UpdateMode) -> dict[str, Any]:
    return {"mode": mode, "etag": claim.etag, "match_condition": MatchConditions.IfNotModified}


def _claim_entity(rule_id: str, dedup_hash: str, alert: Alert) -> dict[str, Any]:
    return {
        "PartitionKey": rule_id,
        "RowKey": dedup_hash,
        "kind": "claim",
        "alert_id": alert.alert_id,
        "severity": alert.severity.value,
        "dedup_key": cap_text(alert.dedup_key, 1_000),
        "first_seen": alert.first_seen,
        "last_seen": alert.last_seen,
        "window_end": alert.window_end,
        "count": alert.count,
        "outboxed": False,
        "payload": encode_alert(alert.to_dict()),
        "sweep_after": alert.window_end,
    }


def _window(claim: Claim, match: Match) -> AlertWindow | None:
    """The claim's window with ``match`` in it, or None: the match opens a new alert."""
    window = AlertWindow(claim.first_seen, claim.last_seen, claim.window_end)
    return join_window(window, match.time, match.rule.dedup_window)


def _code(exc: TableTransactionError) -> str:
    return str(getattr(exc, "error_code", ""))
