"""``riskwatch review --input``: a review of files, incidents computed as ``scan --incidents``
computes them (same rules, settings and business hours)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from detections.enrich import Enricher
from detections.normalize import Skip
from detections.review.accuracy import AssessmentTally
from detections.review.content import ReviewWindow, build_review, watched_ips
from detections.review.inventory import WindowTally
from detections.rule import Rule
from service.cli import scan as scan_mod
from service.cli.scan_incidents import scan_incidents
from service.ingest.input_files import Unreadable, decoded, unreadable
from service.review.coverage import SourceFacts, coverage, file_sha256, gap
from service.settings import DetectionSettings

EDGE_TOLERANCE = timedelta(hours=1)  # quieter than this at either end is not a gap
FILE_NOTES = [
    "incidents computed from the input files as riskwatch scan --incidents computes them",
    "no analyst labels: labels live in Table Storage (run without --input to use them)",
]


def review_from_files(
    paths: Sequence[Path], window: ReviewWindow, assessment_since: datetime, *,
    rules: Sequence[Rule], detection: DetectionSettings, enricher: Enricher,
    generated_at: datetime,
) -> tuple[dict[str, Any], list[str]]:
    """The review dict, and the files that could not be read at all."""
    options = scan_mod.ScanOptions(now=window.until, params=detection.rule_params)
    _report, incidents = scan_incidents(paths, rules, options, enricher=enricher,
                                        quiet=detection.incident_quiet)
    tally = WindowTally(window.since, window.until, detection.business_hours,
                        watched_ips(incidents, window.since, window.until))
    assessment = AssessmentTally(assessment_since, window.until)
    sources: list[SourceFacts] = []
    problems: list[str] = []
    for path in paths:
        facts = SourceFacts(str(path), "file", sha256=file_sha256(path))
        sources.append(facts)
        try:
            for item in decoded(path):
                if isinstance(item, Skip):
                    facts.skipped += 1
                    facts.first_skip = facts.first_skip or f"{item.where}: {item.reason}"
                    continue
                facts.saw(item.time)
                tally.observe(item)
                assessment.observe(item)
        except Unreadable as exc:
            problems.append(unreadable(path, exc))
    gaps = [gap(p.split(":", 1)[0], None, None, f"unreadable: {p}") for p in problems]
    gaps += _edge_gaps(sources, window)
    review = build_review(
        window=window, hours=detection.business_hours, generated_at=generated_at, tally=tally,
        assessment=assessment, incidents=incidents, labels=[],
        coverage=coverage(sources, gaps, rules, list(FILE_NOTES)),
    )
    return review, problems


def _edge_gaps(sources: Sequence[SourceFacts], window: ReviewWindow) -> list[dict[str, Any]]:
    """The input starts after the window opens or ends before it closes."""
    firsts = [s.first for s in sources if s.first is not None]
    lasts = [s.last for s in sources if s.last is not None]
    if not firsts or not lasts:
        return [gap("input", window.since, window.until, "no events in the input files")]
    gaps = []
    if min(firsts) > window.since + EDGE_TOLERANCE:
        gaps.append(gap("input", window.since, min(firsts),
                        "the input files hold no events before this"))
    if max(lasts) < window.until - EDGE_TOLERANCE:
        gaps.append(gap("input", max(lasts), window.until,
                        "the input files hold no events after this"))
    return gaps
