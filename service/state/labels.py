"""Analyst labels on incidents (``riskwatch label``), append-only in Table Storage.

Table ``labels``: PartitionKey = incident id, RowKey = the label's time (sortable) and a
random suffix, so every label is a new row and none is ever overwritten: the latest decides
the accuracy assessment, the rest stay as the audit trail (who, when, what, why). Each row
keeps a snapshot of the incident's alerts (``d0..dN``), so the label still covers them
after the incident row is swept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from detections.errors import RiskwatchError
from detections.incidents.model import Incident
from detections.review.labels import IncidentLabel
from detections.review.outcomes import ANALYST_LABELS
from service.state.history_store import pack, unpack
from service.state.incidents import TABLE as INCIDENTS_TABLE
from service.state.tables import Tables, cap_text

TABLE = "labels"
MAX_NOTE = 2_000
MAX_BY = 200
MAX_ALERTS = 200  # alerts kept in a label's snapshot


class LabelError(RiskwatchError):
    """A label that cannot be stored: an unknown incident, or not tp, fp or indeterminate."""


def find_incident(tables: Tables, incident_id: str) -> Incident | None:
    """The stored incident with this id (any principal), or None."""
    rows = tables.table(INCIDENTS_TABLE).query_entities(
        "incident_id eq @id", parameters={"id": incident_id})
    for row in rows:
        return Incident.from_state(unpack(row))
    return None


class LabelStore:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.table = tables.table(TABLE)

    def add(
        self, incident_id: str, label: str, now: datetime, *, by: str | None = None,
        note: str | None = None,
    ) -> IncidentLabel:
        """Append a label for a stored incident; ``LabelError`` for an unknown id."""
        if label not in ANALYST_LABELS:
            raise LabelError(f"label {label[:20]!r}: use one of {', '.join(ANALYST_LABELS)}")
        incident = find_incident(self.tables, incident_id)
        if incident is None:
            raise LabelError(
                f"unknown incident id {incident_id[:80]!r}: no such incident in Table Storage "
                f"({self.tables.prefix}{INCIDENTS_TABLE}); ids are in riskwatch review's "
                "report and in each incident notification")
        made = IncidentLabel.from_state({
            "incident_id": incident_id, "label": label,
            "by": cap_text(by, MAX_BY) if by else None, "at": now.astimezone(UTC).isoformat(),
            "note": cap_text(note, MAX_NOTE) if note else None, "principal": incident.principal,
            "alerts": [a.to_state() for a in incident.alerts[:MAX_ALERTS]],
        })
        stamp = made.at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self.table.create_entity({
            "PartitionKey": incident_id, "RowKey": f"{stamp}-{uuid.uuid4().hex[:12]}",
            "label": made.label, "by": made.by or "", "at": made.at, "note": made.note or "",
            "principal": cap_text(incident.principal, 1_000),
            **pack({"alerts": [a.to_state() for a in made.alerts]}),
        })
        return made

    def history(self, incident_id: str) -> list[IncidentLabel]:
        """Every label of one incident, oldest first."""
        rows = self.table.query_entities("PartitionKey eq @id", parameters={"id": incident_id})
        return sorted((_label(r) for r in rows), key=lambda lb: lb.at)

    def all(self) -> Iterator[IncidentLabel]:
        """Every label of every incident, in row order (oldest first per incident)."""
        for row in self.table.list_entities():
            yield _label(row)


def _label(row: Mapping[str, Any]) -> IncidentLabel:
    at = row["at"]
    return IncidentLabel.from_state({
        "incident_id": row["PartitionKey"], "label": row["label"], "by": row.get("by") or None,
        "at": at.isoformat() if isinstance(at, datetime) else str(at),
        "note": row.get("note") or None, "principal": row.get("principal") or None,
        "alerts": unpack(row).get("alerts", []),
    })
