"""``riskwatch scan``: evaluate files with every rule, state in memory.

Files are streamed: JSON-lines inputs are read in chunks, each chunk sorted by
time before the rules see it (Graph returns newest first), so a million-line
file never sits in memory whole. Alerts are grouped exactly as the deployed app
groups them and written as JSON lines once every input has been read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from detections.alerts import Alert, AlertGrouper
from detections.engine import Engine, RuleFailure
from detections.enrich import Enricher
from detections.errors import InputError, Where
from detections.history import History
from detections.model import Event, EventKind
from detections.normalize import Format, Skip, decode
from detections.rule import ParamValue, Rule

CHUNK_EVENTS = 10_000
INPUT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".log", ".csv", ".txt")


@dataclass
class ScanReport:
    """What a scan did, for the summary on stderr."""

    events: int = 0
    skipped: list[Skip] = field(default_factory=list)
    skipped_count: int = 0
    unreadable: list[str] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)

    MAX_KEPT = 1000  # skip reasons kept for display; the count keeps counting

    def add_skip(self, skip: Skip) -> None:
        self.skipped_count += 1
        if len(self.skipped) < self.MAX_KEPT:
            self.skipped.append(skip)


@dataclass(frozen=True)
class ScanOptions:
    fmt: Format = "auto"
    kind: EventKind | None = None
    now: datetime | None = None
    max_alerts: int = 1000
    params: Mapping[str, Mapping[str, ParamValue]] = field(default_factory=dict)


def expand_paths(paths: Sequence[str]) -> list[Path]:
    """Files named directly, and the input files inside named folders."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES
            )
        else:
            found.append(path)
    return found


def read_events(path: Path, options: ScanOptions, report: ScanReport) -> Iterator[Event]:
    """Decode one file, counting skips; an unreadable file is reported, not fatal."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for item in decode(str(path), handle, fmt=options.fmt, kind=options.kind):
                if isinstance(item, Skip):
                    report.add_skip(item)
                elif options.now is not None and item.time > options.now:
                    reason = f"{item.kind} {item.event_id} is after --now"
                    report.add_skip(Skip(Where(str(path)), reason))
                else:
                    yield item
    except InputError as exc:
        report.unreadable.append(str(exc))
    except (OSError, UnicodeDecodeError) as exc:
        report.unreadable.append(f"{path}: {exc.strerror if isinstance(exc, OSError) else exc}")


def scan(
    paths: Iterable[Path],
    rules: Sequence[Rule],
    options: ScanOptions,
    *,
    history: History | None = None,
    enricher: Enricher | None = None,
) -> ScanReport:
    """Run every rule over every event of ``paths`` and group the matches."""
    report = ScanReport()
    engine = Engine(rules, history=history, params=options.params, enricher=enricher)
    grouper = AlertGrouper(max_alerts=options.max_alerts)
    # Chunks span file boundaries, so a small input is judged as one time-ordered batch.
    events = itertools.chain.from_iterable(read_events(p, options, report) for p in paths)
    while chunk := list(itertools.islice(events, CHUNK_EVENTS)):
        for event in chunk:
            report.by_kind[event.kind] = report.by_kind.get(event.kind, 0) + 1
        report.events += len(chunk)
        for matches, failures in engine.run(chunk):
            report.failures += failures
            for match in matches:
                grouper.add(match)
    report.alerts = sorted(grouper.alerts(), key=lambda a: (a.first_seen, a.rule_id, a.dedup_key))
    return report
