"""A dedup claim as read from Table Storage, the per-run alert budget and the ledger hash."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from detections.model import Severity
from service.state.tables import row_key_hash


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


class Budget:
    """How many more alerts this run may open (RISKWATCH_MAX_ALERTS_PER_RUN)."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self) -> None:
        self.left -= 1


def event_hash(event_id: str) -> str:
    return row_key_hash(event_id)
