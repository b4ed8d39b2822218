"""RESULTS.md, written from one run's measurements (never by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.coldstart import ColdStart
from bench.data import SHARD_USERS
from bench.export_path import ExportCost
from bench.export_report import export_row, export_section
from bench.graph_budget import GraphBudget
from bench.memory import Memory
from bench.order import SHUFFLE_SEED, Order
from bench.sigma import SigmaCost, sigma_row, sigma_section
from bench.tables import PHASES, TableCost, TenantCost
from bench.throughput import Throughput
from detections.registry import all_rules
from service.cli.scan import CHUNK_EVENTS
from service.ingest.sources import SIGN_IN_LOOKBACK
from service.run.job import READING_SHARE

# RISKWATCH_RUN_BUDGET_SECONDS default, of which the job reads for READING_SHARE.
RUN_BUDGET = 480.0 * READING_SHARE
PERIOD = timedelta(minutes=5)  # RISKWATCH_SCHEDULE default
INSTANCE_MB = 2048  # infra/modules/functionapp.bicep instanceMemoryMB (Flex Consumption)
SCAN_MB = 400  # issue 16: peak RSS of a million-sign-in scan below this (MiB, as measured)
LOOKBACK = SIGN_IN_LOOKBACK  # what the sign-in feeds re-read every run


@dataclass(frozen=True)
class Results:
    sizes: str
    machine: dict[str, str]
    throughput: Throughput
    tables: TableCost  # the main tenant's (tenant_users) runs
    memory: Memory
    order: Order
    coldstart: ColdStart
    graph: GraphBudget
    tenant_users: int
    sign_ins_per_day: int
    seconds: float
    tenants: tuple[TenantCost, ...] = ()  # every tenant size's runs, smallest first
    sigma: SigmaCost | None = None  # benchmark 10: scan with SigmaHQ's Entra rules
    export: tuple[ExportCost, ...] = ()  # benchmark 11: the export-blob path, by tenant size

    @property
    def main_tenant(self) -> TenantCost | None:
        return next((t for t in self.tenants if t.cost.users == self.tenant_users), None)


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def render(r: Results) -> str:
    t, c, m, s, g = r.throughput, r.tables, r.memory, r.coldstart, r.graph
    day = r.sign_ins_per_day
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python -m bench.run{' --quick' if r.sizes == 'quick' else ''}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({r.sizes} sizes, whole run {r.seconds:.0f} s).",
        "Inputs: one synthetic working day of a "
        f"{r.tenant_users:,}-user tenant (`python -m synth --stream --no-stories`, "
        f"{day:,} sign-ins), generated before any timing.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in r.machine.items()],
        "",
        "| # | benchmark | measured | baseline | ratio / figure | target | verdict |",
        "|---|---|---|---|---|---|---|",
        f"| 1 | rule throughput, {t.events:,} sign-ins | scan {t.scan_seconds:.1f} s "
        f"({t.scan_rate:,.0f} events/s) | json.loads {t.parse_seconds:.1f} s "
        f"({t.parse_rate:,.0f} lines/s) | {t.ratio:.1f}x | <= 3x (2x goal) "
        f"| {_verdict(t.ratio <= 3)} |",
        f"| 2 | Table transactions, {c.users:,}-user tenant | {c.transactions:,} requests "
        f"for {c.sign_ins:,} sign-ins | - | {c.per_thousand:,.0f} per 1,000 sign-ins | <= 25 "
        f"| {_verdict(c.per_thousand <= 25)} |",
        f"| 3 | peak RSS, `riskwatch scan` of {m.events:,} sign-ins | {m.scan_mb:,.1f} MB | "
        f"imports only {m.imports_mb:,.0f} MB | +{m.difference_mb:,.0f} MB ({m.ratio:.1f}x) "
        f"| < {SCAN_MB} MB | {_verdict(m.scan_mb < SCAN_MB)} |",
        f"| 4 | cold start (median of {s.repeats}) | import function_app "
        f"{s.app_import * 1000:.0f} ms | import azure.functions {s.functions_import * 1000:.0f} ms"
        f" | {s.ratio:.2f}x (whole process {s.process_ratio:.2f}x) | <= 1.5x "
        f"| {_verdict(s.ratio <= 1.5)} |",
        f"| 5 | Graph sign-in pages per {RUN_BUDGET:.0f} s run | {g.sign_in_pages} pages in "
        f"{g.sign_in_seconds:.0f} simulated s | 5 per 10 s documented | "
        f"{g.pages_within(RUN_BUDGET)} pages per run | - | see below |",
        _order_row(r.order),
        *_scale_rows(r),
        *([sigma_row(r.sigma)] if r.sigma else []),
        *([export_row(r.export, r.tenant_users, day)] if r.export else []),
        "",
    ]
    lines += _throughput(t) + _tables(c) + _memory(m) + _coldstart(s) + _graph(g, day, r)
    lines += _order(r.order) + _scale(r)
    lines += sigma_section(r.sigma) if r.sigma else []
    lines += export_section(r.export, r.tenant_users) if r.export else []
    return "\n".join(lines) + "\n"


def _throughput(t: Throughput) -> list[str]:
    return [
        "## 1. Rule throughput",
        f"`service.cli.scan.scan` (decode, normalize, all {len(all_rules())} registry rules with "
        "the Enricher, "
        f"correlation history in memory, alert grouping) read {t.events:,} sign-ins at "
        f"{t.scan_rate:,.0f} events/s; parsing the same file with `json.loads` per line ran "
        f"at {t.parse_rate:,.0f} lines/s. Each side ran in its own child process, "
        f"imports and rule loading untimed. {t.alerts} alerts (ordinary activity only).",
        "",
        "Verdict: " + ("met (3x for issue 16; 2x stays the goal)." if t.ratio <= 3 else
                       f"not met ({t.ratio:.1f}x). json.loads is C; each sign-in then "
                       "becomes a frozen dataclass of about 40 fields with parsed times "
                       "(about 3x json.loads on its own), the history records it (ids seen, "
                       "successes, sessions, apps, per-IP windows: about 4x) and "
                       f"{len(all_rules())} rules run over it (about 5x), all in pure Python "
                       "(CPU profile of 100,000 sign-ins). Rules are indexed by event kind "
                       "and the hot predicates build nothing per event; 3x would need the "
                       "normalizer and the history in compiled code (or a normalizer that "
                       "builds only the fields the rules read), not more tuning."),
        "",
    ]


def _tables(c: TableCost) -> list[str]:
    phases = ", ".join(f"{k} {v:,}" for k, v in sorted(c.by_phase.items(), key=lambda i: -i[1]))
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(c.by_kind.items(), key=lambda i: -i[1]))
    windows = ", ".join(f"{start} ({n:,})" for start, n in c.windows)
    return [
        "## 2. Table Storage transactions",
        "The real `Pipeline` with `TableHistoryStore` against Azurite, one `judge` call per "
        "five-minute window (the job judges a run's Graph pages as one batch), then deliver "
        "and sweep, "
        f"over consecutive five-minute windows starting {windows} (a sample of the day, "
        "not all of it; one window before them ran uncounted to fill the tables). Every HTTP "
        "request of the real clients was counted by azure-core's `raw_request_hook`.",
        "",
        f"- By phase: {phases}.",
        f"- By request: {kinds}.",
        "- Re-reading already-seen sign-ins (the job re-reads two hours of sign-ins every run), "
        "the previous and current windows again in one batch: "
        f"{c.reread_per_thousand:,.0f} transactions per 1,000 re-read sign-ins.",
        "",
        "Verdict: " + ("met." if c.per_thousand <= 25 else
                       f"not met ({c.per_thousand:,.0f} per 1,000): a run costs "
                       f"{c.per_run:,.0f} requests for {c.sign_ins_per_run:,.0f} sign-ins; "
                       "section 7 shows how the requests per run grow with the tenant "
                       "(a run's fixed requests, the tenant-wide row, the locks and the "
                       "sweep, weigh most in a small window)."),
        "",
    ]


def _memory(m: Memory) -> list[str]:
    return [
        "## 3. Memory",
        "Peak RSS (`VmHWM` reported by the child itself) of `riskwatch scan` "
        f"(`service.cli.commands.main`) "
        f"over {m.events:,} sign-ins: {m.scan_mb:,.1f} MB ({m.scan_seconds:.0f} s; MB are MiB, "
        "VmHWM kB / 1024); a child "
        f"that only imports the same modules and loads the rules: {m.imports_mb:,.0f} MB.",
        "",
        "Verdict: " + (f"met ({SCAN_MB - m.scan_mb:,.1f} MB to spare)." if m.scan_mb < SCAN_MB else
                       f"not met ({m.scan_mb:,.1f} MB). The input is streamed (in time "
                       "order it is judged as read; 5,500 events held to put it in order, "
                       "their repeated texts shared). The history keeps its windows as "
                       "columns (times and ids in arrays, details shared) and the ids it has "
                       "seen packed: 324 MB of objects at a million sign-ins of 98,000 users "
                       "(an object census: 563,000 arrays 87 MB, a 64-byte header each; "
                       "details tuples 51 MB; strings 37 MB; seen ids 30 MB; familiarity "
                       "20 MB), about sixteen small objects per user and ten per address. "
                       "Below "
                       f"{SCAN_MB} MB needs fewer of them (one packed buffer per user instead of "
                       "five windows, their arrays and wrappers) or idle users spilled."),
        "",
    ]


def _coldstart(s: ColdStart) -> list[str]:
    return [
        "## 4. Cold start",
        f"Median over {s.repeats} fresh interpreters each, alternating: `import function_app` "
        f"{s.app_import * 1000:.0f} ms, `import azure.functions` {s.functions_import * 1000:.0f}"
        f" ms (timed inside the child); whole processes {s.app_process * 1000:.0f} ms vs "
        f"{s.functions_process * 1000:.0f} ms. The triggers import the job and the SDKs on "
        "first use.",
        "",
        "Verdict: " + ("met." if s.ratio <= 1.5 else f"not met ({s.ratio:.2f}x)."),
        "",
    ]


def _graph(g: GraphBudget, day: int, r: Results) -> list[str]:
    per_run = g.pages_within(RUN_BUDGET)
    users_per_signins = r.tenant_users / max(1, day)
    tenants = []
    for hours in (48, 6, LOOKBACK.total_seconds() / 3600, 1):
        fits = g.sign_ins_per_day(RUN_BUDGET, timedelta(hours=hours), PERIOD)
        tenants.append(f"| {hours:g} h | {fits:,} | about {fits * users_per_signins:,.0f} |")
    needed = int(day * (LOOKBACK + PERIOD) / timedelta(days=1) / 1000) + 1
    return [
        "## 5. Graph budget",
        f"The real `GraphClient` read {g.sign_in_pages} sign-in pages (1,000 each) in "
        f"{g.sign_in_seconds:.0f} simulated seconds and {g.risk_pages} riskDetections pages "
        f"(500 each) in {g.risk_seconds:.0f} s from `tests.graph_server.GraphServer` "
        f"({g.requests} requests): 5 at once, then one every 2 s (5 per 10 s), and 1 per "
        f"second for Identity Protection. At that pace the {RUN_BUDGET:.0f} s a run reads "
        f"(75 % of RISKWATCH_RUN_BUDGET_SECONDS) fit {per_run} sign-in pages.",
        "",
        "Requests per run: every run re-reads each feed from its watermark minus its "
        f"look-back ({LOOKBACK.total_seconds() / 3600:g} h for sign-ins, 48 h for risk "
        "detections), so the sign-in pages per run are the sign-ins of that look-back plus "
        f"5 min, / 1,000: {needed:,} for this {r.tenant_users:,}-user tenant "
        f"({day:,} sign-ins a day), plus a few Identity Protection pages.",
        "",
        "| sign-in look-back | largest tenant kept up with (sign-ins/day) | users |",
        "|---|---|---|",
        *tenants,
        "",
        "Assumptions: Graph answers instantly (a real page takes about 1-3 s, which the 2 s "
        "pacing mostly hides); every sign-in feed shares the 5-per-10-s reports limit; one "
        f"run every 5 minutes reading for {RUN_BUDGET:.0f} s; "
        f"{users_per_signins * 1000:.0f} users per 1,000 sign-ins a day as generated. "
        f"Verdict: with the sign-in look-back of {LOOKBACK.total_seconds() / 3600:g} h one run "
        f"keeps up with about {tenants[2].split('|')[2].strip()} sign-ins a day "
        f"({'enough' if needed <= per_run else 'not enough'} for this tenant: {needed:,} pages "
        f"needed, {per_run} fit); risk detections, which arrive late, keep 48 h under their "
        "own limit.",
        "",
    ]


def write_report(results: Results, out: Path) -> None:
    out.write_text(render(results), encoding="utf-8")


def _order_row(o: Order) -> str:
    first = o.in_order
    others = "; ".join(f"{r.name} {r.rate:,.0f} events/s, {r.peak_mb:,.0f} MB" for r in o.others)
    ratios = "; ".join(
        f"{r.name} {o.rate_ratio(r):.2f}x rate, {o.rss_ratio(r):.2f}x RSS" for r in o.others
    )
    return (
        f"| 6 | input order, `riskwatch scan` of {first.events:,} sign-ins | {others} | "
        f"in order {first.rate:,.0f} events/s, {first.peak_mb:,.0f} MB | {ratios} | "
        f"same alerts, RSS <= 1.05x | {_verdict(o.met)} |"
    )


def _order(o: Order) -> list[str]:
    rows = [
        f"| {r.name} | {r.seconds:.1f} s | {r.rate:,.0f} | {o.rate_ratio(r):.2f}x | "
        f"{r.peak_mb:,.0f} MB | {o.rss_ratio(r):.2f}x | {r.alerts} | `{r.alerts_sha256[:12]}` |"
        for r in (o.in_order, *o.others)
    ]
    same = "the same alerts" if o.same_alerts else "DIFFERENT alerts"
    if o.in_order.alerts == 0:  # ordinary activity: tests/test_scan.py compares real stories
        same += " (none: ordinary activity; tests/test_scan.py compares the sample's stories)"
    return [
        "## 6. Input order",
        f"Benchmark 3's file, shuffled (seed {SHUFFLE_SEED}) and reversed (newest first, as "
        "Graph returns it), each scanned by a fresh `riskwatch scan` child exactly as "
        f"benchmark 3 scans it in order (its run is the first row). The three gave {same}. "
        "Input in time order is judged as it is read; the shuffled and reversed files are "
        f"first sorted on disk in runs of {CHUNK_EVENTS:,} events (pickled to a temporary "
        "file) and merged with `heapq.merge`.",
        "",
        "| input | seconds | events/s | rate vs in order | peak RSS | RSS vs in order "
        "| alerts | SHA-256 of the alerts |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Verdict: " + ("met." if o.met else
                       "not met: " + ("the alerts differ." if not o.same_alerts else
                                      "more memory than in order.")),
        "",
    ]


def _scale_rows(r: Results) -> list[str]:
    """Rows 7-9: Table requests per tenant size, the job's wall time and its peak RSS."""
    if not r.tenants:
        return []
    per = "; ".join(f"{t.cost.users:,} users: {t.cost.per_run:,.0f} per run "
                    f"({t.cost.per_thousand:,.0f} per 1,000)" for t in r.tenants)
    # The target: requests that grow with the window's principals, not the tenant.
    small, large = r.tenants[0].cost, r.tenants[-1].cost
    requests = large.per_run / max(1.0, small.per_run)
    window = large.sign_ins_per_run / max(1.0, small.sign_ins_per_run)
    rows = [
        f"| 7 | Table requests per five-minute run, by tenant | {per} | sign-ins per run "
        f"{small.sign_ins_per_run:,.0f} to {large.sign_ins_per_run:,.0f} ({window:,.1f}x) | "
        f"requests per run {requests:.2f}x | grow no faster than the window "
        f"| {_verdict(requests <= max(1.0, window))} |",
    ]
    main = r.main_tenant
    if main is not None:
        run = main.cost.run_seconds()
        split = ", ".join(f"{p} {main.cost.run_seconds(p):.1f} s" for p in PHASES)
        rows.append(
            f"| 8 | job wall time, one five-minute window, {main.cost.users:,} users "
            f"(Azurite) | {run:.1f} s per run ({split}) | schedule {PERIOD.seconds} s | "
            f"{run / PERIOD.seconds:.2f}x of the period | < {PERIOD.seconds} s "
            f"| {_verdict(run < PERIOD.seconds)} |"
        )
    peaks = "; ".join(f"{t.cost.users:,} users {t.peak_mb:,.0f} MB" for t in r.tenants)
    top = max(t.peak_mb for t in r.tenants)
    rows.append(
        f"| 9 | job peak RSS, one five-minute window | {peaks} | instance {INSTANCE_MB:,} MB "
        f"| {top / INSTANCE_MB:.2f}x of the instance | < {INSTANCE_MB:,} MB "
        f"| {_verdict(top < INSTANCE_MB)} |"
    )
    return rows


def _scale(r: Results) -> list[str]:
    if not r.tenants:
        return []
    rows = [
        f"| {t.cost.users:,} | {t.cost.sign_ins_per_run:,.0f} | {t.cost.per_run:,.0f} | "
        f"{t.cost.per_thousand:,.0f} | "
        + ", ".join(f"{k} {v / max(1, t.cost.runs):,.0f}" for k, v in
                    sorted(t.cost.by_phase.items(), key=lambda i: -i[1]))
        + f" | {t.cost.run_seconds():.1f} s | {t.peak_mb:,.0f} MB |"
        for t in r.tenants
    ]
    main = r.main_tenant
    phases = []
    if main is not None:
        phases = [f"| {p} | {main.cost.run_seconds(p):.2f} s | "
                  f"{100 * main.cost.run_seconds(p) / max(1e-9, main.cost.run_seconds()):.0f} % |"
                  for p in PHASES]
    return [
        f"## 7. Tenants of {r.tenants[0].cost.users:,} to {r.tenants[-1].cost.users:,} users: "
        "Table requests, job time and memory",
        "Each tenant size is generated for the same minutes (from 09:00 UTC of a working day, "
        "the same per-user rate: `bench.data.tenant_window`), then one uncounted run and "
        f"{main.cost.runs if main else 0} counted five-minute runs go through the real "
        "`Pipeline` (one `judge` per run, then deliver and sweep) with `TableHistoryStore` "
        "against Azurite, each tenant in a child process of its own (its `VmHWM` is the "
        "job's peak RSS). Tenants of more than "
        f"{SHARD_USERS:,} users are planned in shards of that many (own seed, users and "
        "networks each) merged in time order. A tenant past the Graph budget (a "
        "1,000,000-user tenant signs in about 10 million times a day) is read through the "
        "Event Hubs path in production; here every tenant's runs call `Pipeline.judge` with "
        "the window's events, as the Event Hubs trigger does with its batches (not through "
        "the trigger itself).",
        "",
        "| users | sign-ins per run | requests per run | per 1,000 sign-ins | requests per run "
        "by phase | wall time per run | peak RSS |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Wall time of one run of the {main.cost.users if main else 0:,}-user tenant by "
        "phase (mean of the counted runs; judge is the rules over the batch, lock the "
        "conditional writes that reserve the changed rows):",
        "",
        "| phase | seconds | share |",
        "|---|---|---|",
        *phases,
        "",
    ]
