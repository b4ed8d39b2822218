"""``riskwatch review`` without ``--input``, and the review timer: incidents and labels from
Table Storage, the window's sign-ins and detections read again from Graph (the correlation
state keeps only about a day of them)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from detections.incidents.model import Incident
from detections.model import Event
from detections.review.accuracy import AssessmentTally
from detections.review.content import ReviewWindow, build_review, watched_ips
from detections.review.inventory import WindowTally
from detections.rule import Rule
from service.ingest.graph.client import GraphClient
from service.ingest.graph.feeds import FEEDS
from service.ingest.sources import SourceReport, normalized
from service.review.coverage import GRAPH_READ, SourceFacts, coverage, gap
from service.settings import Settings
from service.state.audit import AuditLog
from service.state.cursors import CursorStore
from service.state.history_store import unpack
from service.state.incidents import TABLE as INCIDENTS_TABLE
from service.state.labels import LabelStore
from service.state.tables import Tables

STATE_NOTES = [
    "incidents and analyst labels from Table Storage; sign-ins and detections read again "
    "from Graph for the window",
    "Table Storage keeps open incidents and those closed in the last two days: older "
    "incidents count in the accuracy assessment only through their labels",
]
ASSESSED_FEEDS = frozenset({"riskDetections", "servicePrincipalRiskDetections"})


def stored_incidents(tables: Tables, gaps: list[dict[str, Any]]) -> list[Incident]:
    """Every incident row; an unreadable one is a gap, not a failure."""
    found = []
    for row in tables.table(INCIDENTS_TABLE).list_entities():
        try:
            found.append(Incident.from_state(unpack(row)))
        except (KeyError, TypeError, ValueError) as exc:
            gaps.append(gap(f"incidents/{row.get('PartitionKey')}", None, None,
                            f"unreadable incident row ({type(exc).__name__})"))
    return found


def _feed_events(
    graph: GraphClient, feed: str, start: datetime, until: datetime, facts: SourceFacts,
    gaps: list[dict[str, Any]],
) -> Iterator[Event]:
    read = graph.read(feed, start=start)
    report = SourceReport()
    digest = hashlib.sha256()
    for page in read:
        for record in page.records:  # the digest covers exactly what Graph returned
            digest.update(json.dumps(record, sort_keys=True).encode("utf-8") + b"\n")
        for event in normalized(page.records, f"graph:{feed}", FEEDS[feed].kind, report):
            if start <= event.time < until:
                facts.saw(event.time)
                yield event
    facts.skipped = report.skipped
    facts.sha256 = digest.hexdigest()
    if read.outcome.status != "complete":
        gaps.append(gap(feed, start, until, f"{GRAPH_READ} {read.outcome.status}: "
                        f"{read.outcome.message}"[:500]))


def _cursor_gaps(tables: Tables, feeds: Sequence[str], until: datetime) -> list[dict[str, Any]]:
    """A feed the app's timer has not judged up to the window's end: its incidents may be
    missing there (the inventory, read again from Graph, is complete)."""
    cursors = CursorStore(tables)
    gaps = []
    for feed in feeds:
        stored = cursors.load("feed", feed)
        if stored is None or not stored.value:
            gaps.append(gap(feed, None, until, "the app has not polled this feed yet: no "
                            "incidents from it"))
            continue
        watermark = datetime.fromisoformat(stored.value)
        if watermark < until:
            gaps.append(gap(feed, watermark, until, "the app's feed cursor is behind the "
                            "window's end: later events are not in any incident yet"))
    return gaps


def review_from_state(
    settings: Settings, tables: Tables, graph: GraphClient, window: ReviewWindow,
    assessment_since: datetime, *, rules: Sequence[Rule], generated_at: datetime,
) -> dict[str, Any]:
    gaps: list[dict[str, Any]] = []
    incidents = stored_incidents(tables, gaps)
    labels = list(LabelStore(tables).all())
    hours = settings.business_hours
    tally = WindowTally(window.since, window.until, hours,
                        watched_ips(incidents, window.since, window.until))
    assessment = AssessmentTally(assessment_since, window.until)
    feeds = [f for f in settings.feeds if FEEDS[f].kind is not None]
    sources = []
    for feed in feeds:
        start = min(window.since, assessment_since) if feed in ASSESSED_FEEDS else window.since
        facts = SourceFacts(feed, "graph")
        sources.append(facts)
        for event in _feed_events(graph, feed, start, window.until, facts, gaps):
            tally.observe(event)
            assessment.observe(event)
    gaps += _cursor_gaps(tables, feeds, window.until)
    return build_review(
        window=window, hours=hours, generated_at=generated_at, tally=tally,
        assessment=assessment, incidents=incidents, labels=labels,
        coverage=coverage(sources, gaps, rules, list(STATE_NOTES)),
        actions=[r.to_dict() for r in AuditLog(tables).records(window.since, window.until)],
    )
