"""Benchmark 2: Table Storage transactions per 1,000 sign-ins, counted at the client.

The real ``Pipeline`` with the real ``TableHistoryStore`` runs over consecutive
five-minute windows of a synthetic tenant against Azurite. Every HTTP request
the azure-data-tables clients send passes azure-core's ``CustomHookPolicy`` (the
``raw_request_hook`` keyword), which counts it: nothing is mocked. A run's pages are
judged as one batch (one ``Pipeline.judge``, as ``service.ingest.sources.RunBatch`` does);
the run then delivers and sweeps like ``MainJob.run``. A window before the measured ones
is processed uncounted so the tables hold recent state. The wall time of each phase
(load history, judge, lock, claim/outbox, save history, deliver, sweep) is taken too.
"""

from __future__ import annotations

import io
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
        self.seconds: dict[str, float] = {}  # wall time by "scope:phase"

    @contextmanager
    def within(self, phase: str) -> Iterator[None]:
        """Requests and wall time of the block go to ``phase`` (nested blocks are subtracted
        from the enclosing phase's time by the caller's arithmetic, see ``measure``)."""
        previous, self.phase = self.phase, phase
        started = time.perf_counter()
        try:
            yield
        finally:
            key = f"{self.scope}:{phase}"
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started
            self.phase = previous

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
        with self.counter.within("history load"):
            return self.store.load(events)

    def load_locked(self, events: Sequence[Event], now: datetime) -> Any:
        # As the job's store: the tenant window (and contended keys) locked before judging.
        with self.counter.within("history load"):
            return self.store.load_locked(events, now)

    def reserve(self, history: Any, now: datetime) -> bool:
        with self.counter.within("history lock"):
            return bool(self.store.reserve(history, now))

    def release(self, history: Any) -> None:
        with self.counter.within("history lock"):
            self.store.release(history)

    def save(self, history: Any) -> None:
        with self.counter.within("history save"):
            self.store.save(history)


class PhasedPipeline(Pipeline):
    """The real pipeline; only the claim step is timed apart from the judging around it."""

    counter: RequestCounter

    def _claim(self, *args: Any, **kwargs: Any) -> None:
        with self.counter.within("claim, outbox"):
            super()._claim(*args, **kwargs)


# The phases of one run, in order; "judge" is the rules over the batch (what judge() spends
# outside the store and the claims).
PHASES = ("history load", "judge", "history lock", "claim, outbox", "history save", "deliver",
          "sweep")


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
    seconds: dict[str, float] = field(default_factory=dict)  # wall time by phase, all runs

    @property
    def per_thousand(self) -> float:
        return 1000 * self.transactions / max(1, self.sign_ins)

    @property
    def runs(self) -> int:
        return len(self.windows)

    @property
    def per_run(self) -> float:
        return self.transactions / max(1, self.runs)

    @property
    def sign_ins_per_run(self) -> float:
        return self.sign_ins / max(1, self.runs)

    def run_seconds(self, phase: str | None = None) -> float:
        """Mean wall time of one run (of one phase of it)."""
        total = self.seconds.get(phase, 0.0) if phase else sum(self.seconds.values())
        return total / max(1, self.runs)

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
    warmup: int, measured: int, page: int = PAGE, *, reread: bool = True,
) -> TableCost:
    """``warmup`` uncounted then ``measured`` counted five-minute runs over ``day`` (any
    JSON-lines file of sign-ins in time order) from ``first``."""
    counter = RequestCounter()
    service = TableServiceClient.from_connection_string(connection, raw_request_hook=counter)
    tables = Tables(service, prefix)
    store = TableHistoryStore(tables)
    history: HistoryStore = PhasedHistory(store, counter)
    pipeline = PhasedPipeline(tables, (), history_store=history, enricher=Enricher())
    pipeline.counter = counter
    result = TableCost(users, page=page)
    previous: list[Event] = []
    for number, (start, lines) in enumerate(windows_of(day, first, warmup + measured)):
        events = _events(lines)
        counted = number >= warmup
        counter.scope = "run" if counted else "warmup"
        now = start + WINDOW
        # As the job does (service.ingest.sources.RunBatch): a run's pages are judged as one batch.
        with counter.within("judge"):
            pipeline.judge(events, now)
        with counter.within("deliver"):
            pipeline.deliver(now)
        with counter.within("sweep"):
            pipeline.sweep(now)
        if counted:
            result.windows.append((start.strftime("%H:%M"), len(events)))
            result.sign_ins += len(events)
            # The job re-reads its look-back every run: what re-reading the previous window
            # costs when it comes in the same batch as the new one.
            if previous and reread:
                before = counter.total("reread")
                counter.scope = "reread"
                with counter.within("judge"):
                    pipeline.judge(previous + events, now)
                result.reread_transactions += counter.total("reread") - before
                result.reread_sign_ins += len(previous) + len(events)
        previous = events
    result.transactions = counter.total("run:")
    for (phase, kind), n in counter.counts.items():
        if phase.startswith("run:"):
            result.by_phase[phase[4:]] = result.by_phase.get(phase[4:], 0) + n
            result.by_kind[kind] = result.by_kind.get(kind, 0) + n
    spent = {p[4:]: t for p, t in counter.seconds.items() if p.startswith("run:")}
    # judge() holds the store's phases and the claims: its own time is what is left.
    inner = sum(spent.get(p, 0.0) for p in ("history load", "history lock", "claim, outbox",
                                            "history save"))
    spent["judge"] = max(0.0, spent.get("judge", 0.0) - inner)
    result.seconds = {p: spent.get(p, 0.0) for p in PHASES}
    return result


def default_start(day_start: datetime) -> datetime:
    """09:00 UTC of the generated working day: a busy hour for the tenant's time zones."""
    return day_start.replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=UTC)


@dataclass(frozen=True)
class TenantCost:
    """One tenant's runs, measured in a child process of its own: its peak RSS is the job's."""

    cost: TableCost
    peak_mb: float


def measure_child(
    connection: str, prefix: str, path: Path, users: int, first: datetime,
    warmup: int, measured: int, *, reread: bool = False,
) -> TenantCost:
    """``measure`` in a fresh interpreter; the peak RSS (``VmHWM``) is that child's alone."""
    import json

    from bench.memory import HWM, peak_rss_mb

    code = ("import json, sys; from datetime import datetime; from pathlib import Path; "
            "from dataclasses import asdict; from bench.tables import measure; "
            "a = json.loads(sys.argv[1]); cost = measure(a['c'], a['p'], Path(a['f']), a['u'], "
            "datetime.fromisoformat(a['t']), a['w'], a['m'], reread=a['r']); "
            "sys.stderr.write('\\nCOST ' + json.dumps(asdict(cost)) + '\\n');" + HWM)
    arg = {"c": connection, "p": prefix, "f": str(path), "u": users, "t": first.isoformat(),
           "w": warmup, "m": measured, "r": reread}
    peak, _, err = peak_rss_mb([sys.executable, "-c", code, json.dumps(arg)])
    line = next(x for x in reversed(err.splitlines()) if x.startswith("COST "))
    data = json.loads(line[5:])
    data["windows"] = [tuple(w) for w in data["windows"]]
    return TenantCost(TableCost(**data), peak)
