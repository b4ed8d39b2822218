"""``riskwatch scan --incidents``: the scan's alerts as incidents, with their evidence.

The scan runs as usual; two hooks watch it. The enricher sees every match first
(before the event is remembered) and tells the recorder (``incident_recorder``), which
opens or extends the principal's evidence segment; the history sees every event after
the rules and hands it on to the segments that follow its user or address.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from detections.correlation_history import History
from detections.engine import Match
from detections.enrich import Enricher
from detections.incidents.grouping import QUIET_DAYS
from detections.incidents.model import Incident
from detections.model import Event
from detections.rule import Rule
from service.cli import scan as scan_mod
from service.cli.incident_recorder import IncidentRecorder
from service.cli.progress import Progress


class RecordingHistory(History):
    """The scan's history, also telling the recorder of every event after the rules."""

    def __init__(self, recorder: IncidentRecorder) -> None:
        super().__init__(tracks_changes=False)  # a scan writes no state back
        self.recorder = recorder
        recorder.history = self

    def observe(self, event: Event) -> None:
        repeat = self.seen(event)  # a re-read event is evidence once
        super().observe(event)
        if not repeat:
            self.recorder.on_event(event)


class WatchingEnricher(Enricher):
    """The scan's enricher, also telling the recorder of every match."""

    def __init__(self, base: Enricher, recorder: IncidentRecorder) -> None:
        super().__init__(base.privileged, base.hours)
        self.recorder = recorder

    def __call__(self, match: Match) -> Match:
        enriched = super().__call__(match)
        self.recorder.on_match(enriched)
        return enriched


def scan_incidents(
    paths: Iterable[Path],
    rules: Sequence[Rule],
    options: scan_mod.ScanOptions,
    *,
    enricher: Enricher | None = None,
    progress: Progress | None = None,
    quiet: timedelta = timedelta(days=QUIET_DAYS),
) -> tuple[scan_mod.ScanReport, list[Incident]]:
    """Scan ``paths`` as ``riskwatch scan`` does; return the report and the incidents."""
    base = enricher or Enricher()
    recorder = IncidentRecorder(quiet, base.hours, options.max_alerts)
    history = RecordingHistory(recorder)
    report = scan_mod.scan(paths, rules, options, history=history,
                           enricher=WatchingEnricher(base, recorder), progress=progress)
    return report, recorder.incidents(report.alerts)


def write_incidents(incidents: Iterable[Incident], out: TextIO) -> None:
    """One incident a line, as JSON (attacker text stays data: each sink escapes it)."""
    for incident in incidents:
        out.write(json.dumps(incident.to_dict(), sort_keys=True) + "\n")
