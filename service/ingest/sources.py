"""Where the job's events come from: Graph feeds, export blobs, files, rescans (and the
directory read that enriches them).

Each source yields ``Batch`` values: events, and the cursor positions that may be
committed once the pipeline has judged them (``service.run.job`` commits them after the
batch's alerts are in the outbox), so a crash half-way loses nothing and repeats
nothing (event ids already seen never alert again). Sources never call the pipeline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from detections.directory import PrivilegedMap
from detections.errors import RiskwatchError, Where
from detections.model import Event
from detections.normalize import Skip, decode_json_line, normalize_record
from service.ingest.directory_cache import DirectoryCache
from service.ingest.event_grid_work import RESCAN_GROUP
from service.ingest.export import Chunk, ExportTailer, TailReport
from service.ingest.graph.client import GraphClient
from service.ingest.graph.cursor import FeedCursor, next_query_start
from service.ingest.graph.feeds import FEEDS
from service.ingest.input_files import Unreadable, decoded, unreadable
from service.response.raw import RawRecord, decoded_with_raw, line_parts, page_bodies
from service.state.cursors import Cursor, CursorStore

log = logging.getLogger("riskwatch.sources")

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


def normalized(records: Iterable[Any], source: str, kind: Any, report: SourceReport,
               raw: dict[str, RawRecord] | None = None,
               bodies: list[tuple[bytes, bool]] | None = None) -> list[Event]:
    """The records' events; with ``raw``, each event's record as received goes there
    (``bodies``: each record's bytes and whether they are exact, aligned with ``records``)."""
    events: list[Event] = []
    for index, record in enumerate(records, start=1):
        item = normalize_record(record, source=source, line=index, fmt="graph", kind=kind)
        if isinstance(item, Skip):
            report.skip(item)
        else:
            events.append(item)
            if raw is not None and bodies is not None and index <= len(bodies):
                body, exact = bodies[index - 1]
                raw[item.event_id] = RawRecord(event_id=item.event_id, source=source,
                                               body=body, exact=exact)
    return events


@dataclass(frozen=True, slots=True)
class FeedCommit:
    """Move a Graph feed's watermark (if the stored cursor is still ``expected``)."""

    feed: str
    watermark: str
    expected: Cursor | None


@dataclass(frozen=True, slots=True)
class BlobCommit:
    """Move an export blob's offset past ``chunk``."""

    chunk: Chunk


@dataclass(frozen=True, slots=True)
class RescanDone:
    """Every read of a rescan request completed: delete the request."""

    request: Cursor


CursorCommit = FeedCommit | BlobCommit | RescanDone


@dataclass(frozen=True, slots=True)
class Batch:
    """Events to judge together, and what to commit once they are judged."""

    events: tuple[Event, ...]
    commits: tuple[CursorCommit, ...] = ()
    # event id -> its record as received, for the evidence bundles (only this batch's)
    raw: Mapping[str, RawRecord] = field(default_factory=dict)


def merged(batches: Iterable[Batch], limit: int = RUN_BATCH_LIMIT) -> Iterator[Batch]:
    """Consecutive batches as one per ``limit`` events: a run's Graph pages are judged
    together, so the history is loaded and saved once per run, not once per page (a
    page of 1,000 sign-ins touches nearly every history bucket)."""
    events: list[Event] = []
    commits: list[CursorCommit] = []
    raw: dict[str, RawRecord] = {}
    for batch in batches:
        events += batch.events
        commits += batch.commits
        raw.update(batch.raw)
        if len(events) >= limit:
            yield Batch(tuple(events), tuple(commits), raw)
            events, commits, raw = [], [], {}
    if events or commits:
        yield Batch(tuple(events), tuple(commits), raw)


def poll_feeds(
    client: GraphClient,
    feeds: Iterable[str],
    cursors: CursorStore,
    now: datetime,
    lookback: timedelta,
    report: SourceReport,
) -> Iterator[Batch]:
    """Every enabled event feed from watermark - look-back, one batch per page; a page's
    batch carries the feed's cursor move when the page allows one."""
    for feed in feeds:
        kind = FEEDS[feed].kind
        if kind is None:  # directoryRoles: enrichment, read by the directory cache
            continue
        stored = cursors.load("feed", feed)
        cursor = FeedCursor(feed, _watermark(stored))
        spec = FEEDS[feed]
        if spec.lookback is not None:  # the feed's own look-back (directoryAudits)
            behind = min(lookback, spec.lookback)
        else:
            behind = min(lookback, SIGN_IN_LOOKBACK) if spec.throttle == "reports" else lookback
        read = client.read(feed, cursor, start=next_query_start(cursor, now, behind))
        for page in read:
            raw: dict[str, RawRecord] = {}
            events = normalized(page.records, f"graph:{feed}", kind, report, raw,
                                page_bodies(page.content, page.records))
            report.count(feed, len(events))
            advanced = cursor.advanced_to(page.watermark_after)
            commits: tuple[CursorCommit, ...] = ()
            if advanced is not cursor and advanced.watermark is not None:
                commits = (FeedCommit(feed, advanced.watermark.isoformat(), stored),)
                cursor = advanced
            yield Batch(tuple(events), commits, raw)
        outcome = read.outcome
        if outcome.status == "forbidden":
            report.disabled[feed] = outcome.message
        elif outcome.status == "deadline":
            report.incomplete.append(feed)
        elif outcome.status in ("failed", "loop"):
            report.problems.append(f"{feed}: {outcome.message}")


def _watermark(stored: Cursor | None) -> datetime | None:
    return datetime.fromisoformat(stored.value) if stored is not None and stored.value else None


def export_batches(
    tailer: ExportTailer, now: datetime, report: SourceReport,
    stop: Callable[[], bool] | None = None,
) -> Iterator[Batch]:
    """One batch per chunk of whole lines of the registered export blobs (decoded as files
    are: too deep, not UTF-8 or not JSON is one Skip); the batch commits the offset.
    ``stop``: asked after each chunk; True ends the reading (the run's budget is spent),
    and the offsets not reached stay for the next run (``report.incomplete``)."""
    tail = TailReport()
    # Read ahead: the job judges these batches together (``merged``), committing after.
    chunks = tailer.chunks(now, tail, read_ahead=True)
    for chunk in chunks:
        events: list[Event] = []
        raw: dict[str, RawRecord] = {}
        for line in chunk.lines:
            source = f"{line.container}/{line.blob_name}"
            parts = line_parts(line.raw)  # a line's records, each its own bytes
            items = decode_json_line(source, line.number, line.text, fmt="diagnostic")
            for index, item in enumerate(items):
                if isinstance(item, Skip):
                    report.skip(item)
                else:
                    events.append(item)
                    raw[item.event_id] = RawRecord(
                        event_id=item.event_id, source=f"export:{source}:{line.number}",
                        body=parts[index] if index < len(parts) else line.raw)
        report.count("export", len(events))
        yield Batch(tuple(events), (BlobCommit(chunk),), raw)
        if stop is not None and stop():
            # Resumed next run only if something is left: this blob's rest, or another
            # blob's chunk (one read past the budget, left uncommitted).
            if not chunk.at_end or next(chunks, None) is not None:
                report.incomplete.append("export")
            break
    report.problems += tail.failures


def file_batches(paths: Iterable[Path], report: SourceReport) -> Iterator[Batch]:
    """``read_files`` as batches, with each event's record as read: no cursor to commit."""
    for events, raw in _files_with_raw(paths, report):
        yield Batch(tuple(events), (), raw)


def _files_with_raw(
    paths: Iterable[Path], report: SourceReport
) -> Iterator[tuple[list[Event], dict[str, RawRecord]]]:
    batch: list[Event] = []
    raw: dict[str, RawRecord] = {}
    for path in paths:
        try:
            for item, record in decoded_with_raw(path):
                if isinstance(item, Skip):
                    report.skip(item)
                    continue
                batch.append(item)
                if record is not None:
                    raw[item.event_id] = record
                report.count(path.name, 1)
                if len(batch) >= FILE_BATCH:
                    yield batch, raw
                    batch, raw = [], {}
        except Unreadable as exc:
            report.problems.append(unreadable(path, exc))
    if batch:
        yield batch, raw


def read_files(paths: Iterable[Path], report: SourceReport) -> Iterator[list[Event]]:
    """Events from local files in lists (``riskwatch run --input``, ``baseline``, the demo)."""
    batch: list[Event] = []
    for path in paths:
        try:
            for item in decoded(path):
                if isinstance(item, Skip):
                    report.skip(item)
                    continue
                batch.append(item)
                report.count(path.name, 1)
                if len(batch) >= FILE_BATCH:
                    yield batch
                    batch = []
        except Unreadable as exc:
            report.problems.append(unreadable(path, exc))
    if batch:
        yield batch


def rescan_batches(
    client: GraphClient, feeds: Iterable[str], cursors: CursorStore, report: SourceReport
) -> Iterator[Batch]:
    """The stored rescan requests (``service.ingest.event_grid_work``): each re-reads the feeds
    for its window, one batch per page; the last batch of a request whose every read
    completed deletes it (an unfinished one is tried next run)."""
    feeds = list(feeds)
    for request in list(cursors.list(RESCAN_GROUP)):
        asked = json.loads(request.value)
        start, end = (datetime.fromisoformat(asked[k]) for k in ("start", "end"))
        users = {u.lower() for u in asked.get("users", [])}
        log.info("rescan %s: %s to %s for %s", request.name, start, end,
                 sorted(users) or "all users")
        complete = True
        for feed in feeds:
            kind = FEEDS[feed].kind
            if kind is None:  # directory roles are enrichment, not events
                continue
            read = client.read(feed, start=start)
            for page in read:
                kept = [e for e in normalized(page.records, f"rescan:{feed}", kind, report)
                        if start <= e.time <= end and (not users or _for_users(e, users))]
                report.count("rescan", len(kept))
                yield Batch(tuple(kept))
            complete &= read.outcome.status in ("complete", "forbidden")
        if complete:
            yield Batch((), (RescanDone(request),))


def _for_users(event: Event, users: set[str]) -> bool:
    return event.principal.lower() in users or str(getattr(event, "user_id", "")).lower() in users


def read_directory(
    client: GraphClient | None, cache: DirectoryCache, now: datetime, report: SourceReport
) -> PrivilegedMap | None:
    """Privileged role holders for enrichment: cached in Table Storage, refreshed daily
    through ``client`` (None: the cached map only); None when there is no map yet."""
    if client is None:
        cached = cache.load()
        return cached.privileged if cached is not None else None
    graph = client

    def pages() -> list[dict[str, Any]]:
        read = graph.read("directoryRoles")
        found = [{"value": page.records} for page in read]
        if read.outcome.status != "complete":  # keep the cached map rather than an empty one
            if read.outcome.status == "forbidden":
                report.disabled["directoryRoles"] = read.outcome.message
            raise DirectoryReadError(Where("Graph roleAssignments"),
                                     f"read {read.outcome.status}: {read.outcome.message}")
        return found

    fetched = cache.get(now, pages)
    if fetched.error:
        report.problems.append(f"directoryRoles: {fetched.error}")
    return fetched.privileged


class DirectoryReadError(RiskwatchError):
    """Graph's role assignments could not be read in full; the cached map is kept."""

    def __init__(self, where: Where, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
