"""``make bench`` (``python -m bench.run [--quick]``): run every benchmark, write RESULTS.md.

Inputs are generated first (untimed) into a temporary folder; each figure is then
measured side by side with its baseline in the same run. Table Storage needs Azurite
(``RISKWATCH_STORAGE_CONNECTION``, set by ``tools/azurite.py run``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import coldstart, graph_budget, machine, memory, order, sigma, tables, throughput
from bench.data import ROOT, first_lines, tenant_day, tenant_window
from bench.export_blobs import history_before
from bench.export_path import measure_child as measure_export
from bench.report import Results, write_report


@dataclass(frozen=True)
class Sizes:
    name: str
    tenant_users: int  # one working day of this tenant feeds every benchmark
    throughput: int
    throughput_repeats: int
    memory: int
    table_warmup: int
    table_windows: int
    coldstart_repeats: int
    graph_pages: int
    tenants: tuple[int, ...]  # tenant sizes of the Table, job-time and job-memory runs
    export_tenants: tuple[int, ...]  # of those, the export-blob path's (benchmark 11)
    export_runs: int  # timer runs per export tenant, after its history is stored


FULL = Sizes("full", 100_000, 1_000_000, 1, 1_000_000, 1, 3, 15, 25,
             (10_000, 100_000, 1_000_000), (10_000, 100_000), 2)
QUICK = Sizes("quick", 10_000, 50_000, 2, 100_000, 1, 2, 7, 15, (1_000, 10_000),
              (1_000, 10_000), 2)
TINY = Sizes("tiny", 300, 2_000, 1, 2_000, 0, 1, 2, 10, (100, 300), (100, 300), 1)  # smoke test
DAY = datetime(2026, 11, 2, tzinfo=UTC)  # bench.data.START


def run(sizes: Sizes, work: Path, connection: str, out: Path) -> Results:
    started = time.perf_counter()
    log = _log
    log(f"generating a {sizes.tenant_users}-user day in {work} (untimed)")
    day = tenant_day(work / f"tenant-{sizes.tenant_users}", sizes.tenant_users)
    with day.open("rb") as handle:
        per_day = sum(1 for _ in handle)
    rows = work / f"signins-{sizes.throughput}.jsonl"
    events = first_lines(day, sizes.throughput, rows)
    big = work / f"signins-{sizes.memory}.jsonl"
    big_events = first_lines(day, sizes.memory, big)
    first = tables.default_start(DAY)
    minutes = 5 * (sizes.table_warmup + sizes.table_windows)
    windows: dict[int, Path] = {}
    for users in sorted({*sizes.tenants, sizes.tenant_users}):
        log(f"generating {minutes} minutes of a {users}-user tenant (untimed)")
        windows[users] = tenant_window(work / "windows", users, first, minutes)
    log(f"1/7 throughput over {events} sign-ins")
    through = throughput.measure(rows, sizes.throughput_repeats)
    costs = []
    for users, path in windows.items():
        log(f"2/7 table transactions, job time and memory: {users} users, "
            f"{sizes.table_windows} five-minute windows")
        costs.append(tables.measure_child(
            connection, f"bench{uuid.uuid4().hex[:8]}", path, users, first,
            sizes.table_warmup, sizes.table_windows, reread=users == sizes.tenant_users,
        ))  # fmt: skip
    cost = next(c.cost for c in costs if c.cost.users == sizes.tenant_users)
    log(f"3/7 memory over {big_events} sign-ins")
    mem = memory.measure(big, big_events)
    log(f"4/7 the same {big_events} sign-ins shuffled and reversed")
    ordering = order.measure(big, mem, work)
    log(f"5/7 cold start, {sizes.coldstart_repeats} fresh processes each")
    cold = coldstart.measure(sizes.coldstart_repeats)
    log(f"6/7 Graph budget, {sizes.graph_pages} sign-in pages")
    graph = graph_budget.measure(day, sizes.graph_pages, 1200)
    log(f"Sigma rules: scan of {events} sign-ins with and without SigmaHQ's Entra rules")
    sigma_cost = sigma.measure(rows, sizes.throughput_repeats)
    exports = []
    for users in sizes.export_tenants:
        log(f"export-blob path: {users} users, history from midnight, then "
            f"{sizes.export_runs} timer runs")
        history = history_before(work / "history", users, first,
                                 day if users == sizes.tenant_users else None)
        exports.append(measure_export(
            connection, f"bench{uuid.uuid4().hex[:8]}", windows[users], users, first, 0,
            sizes.export_runs, history))  # fmt: skip
    results = Results(
        sizes=sizes.name, machine=machine.describe(), throughput=through, tables=cost,
        memory=mem, order=ordering, coldstart=cold, graph=graph, tenant_users=sizes.tenant_users,
        sign_ins_per_day=per_day, seconds=time.perf_counter() - started,
        tenants=tuple(costs), sigma=sigma_cost, export=tuple(exports),
    )  # fmt: skip
    log("7/7 writing the report")
    write_report(results, out)
    log(f"wrote {out} in {results.seconds:.0f} s")
    return results


def _log(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI smoke sizes (about a minute)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--work", type=Path, help="keep generated inputs here (default: temp)")
    args = parser.parse_args(argv)
    connection = os.environ.get("RISKWATCH_STORAGE_CONNECTION")
    if not connection:
        print("bench: RISKWATCH_STORAGE_CONNECTION is not set; run it through "
              "`tools/azurite.py run --` (make bench does)", file=sys.stderr)  # fmt: skip
        return 2
    sizes = QUICK if args.quick else FULL
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        run(sizes, args.work, connection, args.out)
    else:
        with tempfile.TemporaryDirectory(prefix="riskwatch-bench-") as work:
            run(sizes, Path(work), connection, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
