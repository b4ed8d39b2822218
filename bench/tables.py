"""Benchmark 2: Table Storage transactions per 1,000 sign-ins, counted at the client.

The real ``Pipeline`` with the real ``TableHistoryStore`` runs over consecutive
five-minute windows of a synthetic working day against Azurite. Every HTTP request
the azure-data-tables clients send passes azure-core's ``CustomHookPolicy`` (the
``raw_request_hook`` keyword), which counts it: nothing is mocked. Each Graph page
(1,000 sign-ins) is one ``Pipeline.process`` call, as ``service.ingest.sources.poll_feeds``
does; a run then delivers and sweeps like ``MainJob.run``. A few windows before the
measured ones are processed uncounted so the tables hold recent state.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.data.tables import TableServiceClient

from detections.enrich import Enricher
from detections.model import Event
from detections.normalize import Skip, decode
from service.run.pipeline import Pipeline
from service.state.history_store import HistoryStore, TableHistoryStore
from service.state.tables import Tables

WINDOW = timedelta(minutes=5)
PAGE = 1000  # sign-ins per Graph page: one pipeline batch each
_CREATED = re.compile(r'"createdDateTime":"([^"]+)"')


class RequestCounter:
    """Counts every request by phase and kind; a ``raw_request_hook`` for azure-core."""

    def __init__(self) -> None:
        self.scope = "setup"  # warmup, run or reread
        self.phase = "setup"
        self.counts: Counter[tuple[str, str]] = Counter()

    def __call__(self, request: Any) -> None:
        http = request.http_request
        path = http.url.split("?")[0]
        if path.endswith("$batch"):
            kind = "batch"
        elif path.endswith(")") and "PartitionKey=" in path:
            kind = "point"
        elif path.endswith("()"):
            kind = "query"
        else:
            kind = "other"
        self.counts[(f"{self.scope}:{self.phase}", f"{http.method} {kind}")] += 1

    def total(self, phase_prefix: str = "") -> int:
        return sum(n for (p, _), n in self.counts.items() if p.startswith(phase_prefix))


class PhasedHistory:
    """The real store, with the counter told which phase its requests belong to."""

    def __init__(self, store: TableHistoryStore, counter: RequestCounter) -> None:
        self.store, self.counter = store, counter

    def load(self, events: Sequence[Event]) -> Any:
        previous, self.counter.phase = self.counter.phase, "history load"
        try:
            return self.store.load(events)
        finally:
            self.counter.phase = previous

    def save(self, history: Any) -> None:
        previous, self.counter.phase = self.counter.phase, "history save"
        try:
            self.store.save(history)
        finally:
            self.counter.phase = previous


@dataclass
class TableCost:
    users: int
    page: int
    windows: list[tuple[str, int]] = field(default_factory=list)  # (start, sign-ins)
    sign_ins: int = 0
    transactions: int = 0
    by_phase: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    reread_sign_ins: int = 0
    reread_transactions: int = 0

    @property
    def per_thousand(self) -> float:
        return 1000 * self.transactions / max(1, self.sign_ins)

    @property
    def reread_per_thousand(self) -> float:
        return 1000 * self.reread_transactions / max(1, self.reread_sign_ins)


def windows_of(path: Path, first: datetime, count: int) -> Iterator[tuple[datetime, list[str]]]:
    """``count`` consecutive five-minute windows of raw lines from ``first`` on."""
    bounds = [first + i * WINDOW for i in range(count + 1)]
    texts = [b.strftime("%Y-%m-%dT%H:%M:%S") for b in bounds]
    current: list[str] = []
    index = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            found = _CREATED.search(line, 0, 400)
            if found is None or found.group(1) < texts[0]:
                continue
            while index < count and found.group(1) >= texts[index + 1]:
                yield bounds[index], current
                current, index = [], index + 1
            if index >= count:
                return
            current.append(line)
    if index < count:
        yield bounds[index], current


def _events(lines: list[str]) -> list[Event]:
    return [e for e in decode("bench", io.StringIO("".join(lines))) if not isinstance(e, Skip)]


def measure(
    connection: str, prefix: str, day: Path, users: int, first: datetime,
    warmup: int, measured: int, page: int = PAGE,
) -> TableCost:
    counter = RequestCounter()
    service = TableServiceClient.from_connection_string(connection, raw_request_hook=counter)
    tables = Tables(service, prefix)
    store = TableHistoryStore(tables)
    history: HistoryStore = PhasedHistory(store, counter)
    pipeline = Pipeline(tables, (), history_store=history, enricher=Enricher())
    result = TableCost(users, page=page)
    previous: list[Event] = []
    for number, (start, lines) in enumerate(windows_of(day, first, warmup + measured)):
        events = _events(lines)
        counted = number >= warmup
        counter.scope = "run" if counted else "warmup"
        now = start + WINDOW
        counter.phase = "rules, dedup, outbox"
        # As the job does (service.ingest.sources.RunBatch): a run's pages are judged as one batch.
        pipeline.process(events, now, deliver=False)
        counter.phase = "deliver"
        pipeline.deliver(now)
        counter.phase = "sweep"
        pipeline.sweep(now)
        if counted:
            result.windows.append((start.strftime("%H:%M"), len(events)))
            result.sign_ins += len(events)
            # The job re-reads its look-back every run: what re-reading the previous window
            # costs when it comes in the same batch as the new one.
            if previous:
                before = counter.total("reread")
                counter.scope, counter.phase = "reread", "rules, dedup, outbox"
                pipeline.process(previous + events, now, deliver=False)
                result.reread_transactions += counter.total("reread") - before
                result.reread_sign_ins += len(previous) + len(events)
        previous = events
    result.transactions = counter.total("run:")
    for (phase, kind), n in counter.counts.items():
        if phase.startswith("run:"):
            result.by_phase[phase[4:]] = result.by_phase.get(phase[4:], 0) + n
            result.by_kind[kind] = result.by_kind.get(kind, 0) + n
    return result


def default_start(day_start: datetime) -> datetime:
    """09:00 UTC of the generated working day: a busy hour for the tenant's time zones."""
    return day_start.replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=UTC)
