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

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableTransactionError, UpdateMode

from detections.alerts import Alert
from detections.engine import Match
from detections.model import Severity
from service.state.payload import encode_alert
from service.state.tables import MAX_BATCH, Operation, Tables, cap_text, submit

TABLE = "dedup"
MAX_TRIES = 50  # optimistic-concurrency retries before giving up loudly
_RETRY_CODES = {"EntityAlreadyExists", "UpdateConditionNotSatisfied", "ResourceNotFound"}


class ContentionError(RuntimeError):
    """A claim kept changing under us; the run stops rather than guess."""


@dataclass(frozen=True, slots=True)
class Claim:
    rule_id: str
    dedup_hash: str
    alert_id: str
    severity: Severity
    first_seen: datetime
    last_seen: datetime
    window_end: datetime
    count: int
    outboxed: bool
    payload: str
    etag: str

    @classmethod
    def from_entity(cls, e: Mapping[str, Any]) -> Claim:
        return cls(
            rule_id=e["PartitionKey"],
            dedup_hash=e["RowKey"],
            alert_id=e["alert_id"],
            severity=Severity(e["severity"]),
            first_seen=e["first_seen"],
            last_seen=e["last_seen"],
            window_end=e["window_end"],
            count=int(e["count"]),
            outboxed=bool(e["outboxed"]),
            payload=e["payload"],
            etag=getattr(e, "metadata", {}).get("etag", ""),
        )


@dataclass(slots=True)
class KeyResult:
    counted: int = 0
    duplicates: int = 0
    opened: int = 0
    suppressed: list[Match] = field(default_factory=list)


class Budget:
    """How many more alerts this run may open (RISKWATCH_MAX_ALERTS_PER_RUN)."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self) -> None:
        self.left -= 1


def event_hash(event_id: str) -> str:
    return hashlib.sha256(event_id.encode("utf-8")).hexdigest()


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

    def record(
        self,
        matches: Sequence[Match],
        now: datetime,
        budget: Budget,
        on_opened: Callable[[Claim], None],
        before_replace: Callable[[Claim], None],
    ) -> KeyResult:
        """Count ``matches`` (one dedup key) once each, opening alerts as windows require."""
        result = KeyResult()
        first = matches[0]
        rule_id, dedup_hash = first.rule.id, first.dedup_hash
        known = self.counted_events(rule_id, dedup_hash)
        pending: list[tuple[str, Match]] = []
        for match in sorted(matches, key=lambda m: (m.time, m.event.event_id)):
            row_key = f"{dedup_hash}-{event_hash(match.event.event_id)}"
            if row_key in known:
                result.duplicates += 1
            else:
                known.add(row_key)
                pending.append((row_key, match))
        tries = 0
        while pending:
            tries += 1
            if tries > MAX_TRIES + len(matches):
                raise ContentionError(f"claim {rule_id}/{dedup_hash} kept changing")
            claim = self.get(rule_id, dedup_hash)
            opening = claim is None or pending[0][1].time >= claim.window_end
            if opening and budget.left <= 0:
                result.suppressed.extend(m for _, m in pending)
                break
            if opening and claim is not None and not claim.outboxed:
                before_replace(claim)  # the old window's alert reaches the outbox first
            limit = claim.window_end if claim is not None and not opening else None
            chunk, ops, alert = self._plan(claim, pending, opening, limit, now)
            try:
                submit(self.table, ops)
            except TableTransactionError as exc:
                if _code(exc) not in _RETRY_CODES:
                    raise
                if exc.index > 0 and _code(exc) == "EntityAlreadyExists":
                    del pending[exc.index - 1]  # counted by another worker meanwhile
                    result.duplicates += 1
                continue  # index 0: the claim changed under us; re-read
            del pending[: len(chunk)]
            result.counted += len(chunk)
            if opening and alert is not None:
                budget.take()
                result.opened += 1
                opened = self.get(rule_id, dedup_hash)
                if opened is not None and opened.alert_id == alert.alert_id:
                    on_opened(opened)
        return result

    def _plan(
        self,
        claim: Claim | None,
        pending: list[tuple[str, Match]],
        opening: bool,
        limit: datetime | None,
        now: datetime,
    ) -> tuple[list[tuple[str, Match]], list[Operation], Alert | None]:
        head = pending[0][1]
        if opening:
            limit = head.time + head.rule.dedup_window
        chunk = [(rk, m) for rk, m in pending[: MAX_BATCH - 1] if limit is None or m.time < limit]
        ledger: list[Operation] = [
            ("create", self._ledger_row(head.rule.id, rk, m, now)) for rk, m in chunk
        ]
        if opening:
            alert = Alert.open(head)
            for _, m in chunk[1:]:
                alert.absorb(m)
            entity = _claim_entity(head.rule.id, head.dedup_hash, alert)
            if claim is None:
                return chunk, [("create", entity), *ledger], alert
            replace = ("update", entity, _conditional(claim, UpdateMode.REPLACE))
            return chunk, [replace, *ledger], alert
        assert claim is not None  # noqa: S101 - merging needs a claim, by construction
        times = [m.time for _, m in chunk]
        patch = {
            "PartitionKey": claim.rule_id,
            "RowKey": claim.dedup_hash,
            "count": claim.count + len(chunk),
            "first_seen": min(claim.first_seen, *times),
            "last_seen": max(claim.last_seen, *times),
        }
        return chunk, [("update", patch, _conditional(claim, UpdateMode.MERGE)), *ledger], None

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
        dedup_hash = hashlib.sha256(alert.dedup_key.encode("utf-8")).hexdigest()
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
        raise ContentionError(f"summary claim {alert.rule_id} kept changing")

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
        raise ContentionError(f"claim {claim.rule_id}/{claim.dedup_hash} kept changing")


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


def _code(exc: TableTransactionError) -> str:
    return str(getattr(exc, "error_code", ""))
