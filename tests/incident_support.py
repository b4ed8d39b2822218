"""Incidents from factory events, through the same engine, history and enricher hooks
``riskwatch scan --incidents`` uses (no files: the events are built in the test)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from detections.alerts import AlertGrouper
from detections.directory import PrivilegedMap
from detections.engine import Engine
from detections.enrich import Enricher
from detections.incidents.model import Incident
from detections.model import Event
from detections.order import in_time_order
from detections.registry import load_rules
from service.cli.incident_recorder import IncidentRecorder
from service.cli.scan_incidents import RecordingHistory, WatchingEnricher


def incidents_of(
    events: Iterable[Event],
    *,
    privileged: PrivilegedMap | None = None,
    quiet: timedelta = timedelta(days=7),
) -> list[Incident]:
    base = Enricher(privileged)
    recorder = IncidentRecorder(quiet, base.hours)
    engine = Engine(load_rules(), history=RecordingHistory(recorder),
                    enricher=WatchingEnricher(base, recorder))
    grouper = AlertGrouper()
    for event in in_time_order(list(events)):
        matches, failures = engine.evaluate(event)
        assert failures == []
        for match in matches:
            grouper.add(match)
    return recorder.incidents(grouper.alerts())


def by_principal(incidents: Iterable[Incident]) -> dict[str, list[Incident]]:
    found: dict[str, list[Incident]] = {}
    for incident in incidents:
        found.setdefault(incident.principal, []).append(incident)
    return found
