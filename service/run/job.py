"""The job: one run of Riskwatch, as the timer (and ``riskwatch run --once``) runs it.

A run walks forward only:

1. ``build_run`` (``service.run.parts``) builds the run's parts once: Table Storage
   clients and stores, a fresh Graph client (its deadline and 403-disabled feeds are per
   run), the directory's privileged map read once, and the pipeline with that run's
   enricher and the sinks;
2. the sources (``service.ingest.sources``) yield batches: events plus the cursor positions
   they would commit;
3. the pipeline (``service.run.pipeline``) judges each batch, its alerts reach the outbox,
   and it returns what it did;
4. the job commits the batch's cursors, and only then asks for the next batch (a batch
   merges a run's Graph pages or export reads, read ahead of their commits, which then
   commit in order: ``merged``);
5. the response policy (RISKWATCH_RESPONSE_MODE), once, over the incidents every batch
   joined (also when a batch failed, for those judged before it);
6. delivery (until the run budget's deadline on the injected clock), then the sweep.

Heavy SDK imports live here, not in the trigger module, so a cold start only
pays for them when a function actually runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceModifiedError

from service.delivery.base import Sink
from service.delivery.factory import build_sinks
from service.ingest.event_grid_work import register_blob, state_tables
from service.ingest.export import BlobRegistration
from service.ingest.graph.client import GraphClient
from service.ingest.sources import (
    Batch,
    BlobCommit,
    FeedCommit,
    RescanDone,
    SourceReport,
    export_batches,
    file_batches,
    merged,
    poll_feeds,
    rescan_batches,
)
from service.response.executor import Responder
from service.response.policy_run import Touched
from service.run.parts import READING_SHARE, RunParts, build_run
from service.run.pipeline import Pipeline, RunReport
from service.run.report import JobReport
from service.settings import Settings
from service.sigma.loader import rules_from_setting

__all__ = [
    "READING_SHARE", "JobReport", "MainJob", "RunParts", "build_run", "configured_sinks",
    "state_tables",
]

log = logging.getLogger("riskwatch.job")
# A backlog of export blobs stops being read at half the budget: the last read's batch is
# judged after it (up to RUN_BATCH_LIMIT events), before the delivery's share.
EXPORT_READING_SHARE = 0.5
Clock = Callable[[], float]  # seconds, monotonic


class MainJob:
    """The job over the configured sources, state and sinks; ``run`` is one run."""

    def __init__(
        self,
        settings: Settings,
        *,
        sinks: Sequence[Sink] | None = None,
        graph: GraphClient | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sinks = list(sinks) if sinks is not None else configured_sinks(settings)
        # One TableServiceClient per worker process, reused by every run.
        self.tables = state_tables(settings.storage, settings.table_prefix)
        self._graph_override = graph  # tests inject a client on a simulated clock
        self.clock = clock
        self.parts: RunParts | None = None  # the last run's parts, for inspection
        self._responder: Responder | None = None  # this run's (RISKWATCH_RESPONSE_MODE)
        # RISKWATCH_SIGMA_RULES, read and compiled once per worker (service.sigma.loader).
        self.sigma_rules = rules_from_setting(settings.sigma_rules)

    def run(self, now: datetime, *, files: Iterable[Path] | None = None) -> JobReport:
        started = self.clock()
        report = JobReport()
        self._responder = self._build_responder()
        parts = build_run(
            self.settings, now, report.sources, sinks=self.sinks, tables=self.tables,
            graph=self._graph_override, reads_graph=files is None,
            sigma_rules=self.sigma_rules, responder=self._responder,
        )
        self.parts = parts
        touched = Touched()
        try:
            export_until = started + EXPORT_READING_SHARE * self.settings.run_budget.total_seconds()
            batches = self._batches(parts, now, report.sources, files, export_until)
            for batch, guarded in batches:
                self._judge(parts, batch, now, report, touched, guarded=guarded)
        finally:  # the incidents judged so far are stored: the policy sees them this run
            self._respond(parts, touched, now, report)
        deadline = self.clock() + (1 - READING_SHARE) * self.settings.run_budget.total_seconds()
        report.add(self._deliver(parts.pipeline, now, report, deadline))
        swept = parts.pipeline.sweep(now)
        report.swept = swept.claims + swept.ledger + swept.outbox
        report.seconds = self.clock() - started
        return report

    def _build_responder(self) -> Responder | None:
        """The response policy's part of the run (None when RISKWATCH_RESPONSE_MODE=off)."""
        from service.response.policy_run import build_responder

        return build_responder(self.settings, self.tables)

    def run_batch(self, batch: Batch, now: datetime, sources: SourceReport) -> JobReport:
        """One pushed batch (the Event Hubs trigger, ``service.ingest.eventhub``): judged,
        committed, delivered, in the order ``run`` takes a polled one. No Graph, no tailer
        and no sweep (the timer's); there is no cursor: the host checkpoints once this
        returns, so a failure raises and the host delivers the batch again."""
        started = self.clock()
        report = JobReport(sources=sources)
        self._responder = self._build_responder()
        parts = build_run(self.settings, now, report.sources, sinks=self.sinks,
                          tables=self.tables, reads_graph=False, sigma_rules=self.sigma_rules,
                          responder=self._responder)
        self.parts = parts
        if batch.events:
            judged = parts.pipeline.judge(batch.events, now, batch.raw)
            report.add(judged)
            report.run.history_conflicts += judged.history_conflicts
            if self._responder is not None:  # once per invocation
                touched = Touched()
                touched.add(judged.touched.values())
                self._respond(parts, touched, now, report)
        deadline = self.clock() + (1 - READING_SHARE) * self.settings.run_budget.total_seconds()
        report.add(self._deliver(parts.pipeline, now, report, deadline))
        report.seconds = self.clock() - started
        return report

    def register_blob(self, registration: BlobRegistration) -> bool:
        return register_blob(self.tables, registration)

    def _batches(
        self, parts: RunParts, now: datetime, sources: SourceReport,
        files: Iterable[Path] | None, export_until: float,
    ) -> Iterator[tuple[Batch, bool]]:
        """Every batch of the run in order, and whether a failure judging it stays with
        its source (an export blob never blocks the others) rather than stopping the run."""
        if files is not None:
            yield from ((b, False) for b in file_batches(files, sources))
            return
        settings = self.settings
        if parts.graph is not None:
            feeds = poll_feeds(parts.graph, settings.feeds, parts.cursors, now,
                               settings.lookback, sources)
            yield from ((b, False) for b in merged(feeds))
            rescans = rescan_batches(parts.graph, settings.feeds, parts.cursors, sources)
            yield from ((b, False) for b in merged(rescans))  # one judgement, as for feeds
        if parts.tailer is not None:
            # One judgement per run here too: each 4 MiB read touches nearly every history
            # pack, so judging reads one by one cost a history load and save each (bench 11).
            def spent() -> bool:
                return self.clock() >= export_until

            exports = export_batches(parts.tailer, now, sources, spent)
            yield from ((b, True) for b in merged(exports))

    def _judge(
        self, parts: RunParts, batch: Batch, now: datetime, report: JobReport,
        touched: Touched, *, guarded: bool,
    ) -> None:
        """Judge one batch (its alerts reach the outbox, its incidents are joined and their
        evidence written: ``touched`` keeps them for the run's response policy), then commit
        its cursors."""
        try:
            if batch.events:
                judged = parts.pipeline.judge(batch.events, now, batch.raw)
                report.add(judged)
                if self._responder is not None:  # the policy's input (RESPONSE_MODE not off)
                    touched.add(judged.touched.values())
            for commit in batch.commits:
                self._commit(parts, commit, now)
        except Exception as exc:
            if not guarded:
                raise
            where = ", ".join(c.chunk.cursor.source for c in batch.commits
                              if isinstance(c, BlobCommit))  # fmt: skip
            why = "cursor moved by another run; skipped" if isinstance(
                exc, ResourceModifiedError) else f"{type(exc).__name__}: {exc}"
            report.sources.problems.append(f"{where}: {why}")
            log.exception("export blob %s failed; offset kept", where)

    def _respond(self, parts: RunParts, touched: Touched, now: datetime,
                 report: JobReport) -> None:
        """RISKWATCH_RESPONSE_MODE plan or enforce: the policy, once, on the incidents the
        run's batches joined (``service.response.policy_run``); a failure here is reported,
        never blocks the run."""
        responder = self._responder
        if responder is None:
            return
        from service.response.policy_run import run_policy

        try:
            done = run_policy(parts.tables, responder, self.settings.response.mode,
                              touched.principals, now, user_ids=touched.user_ids)
        except Exception as exc:  # storage or Graph down: reported, the next run retries
            log.exception("response policy failed")
            report.response_failures.append(f"policy failed: {type(exc).__name__}: {exc}")
            return
        report.response_proposed += done.proposed
        report.response_done += done.done
        report.response_failures += done.failed

    def _commit(self, parts: RunParts, commit: FeedCommit | BlobCommit | RescanDone,
                now: datetime) -> None:
        if isinstance(commit, FeedCommit):
            parts.cursors.save("feed", commit.feed, commit.watermark, now, commit.expected)
        elif isinstance(commit, BlobCommit):
            assert parts.tailer is not None  # noqa: S101 - blob batches come from the tailer
            parts.tailer.commit(commit.chunk)
        else:
            parts.cursors.delete(commit.request)  # done; an unfinished one is tried next run

    def _deliver(
        self, pipeline: Pipeline, now: datetime, report: JobReport, deadline: float
    ) -> RunReport:
        delivery = pipeline.deliver(now, deadline, clock=self.clock)
        report.deferred = delivery.deferred
        report.failing_sinks = delivery.failing
        for name, tally in delivery.by_sink.items():
            if tally.failed or tally.dead:
                report.sink_failures[name] = (
                    f"{tally.failed} to retry, {tally.dead} dead-lettered (last: {tally.reason})")
        return RunReport(delivered=delivery.delivered, retried=delivery.retried,
                         dead_lettered=delivery.dead_lettered)


def configured_sinks(settings: Settings) -> list[Sink]:
    options: dict[str, Any] = {"portal_url": settings.portal_url}
    for sink in settings.sinks:
        options[f"{sink.name}_url"] = sink.url.reveal()
        options[f"{sink.name}_min_severity"] = sink.min_severity
        if sink.secret is not None:
            options["webhook_secret"] = sink.secret.reveal()
    return build_sinks(**options)
