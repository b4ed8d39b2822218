"""An analyst's label on an incident (``riskwatch label``), and which label counts.

Labels are append-only: every label is kept with who and when (the audit trail), and the
latest one of an incident decides its accuracy. A label carries a snapshot of the incident's
alerts taken when it was made, so it still applies after the incident row is swept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from detections.history_records import stored_time
from detections.incidents.model import AlertFacts, Incident
from detections.review.outcomes import ANALYST_LABELS, AnalystLabel


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentLabel:
    incident_id: str
    label: AnalystLabel
    by: str | None
    at: datetime
    note: str | None = None
    principal: str | None = None
    alerts: tuple[AlertFacts, ...] = ()  # the incident's alerts when it was labelled

    def to_dict(self) -> dict[str, Any]:
        """The label as the review shows it."""
        return {"incident_id": self.incident_id, "label": self.label, "by": self.by,
                "at": self.at.isoformat(), "note": self.note}

    def to_state(self) -> dict[str, Any]:
        return {**self.to_dict(), "principal": self.principal,
                "alerts": [a.to_state() for a in self.alerts]}

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> IncidentLabel:
        label = data["label"]
        if label not in ANALYST_LABELS:
            raise ValueError(f"label must be one of {', '.join(ANALYST_LABELS)}, not {label!r}")
        return cls(incident_id=str(data["incident_id"]), label=label, by=data.get("by"),
                   at=stored_time(data["at"], "a label"), note=data.get("note"),
                   principal=data.get("principal"),
                   alerts=tuple(AlertFacts.from_state(a) for a in data.get("alerts", ())))


def latest_labels(labels: Iterable[IncidentLabel]) -> dict[str, IncidentLabel]:
    """The label that counts for each incident: the latest (a later one at the same moment
    wins, since labels arrive in the order they were made)."""
    latest: dict[str, IncidentLabel] = {}
    for label in labels:
        current = latest.get(label.incident_id)
        if current is None or label.at >= current.at:
            latest[label.incident_id] = label
    return latest


@dataclass(frozen=True, slots=True)
class AnalystIndex:
    """Analyst labels spread to alerts and events: every alert of a labelled incident, and
    every event those alerts fired on, inherit the incident's latest label."""

    by_alert: Mapping[str, AnalystLabel]
    by_event: Mapping[str, AnalystLabel]
    alerts: tuple[AlertFacts, ...]  # alerts known only from label snapshots (rows swept)


def analyst_index(
    labels: Iterable[IncidentLabel], incidents: Iterable[Incident]
) -> AnalystIndex:
    latest = latest_labels(labels)
    known = {i.incident_id: i for i in incidents}
    by_alert: dict[str, AnalystLabel] = {}
    by_event: dict[str, AnalystLabel] = {}
    snapshot_only: list[AlertFacts] = []
    for incident_id, label in latest.items():
        incident = known.get(incident_id)
        alerts = incident.alerts if incident is not None else label.alerts
        if incident is None:
            snapshot_only += label.alerts
        for alert in alerts:
            by_alert[alert.alert_id] = label.label
            for event_id in alert.event_ids:
                by_event[event_id] = label.label
    return AnalystIndex(by_alert, by_event, tuple(snapshot_only))
