"""``riskwatch scan``: evaluate files with every rule, state in memory.

Files are streamed and judged oldest first whatever order they are in
(``service.cli.scan_order``): input in time order is judged as it is read; anything
else (a newest-first Graph export, shuffled lines, overlapping files) is sorted
on disk first, so a million-line file never sits in memory whole. Alerts are
grouped exactly as the deployed app groups them and written as JSON lines once
every input has been read.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from detections.alerts import Alert, AlertGrouper
from detections.correlation_history import History
from detections.engine import Engine, RuleFailure
from detections.enrich import Enricher
from detections.errors import Where
from detections.model import Event, EventKind
from detections.normalize import Format, Skip
from detections.rule import ParamValue, Rule
from service.cli.progress import NoProgress, Progress
from service.cli.scan_order import OutOfOrder, sorted_on_disk, streamed
from service.ingest.input_files import Unreadable, decoded, unreadable

# Events held at once to put input in order: the streaming window and the runs sorted on disk.
CHUNK_EVENTS = 10_000
# Of those, held as input streams: out of order by up to half of them (0.9 x 55 %) is still
# judged as read. A held sign-in costs about 8 kB of peak RSS, with the holes it leaves
# among the history when freed (a million sign-ins: 456 MB holding 10,000, 421 MB 5,500).
STREAM_SHARE = 55
INPUT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".log", ".csv", ".txt")
# Garbage collector thresholds during a scan (CPython's defaults: 700, 10, 10). A scan keeps
# millions of long-lived history objects and makes almost no cyclic garbage (a few hundred
# objects per 100,000 sign-ins), so at the defaults the collector walks the same live
# objects again and again: about a tenth of a scan's time, measured. Young cycles are still
# freed, every 100,000 allocations.
SCAN_GC_THRESHOLDS = (100_000, 20, 100)


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
    sorted_on_disk: bool = False  # the input was out of order, so it was sorted first

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
    chunk_events: int = CHUNK_EVENTS  # lowered by tests so that a small file spans many


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
        # The job's --input reader too (service.ingest.input_files): one bad line never
        # refuses a file.
        for item in decoded(path, options.fmt, options.kind):
            if isinstance(item, Skip):
                report.add_skip(item)
            elif options.now is not None and item.time > options.now:
                reason = f"{item.kind} {item.event_id} is after --now"
                report.add_skip(Skip(Where(str(path)), reason))
            else:
                yield item
    except Unreadable as exc:
        report.unreadable.append(unreadable(path, exc))


def scan(
    paths: Iterable[Path],
    rules: Sequence[Rule],
    options: ScanOptions,
    *,
    history: History | None = None,
    enricher: Enricher | None = None,
    progress: Progress | None = None,
) -> ScanReport:
    """Run every rule over every event of ``paths``, oldest first, and group the matches.

    Input in time order is judged as it is read. When an event turns out to be
    older than one already judged, everything judged is dropped and the scan
    starts again from a sort on disk; a caller's ``history`` cannot be dropped,
    so with one the input is always sorted first.
    """
    paths = list(paths)
    shown = progress if progress is not None else NoProgress()
    try:
        with _rare_collections():
            if history is None and all(_rereadable(p) for p in paths):
                try:
                    return _judge(paths, rules, options, None, enricher, shown, on_disk=False)
                except OutOfOrder:
                    pass  # the half-judged state goes with the exception; start again below
            return _judge(paths, rules, options, history, enricher, shown, on_disk=True)
    finally:
        shown.done()


@contextmanager
def _rare_collections() -> Iterator[None]:
    """``SCAN_GC_THRESHOLDS`` for the scan, the process's own thresholds again after it."""
    before = gc.get_threshold()
    if before[0]:  # 0: automatic collection is off, and stays off
        raised = (max(own, ours) for own, ours in zip(before, SCAN_GC_THRESHOLDS, strict=True))
        gc.set_threshold(*raised)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _rereadable(path: Path) -> bool:
    # A pipe or device cannot be read a second time: sort such input on disk from the start.
    return path.is_file() or not path.exists()


def _judge(
    paths: list[Path],
    rules: Sequence[Rule],
    options: ScanOptions,
    history: History | None,
    enricher: Enricher | None,
    progress: Progress,
    *,
    on_disk: bool,
) -> ScanReport:
    report = ScanReport(sorted_on_disk=on_disk)
    if history is None:
        history = History(tracks_changes=False)  # a scan writes no state back
    engine = Engine(rules, history=history, params=options.params, enricher=enricher)
    grouper = AlertGrouper(max_alerts=options.max_alerts)
    every = max(1, options.chunk_events)
    opened = 0

    def show(events: int) -> None:
        progress.update(events=events, skipped=report.skipped_count, alerts=opened)

    # Every file feeds one stream, so events are ordered across file boundaries too.
    read = _counted(
        itertools.chain.from_iterable(read_events(p, options, report) for p in paths), report
    )
    ordered = (
        sorted_on_disk(read, every, on_read=show) if on_disk
        else streamed(read, every * STREAM_SHARE // 100)
    )
    judged = 0
    try:
        for event in ordered:
            matches, failures = engine.evaluate(event)
            report.failures += failures
            for match in matches:
                if grouper.add(match) is not None:
                    opened += 1
            judged += 1
            if judged % every == 0:
                show(judged)
    finally:
        _close(ordered)
    show(judged)
    report.alerts = sorted(grouper.alerts(), key=lambda a: (a.first_seen, a.rule_id, a.dedup_key))
    return report


def _counted(events: Iterable[Event], report: ScanReport) -> Iterator[Event]:
    """Count events as they are read (every event read is judged)."""
    for event in events:
        report.events += 1
        report.by_kind[event.kind] = report.by_kind.get(event.kind, 0) + 1
        yield event


def _close(events: Iterator[Event]) -> None:
    # Closes the open input file and the temporary file now, not when collected.
    close: Callable[[], None] | None = getattr(events, "close", None)
    if close is not None:
        close()
