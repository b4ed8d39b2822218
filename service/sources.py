"""Where the main job's events come from: Graph feeds, export blobs, files, rescans.

Each source hands the pipeline one batch at a time and moves its cursor only
after the batch's alerts are in the outbox, so a crash half-way loses nothing
and repeats nothing (event ids already seen never alert again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from detections.errors import InputError
from detections.model import Event
from detections.normalize import Skip, decode, decode_json_line, normalize_record
from service.export import Chunk
from service.graph import FEEDS, FeedCursor, GraphClient, next_query_start
from service.state.cursors import Cursor, CursorStore
from service.textfiles import open_lines

log = logging.getLogger("riskwatch.sources")

Process = Callable[[list[Event]], None]
# Sign-in logs land within minutes (p99 5 min, non-interactive up to 30 min): two hours of
# re-reading covers them, where 48 h of a large tenant's sign-ins would not fit in a run.
# The full look-back is for risk detections, which surface up to 48 h late.
SIGN_IN_LOOKBACK = timedelta(hours=2)
FILE_BATCH = 50_000  # events per batch from files: a small input is one time-ordered timeline
RUN_BATCH_LIMIT = 100_000  # events judged together; more are split (memory stays bounded)


@dataclass(slots=True)
class SourceReport:
    """Per-source counts for the run's summary line."""

    events: dict[str, int] = field(default_factory=dict)  # feed / source -> events read
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    disabled: dict[str, str] = field(default_factory=dict)  # feed -> why (403)
    incomplete: list[str] = field(default_factory=list)  # feeds stopped by the run budget

    def count(self, source: str, n: int) -> None:
        self.events[source] = self.events.get(source, 0) + n

    def skip(self, skip: Skip) -> None:
        self.skipped += 1
        if self.skipped <= 20:
            log.warning("skipped %s: %s", skip.where, skip.reason)


def normalized(records: Iterable[Any], source: str, kind: Any, report: SourceReport) -> list[Event]:
    events: list[Event] = []
    for index, record in enumerate(records, start=1):
        item = normalize_record(record, source=source, line=index, fmt="graph", kind=kind)
        if isinstance(item, Skip):
            report.skip(item)
        else:
            events.append(item)
    return events


class RunBatch:
    """A run's events, judged together: the history is then loaded and saved once per run,
    not once per Graph page (a page of 1,000 sign-ins touches nearly every history bucket).
    What may only happen once the events' alerts are in the outbox (a cursor move) waits
    for the flush."""

    def __init__(self, process: Process, limit: int = RUN_BATCH_LIMIT) -> None:
        self.process = process
        self.limit = limit
        self.events: list[Event] = []
        self.after: list[Callable[[], None]] = []

    def add(self, events: list[Event], then: Callable[[], None] | None = None) -> None:
        self.events += events
        if then is not None:
            self.after.append(then)
        if len(self.events) >= self.limit:
            self.flush()

    def flush(self) -> None:
        events, after = self.events, self.after
        self.events, self.after = [], []
        if events:
            self.process(events)
        for step in after:
            step()


def poll_feeds(
    client: GraphClient,
    feeds: Iterable[str],
    cursors: CursorStore,
    now: datetime,
    lookback: timedelta,
    batch: RunBatch,
    report: SourceReport,
) -> None:
    """Read every enabled event feed from watermark - look-back; a cursor moves only after
    the batch holding its pages was processed."""
    for feed in feeds:
        kind = FEEDS[feed].kind
        if kind is None:  # directoryRoles: enrichment, read by the directory cache
            continue
        stored = cursors.load("feed", feed)
        cursor = FeedCursor(feed, _watermark(stored))
        behind = min(lookback, SIGN_IN_LOOKBACK) if FEEDS[feed].throttle == "reports" else lookback
        read = client.read(feed, cursor, start=next_query_start(cursor, now, behind))
        for page in read:
            events = normalized(page.records, f"graph:{feed}", kind, report)
            report.count(feed, len(events))
            advanced = cursor.advanced_to(page.watermark_after)
            move = None
            if advanced is not cursor and advanced.watermark is not None:
                move = _cursor_move(cursors, feed, advanced.watermark.isoformat(), now, stored)
                cursor = advanced
            batch.add(events, then=move)
        outcome = read.outcome
        if outcome.status == "forbidden":
            report.disabled[feed] = outcome.message
        elif outcome.status == "deadline":
            report.incomplete.append(feed)
        elif outcome.status in ("failed", "loop"):
            report.problems.append(f"{feed}: {outcome.message}")


def _cursor_move(
    cursors: CursorStore, feed: str, watermark: str, now: datetime, expected: Cursor | None
) -> Callable[[], None]:
    def move() -> None:
        cursors.save("feed", feed, watermark, now, expected)

    return move


def _watermark(stored: Cursor | None) -> datetime | None:
    return datetime.fromisoformat(stored.value) if stored is not None and stored.value else None


def export_handler(process: Process, report: SourceReport) -> Callable[[Chunk], None]:
    """A tailer callback: decode a chunk's whole lines and process them as one batch."""

    def handle(chunk: Chunk) -> None:
        events: list[Event] = []
        for line in chunk.lines:
            # The same line decoder as files: too deep, not UTF-8 or not JSON is one Skip.
            source = f"{line.container}/{line.blob_name}"
            for item in decode_json_line(source, line.number, line.text, fmt="diagnostic"):
                if isinstance(item, Skip):
                    report.skip(item)
                else:
                    events.append(item)
        report.count("export", len(events))
        process(events)

    return handle




def read_files(paths: Iterable[Path], report: SourceReport) -> Iterator[list[Event]]:
    """Batches of events from local files (``riskwatch run --input``, the demo)."""
    batch: list[Event] = []
    for path in paths:
        try:
            with open_lines(path) as lines:
                for item in decode(str(path), lines):
                    if isinstance(item, Skip):
                        report.skip(item)
                        continue
                    batch.append(item)
                    report.count(path.name, 1)
                    if len(batch) >= FILE_BATCH:
                        yield batch
                        batch = []
        except (InputError, OSError) as exc:
            report.problems.append(str(exc))
    if batch:
        yield batch
