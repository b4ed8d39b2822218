"""The main job, as the timer runs it: poll, tail, rescan, deliver, sweep, summarise.

Heavy SDK imports live here, not in the trigger module, so a cold start only
pays for them when a function actually runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from detections.enrich import Enricher
from detections.model import Event
from service.directory_cache import CachedDirectory, DirectoryCache
from service.events import RescanRequest
from service.export import BlobCursorStore, BlobRegistration, ExportTailer
from service.graph import FEEDS, GraphClient, make_token_provider, parse_auth_mode
from service.pipeline import Pipeline, RunReport
from service.settings import Settings, StorageSettings
from service.sinks.base import Sink
from service.sinks.factory import build_sinks
from service.sources import (
    Process,
    RunBatch,
    SourceReport,
    export_handler,
    normalized,
    poll_feeds,
    read_files,
)
from service.state.cursors import CursorConflict, CursorStore
from service.state.tables import Tables
from service.storage import blob_service, table_service

log = logging.getLogger("riskwatch.job")
RESCAN_GROUP = "rescan"
READING_SHARE = 0.75  # of the run budget for reading sources; the rest for delivery
MAX_REASONS = 20  # rule failures kept for the run's reasons; the count keeps counting


@dataclass(slots=True)
class JobReport:
    sources: SourceReport = field(default_factory=SourceReport)
    run: RunReport = field(default_factory=RunReport)
    swept: int = 0
    deferred: int = 0  # deliveries left for the next run (budget spent)
    past_due: bool = False
    seconds: float = 0.0
    sink_failures: dict[str, str] = field(default_factory=dict)  # sink -> this run's failures
    failing_sinks: dict[str, str] = field(default_factory=dict)  # failing for over an hour

    def add(self, part: RunReport) -> None:
        for name in ("events", "matches", "alerts_raised", "duplicates_skipped", "suppressed",
                     "rule_failures", "delivered", "retried", "dead_lettered"):
            setattr(self.run, name, getattr(self.run, name) + getattr(part, name))
        self.run.failures += part.failures[: max(0, MAX_REASONS - len(self.run.failures))]

    def failures(self) -> list[str]:
        """Why the run did not fully succeed: a feed, a sink or a rule failed. Empty when it
        did; ``riskwatch run --once`` exits 1 otherwise, with these on stderr."""
        sources = self.sources
        found = [f"feed {feed} disabled: {why}" for feed, why in sorted(sources.disabled.items())]
        found += [f"input: {problem}" for problem in sources.problems]
        found += [f"sink {name}: {why}" for name, why in sorted(self.sink_failures.items())]
        found += [f"sink {name} failing {why}" for name, why in sorted(self.failing_sinks.items())
                  if name not in self.sink_failures]
        found += [f"rule {f.rule_id} failed on {f.event_id}: {f.error}" for f in self.run.failures]
        if self.run.rule_failures > len(self.run.failures):
            found.append(f"... and {self.run.rule_failures - len(self.run.failures)} more")
        return found

    def summary(self) -> str:
        """The one log line a run writes."""
        feeds = ",".join(f"{k}={v}" for k, v in sorted(self.sources.events.items())) or "none"
        run = self.run
        text = (
            f"riskwatch run: events[{feeds}] skipped={self.sources.skipped} "
            f"alerts_raised={run.alerts_raised} duplicates={run.duplicates_skipped} "
            f"delivered={run.delivered} retried={run.retried} "
            f"dead_lettered={run.dead_lettered} rule_failures={run.rule_failures} "
            f"swept={self.swept} duration={self.seconds:.1f}s"
        )
        if self.sources.disabled:
            text += f" disabled_feeds={','.join(sorted(self.sources.disabled))}"
        if self.sources.incomplete:
            text += f" resume_next_run={','.join(self.sources.incomplete)}"
        if self.deferred:
            text += f" deferred={self.deferred}"
        if self.failing_sinks:
            text += f" failing_sinks={','.join(sorted(self.failing_sinks))}"
        if self.past_due:
            text += " past_due=true"
        return text


class MainJob:
    """One run of the main job over the configured sources, state and sinks."""

    def __init__(
        self,
        settings: Settings,
        *,
        sinks: Sequence[Sink] | None = None,
        graph: GraphClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sinks = list(sinks) if sinks is not None else configured_sinks(settings)
        self.tables = Tables(table_service(settings.storage), settings.table_prefix)
        self.pipeline = Pipeline.from_settings(settings, self.sinks)
        self.cursors = CursorStore(self.tables)
        self._graph_override = graph  # tests inject a client on a simulated clock
        self._graph: GraphClient | None = None
        self.clock = clock

    def run(self, now: datetime, *, files: Iterable[Path] | None = None) -> JobReport:
        started = self.clock()
        report = JobReport()
        # A fresh Graph client per run: its deadline and its 403-disabled feeds are per run.
        self._graph = self._graph_override

        def process(events: list[Event]) -> None:
            if events:
                report.add(self.pipeline.process(events, now, deliver=False))

        self._refresh_directory(now, report, fetch=files is None)
        if files is not None:
            for batch in read_files(files, report.sources):
                process(batch)
        else:
            self._poll(now, process, report)
            self._tail_exports(now, process, report)
        report.add(self._deliver(now, report, deadline=time.monotonic() + self._delivery_budget()))
        swept = self.pipeline.sweep(now)
        report.swept = swept.claims + swept.ledger + swept.outbox
        report.seconds = self.clock() - started
        return report

    def register_blob(self, registration: BlobRegistration) -> bool:
        return register_blob(self.tables, registration)

    def request_rescan(self, request: RescanRequest, now: datetime) -> None:
        request_rescan(self.tables, request, now)

    def graph(self) -> GraphClient:
        if self._graph is None:
            settings = self.settings
            token = make_token_provider(
                parse_auth_mode(settings.graph_auth), settings.graph_base_url,
                settings.azure_client_id,
            )
            self._graph = GraphClient.with_budget(
                settings.graph_base_url, token, READING_SHARE * settings.run_budget.total_seconds()
            )
        return self._graph

    def _delivery_budget(self) -> float:
        """What is left of the run budget after reading (reading may use 75 % of it)."""
        return (1 - READING_SHARE) * self.settings.run_budget.total_seconds()

    def _deliver(self, now: datetime, report: JobReport, deadline: float) -> RunReport:
        delivery = self.pipeline.deliver(now, deadline)
        report.deferred = delivery.deferred
        report.failing_sinks = delivery.failing
        for name, tally in delivery.by_sink.items():
            if tally.failed or tally.dead:
                report.sink_failures[name] = (
                    f"{tally.failed} to retry, {tally.dead} dead-lettered (last: {tally.reason})")
        return RunReport(delivered=delivery.delivered, retried=delivery.retried,
                         dead_lettered=delivery.dead_lettered)

    def _poll(self, now: datetime, process: Process, report: JobReport) -> None:
        settings = self.settings
        batch = RunBatch(process)
        poll_feeds(self.graph(), settings.feeds, self.cursors, now, settings.lookback, batch,
                   report.sources)
        batch.flush()
        for cursor in list(self.cursors.list(RESCAN_GROUP)):
            if self._rescan(cursor.name, json.loads(cursor.value), process, report):
                self.cursors.delete(cursor)  # done; an unfinished one is tried next run

    def _rescan(
        self, name: str, request: dict[str, Any], process: Process, report: JobReport
    ) -> bool:
        """Re-read the feeds for the request's window; True when every read completed."""
        start, end = (datetime.fromisoformat(request[k]) for k in ("start", "end"))
        users = {u.lower() for u in request.get("users", [])}

        def within(events: list[Event]) -> None:
            kept = [e for e in events if start <= e.time <= end and (
                not users or e.principal.lower() in users
                or str(getattr(e, "user_id", "")).lower() in users)]
            report.sources.count("rescan", len(kept))
            process(kept)

        log.info("rescan %s: %s to %s for %s", name, start, end, sorted(users) or "all users")
        complete = True
        for feed in self.settings.feeds:
            kind = FEEDS[feed].kind
            if kind is None:  # directory roles are enrichment, not events
                continue
            read = self.graph().read(feed, start=start)
            for page in read:
                within(normalized(page.records, f"rescan:{feed}", kind, report.sources))
            complete &= read.outcome.status in ("complete", "forbidden")
        return complete

    def _tail_exports(self, now: datetime, process: Process, report: JobReport) -> None:
        if self.settings.export_storage is None:
            return
        store = BlobCursorStore.create(self.tables.service, self.settings.table_prefix)
        tailer = ExportTailer(blob_service(self.settings.export_storage), store)
        tail = tailer.tail(export_handler(process, report.sources), now)
        report.sources.problems += tail.failures

    def _refresh_directory(self, now: datetime, report: JobReport, *, fetch: bool) -> None:
        """Privileged role holders for enrichment: cached in Table Storage, refreshed daily."""
        cache = DirectoryCache(self.tables)
        cached: CachedDirectory | None
        if fetch and "directoryRoles" in self.settings.feeds:
            cached = cache.get(now, lambda: self._directory_pages(report))
            if cached.error:
                report.sources.problems.append(f"directoryRoles: {cached.error}")
        else:
            cached = cache.load()
        if cached is not None:
            self.pipeline.enricher = Enricher(cached.privileged, self.settings.business_hours)

    def _directory_pages(self, report: JobReport) -> list[dict[str, Any]]:
        read = self.graph().read("directoryRoles")
        pages = [{"value": page.records} for page in read]
        if read.outcome.status != "complete":  # keep the cached map rather than an empty one
            if read.outcome.status == "forbidden":
                report.sources.disabled["directoryRoles"] = read.outcome.message
            status, message = read.outcome.status, read.outcome.message
            raise RuntimeError(f"roleAssignments read {status}: {message}")
        return pages


def configured_sinks(settings: Settings) -> list[Sink]:
    options: dict[str, Any] = {"portal_url": settings.portal_url}
    for sink in settings.sinks:
        options[f"{sink.name}_url"] = sink.url.reveal()
        options[f"{sink.name}_min_severity"] = sink.min_severity
        if sink.secret is not None:
            options["webhook_secret"] = sink.secret.reveal()
    return build_sinks(**options)


# The Event Grid handlers need only storage: a bad sink setting must not stop them.
def register_blob(tables: Tables, registration: BlobRegistration) -> bool:
    """Event Grid's BlobCreated: remember the blob; the timer tails it."""
    return BlobCursorStore.create(tables.service, tables.prefix).register(registration)


def request_rescan(tables: Tables, request: RescanRequest, now: datetime) -> None:
    """Store a rescan for the next timer run (handlers stay short and idempotent)."""
    cursors = CursorStore(tables)
    value = json.dumps(
        {"start": request.start.isoformat(), "end": request.end.isoformat(),
         "users": list(request.users)}
    )
    if cursors.load(RESCAN_GROUP, request.event_id) is None:
        with contextlib.suppress(CursorConflict):  # a concurrent redelivery stored it
            cursors.save(RESCAN_GROUP, request.event_id, value, now, None)


def state_tables(storage: StorageSettings, prefix: str) -> Tables:
    return Tables(table_service(storage), prefix)
