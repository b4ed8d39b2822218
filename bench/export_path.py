"""Benchmark 11: the export-blob path, driven the way Azure drives it, against Azurite.

A tenant's five-minute windows (``bench.data.tenant_window``) become diagnostic-settings
records (``synth.shapes.diagnostic``) appended to the hour's ``PT1H.json`` append blobs of
``insights-logs-signinlogs`` and ``-noninteractiveusersigninlogs``, named as Azure Monitor
names them. A new blob gets the ``BlobCreated`` event Event Grid would send, decoded by
azure.functions' own converter and handed to the ``export_blob_created`` function; after each
window's appends the job the ``poll`` timer runs (``MainJob.run``, on the window's end as its
clock: the timer passes the wall clock, and these blobs hold a fixed day) tails the blobs.
Phases are the real methods, wrapped: each phase's own time (nested phases taken out).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from bench.export_blobs import ExportWriter
from bench.tables import RequestCounter, windows_of

WINDOW = timedelta(minutes=5)
# The phases of one timer run over the export blobs, in order; "judge" is the rules.
PHASES = (
    "cursors",
    "download",
    "decode",
    "history load",
    "judge",
    "history lock",
    "claim, outbox",
    "history save",
    "deliver",
    "sweep",
    "other",
)
STATE_PHASES = ("cursors", "history load", "history lock", "history save")  # per chunk
EVENT_PHASES = ("download", "decode", "judge", "claim, outbox")  # per sign-in
RUN_PHASES = ("deliver", "sweep", "other")  # per run


@dataclass
class ExportCost:
    users: int
    windows: list[tuple[str, int]] = field(default_factory=list)  # counted runs: start, sign-ins
    sign_ins: int = 0  # judged by the counted runs
    chunks: int = 0  # judgements the counted runs made (a run's reads are merged)
    bytes: int = 0  # appended for the counted runs
    container_bytes: dict[str, int] = field(default_factory=dict)  # the same, per container
    blobs: int = 0  # BlobCreated events handled (every run)
    register_seconds: float = 0.0  # the export_blob_created calls, all of them
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> counted runs' total
    run_seconds: list[float] = field(default_factory=list)  # wall time of each counted run
    requests: int = 0  # Table requests of the job's client in the counted runs
    alerts: int = 0  # raised by the counted runs (ordinary activity)
    history_sign_ins: int = 0  # stored first by ``riskwatch baseline`` (untimed)
    peak_mb: float = 0.0  # VmHWM of the child that ran it all

    @property
    def runs(self) -> int:
        return len(self.windows)

    def per_run(self, phase: str | None = None) -> float:
        """Mean seconds of one counted run (of one phase of it)."""
        total = self.seconds.get(phase, 0.0) if phase else sum(self.run_seconds)
        return total / max(1, self.runs)

    def share(self, phases: tuple[str, ...]) -> float:
        return sum(self.seconds.get(p, 0.0) for p in phases)

    @property
    def sign_ins_per_second(self) -> float:
        return self.sign_ins / max(1e-9, sum(self.run_seconds))


class PhaseClock:
    """Wraps methods so their wall time goes to a phase, each call's own time only."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._inner: list[float] = []  # time of timed calls nested in each open call

    def wrap(
        self, phase: str, function: Callable[..., Any], *, listed: bool = False
    ) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            self._inner.append(0.0)
            try:
                result = function(*args, **kwargs)
                return list(result) if listed else result  # a generator's work inside
            finally:
                spent = time.perf_counter() - started
                inner = self._inner.pop()
                self.seconds[phase] = self.seconds.get(phase, 0.0) + spent - inner
                self.calls[phase] = self.calls.get(phase, 0) + 1
                if self._inner:
                    self._inner[-1] += spent

        return timed

    @contextmanager
    def installed(self) -> Iterator[None]:
        from service.ingest import sources
        from service.ingest.export import BlobCursorStore, ExportTailer
        from service.run.pipeline import Pipeline
        from service.state.history_store import TableHistoryStore

        targets: list[tuple[Any, str, str]] = [
            (ExportTailer, "read", "download"),
            (ExportTailer, "commit", "cursors"),
            (BlobCursorStore, "active", "cursors"),
            (BlobCursorStore, "get", "cursors"),
            (Pipeline, "judge", "judge"),
            (Pipeline, "_claim", "claim, outbox"),
            (Pipeline, "deliver", "deliver"),
            (Pipeline, "sweep", "sweep"),
            (TableHistoryStore, "load", "history load"),
            (TableHistoryStore, "load_locked", "history load"),
            (TableHistoryStore, "reserve", "history lock"),
            (TableHistoryStore, "release", "history lock"),
            (TableHistoryStore, "save", "history save"),
        ]
        with ExitStack() as stack:
            for owner, name, phase in targets:
                stack.enter_context(
                    mock.patch.object(owner, name, self.wrap(phase, getattr(owner, name)))
                )
            decode = sources.decode_json_line  # type: ignore[attr-defined]
            stack.enter_context(
                mock.patch.object(
                    sources, "decode_json_line", self.wrap("decode", decode, listed=True)
                )
            )
            yield


def measure(
    connection: str,
    prefix: str,
    day: Path,
    users: int,
    first: datetime,
    warmup: int,
    measured: int,
    history: Path | None = None,
) -> ExportCost:
    """``warmup`` uncounted then ``measured`` counted timer runs, each after one five-minute
    window of ``day`` (JSON lines of Graph-shaped sign-ins in time order) was appended;
    ``history`` (the tenant's earlier sign-ins) is first stored by ``riskwatch baseline``."""
    from azure.data.tables import TableServiceClient
    from azure.functions import meta
    from azure.functions.eventgrid import EventGridEventInConverter

    from service.functions import triggers
    from service.run.job import MainJob
    from service.settings import load_settings
    from service.state.tables import Tables
    from tests.graph_server import GraphServer, SimulatedClock, simulated_client

    # What the Functions host gives the app: the state account, read by the Event Grid handler.
    os.environ.update({"RISKWATCH_STORAGE": connection, "RISKWATCH_TABLE_PREFIX": prefix})
    result = ExportCost(users)
    if history is not None:  # the tenant's stored history, in a child: untimed, not in the peak
        import subprocess

        subprocess.run(
            [sys.executable, "-m", "service.cli.commands", "baseline", str(history)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with history.open("rb") as handle:
            result.history_sign_ins = sum(1 for _ in handle)

    def deliver_event(event: dict[str, Any]) -> None:
        started = time.perf_counter()
        decoded = EventGridEventInConverter.decode(
            meta.Datum(type="json", value=json.dumps(event)), trigger_metadata=None
        )
        triggers.export_blob_created(decoded)
        result.register_seconds += time.perf_counter() - started
        result.blobs += 1

    clock, counter, phases = SimulatedClock(), RequestCounter(), PhaseClock()
    writer = ExportWriter(connection, deliver_event)
    with GraphServer(clock.time) as graph:  # riskDetections only, and empty: no sign-in feed
        settings = load_settings(
            {
                "RISKWATCH_STORAGE": connection,
                "RISKWATCH_TABLE_PREFIX": prefix,
                "RISKWATCH_EXPORT_STORAGE": connection,
                "RISKWATCH_FEEDS": "riskDetections",
                "RISKWATCH_GRAPH_BASE_URL": graph.base_url,
                "RISKWATCH_GRAPH_AUTH": "none",
            }
        )
        job = MainJob(settings, sinks=[], graph=simulated_client(graph, clock))
        service = TableServiceClient.from_connection_string(connection, raw_request_hook=counter)
        job.tables = Tables(service, prefix)  # the job's own client, its requests counted
        for number, (start, lines) in enumerate(windows_of(day, first, warmup + measured)):
            written = writer.append(lines)
            counted = number >= warmup
            counter.scope = "run" if counted else "warmup"
            before = dict(phases.seconds), dict(phases.calls)
            with phases.installed():
                started = time.perf_counter()
                report = job.run(start + WINDOW)
                spent = time.perf_counter() - started
            if report.sources.problems:
                raise RuntimeError(f"export tail failed: {report.sources.problems[:3]}")
            if not counted:
                continue
            result.windows.append((start.strftime("%H:%M"), report.sources.events.get("export", 0)))
            result.sign_ins += report.sources.events.get("export", 0)
            result.alerts += report.run.alerts_raised
            result.chunks += phases.calls.get("judge", 0) - before[1].get("judge", 0)
            result.bytes += sum(written.values())
            for container, n in written.items():
                result.container_bytes[container] = result.container_bytes.get(container, 0) + n
            result.run_seconds.append(spent)
            timed = {p: phases.seconds.get(p, 0.0) - before[0].get(p, 0.0) for p in phases.seconds}
            timed["other"] = max(0.0, spent - sum(timed.values()))
            for phase in PHASES:
                result.seconds[phase] = result.seconds.get(phase, 0.0) + timed.get(phase, 0.0)
    result.requests = counter.total("run:")
    return result


def measure_child(
    connection: str,
    prefix: str,
    path: Path,
    users: int,
    first: datetime,
    warmup: int,
    measured: int,
    history: Path | None = None,
) -> ExportCost:
    """``measure`` in a fresh interpreter (its own app globals); its VmHWM is the peak."""
    from bench.memory import HWM, peak_rss_mb

    code = (
        "import json, sys; from datetime import datetime; from pathlib import Path; "
        "from dataclasses import asdict; from bench.export_path import measure; "
        "a = json.loads(sys.argv[1]); cost = measure(a['c'], a['p'], Path(a['f']), a['u'], "
        "datetime.fromisoformat(a['t']), a['w'], a['m'], a['h'] and Path(a['h'])); "
        "sys.stderr.write('\\nEXPORT ' + json.dumps(asdict(cost)) + '\\n');" + HWM
    )
    arg = {
        "c": connection,
        "p": prefix,
        "f": str(path),
        "u": users,
        "t": first.isoformat(),
        "w": warmup,
        "m": measured,
        "h": str(history) if history else None,
    }
    peak, _, err = peak_rss_mb([sys.executable, "-c", code, json.dumps(arg)])
    found = [x for x in err.splitlines() if x.startswith("EXPORT ")]
    if not found:
        raise RuntimeError(f"export benchmark child failed:\n{err[-3000:]}")
    data = json.loads(found[-1][7:])
    data["windows"] = [tuple(w) for w in data["windows"]]
    data["peak_mb"] = peak
    return ExportCost(**data)


if __name__ == "__main__":  # python -m bench.export_path CONNECTION WINDOWS USERS RUNS [HISTORY]
    from bench.run import DAY
    from bench.tables import default_start

    history = Path(sys.argv[5]) if len(sys.argv) > 5 else None
    warmup = 0 if history else 1  # a stored history already filled the tables, as in bench.run
    cost = measure_child(
        sys.argv[1],
        f"bx{uuid.uuid4().hex[:8]}",
        Path(sys.argv[2]),
        int(sys.argv[3]),
        default_start(DAY),
        warmup,
        int(sys.argv[4]),
        history,
    )
    print(json.dumps(asdict(cost), indent=1))
