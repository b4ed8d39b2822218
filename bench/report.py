"""RESULTS.md, written from one run's measurements (never by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.coldstart import ColdStart
from bench.graph_budget import GraphBudget
from bench.memory import Memory
from bench.order import SHUFFLE_SEED, Order
from bench.tables import TableCost
from bench.throughput import Throughput
from detections.registry import all_rules
from service.cli.scan import CHUNK_EVENTS
from service.ingest.sources import SIGN_IN_LOOKBACK
from service.run.job import READING_SHARE

# RISKWATCH_RUN_BUDGET_SECONDS default, of which the job reads for READING_SHARE.
RUN_BUDGET = 480.0 * READING_SHARE
PERIOD = timedelta(minutes=5)  # RISKWATCH_SCHEDULE default
LOOKBACK = SIGN_IN_LOOKBACK  # what the sign-in feeds re-read every run


@dataclass(frozen=True)
class Results:
    sizes: str
    machine: dict[str, str]
    throughput: Throughput
    tables: TableCost
    memory: Memory
    order: Order
    coldstart: ColdStart
    graph: GraphBudget
    tenant_users: int
    sign_ins_per_day: int
    seconds: float


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
        f"({t.parse_rate:,.0f} lines/s) | {t.ratio:.1f}x | <= 2x | {_verdict(t.ratio <= 2)} |",
        f"| 2 | Table transactions, {c.users:,}-user tenant | {c.transactions:,} requests "
        f"for {c.sign_ins:,} sign-ins | - | {c.per_thousand:,.0f} per 1,000 sign-ins | <= 25 "
        f"| {_verdict(c.per_thousand <= 25)} |",
        f"| 3 | peak RSS, `riskwatch scan` of {m.events:,} sign-ins | {m.scan_mb:,.0f} MB | "
        f"imports only {m.imports_mb:,.0f} MB | +{m.difference_mb:,.0f} MB ({m.ratio:.1f}x) "
        f"| < 400 MB | {_verdict(m.scan_mb < 400)} |",
        f"| 4 | cold start (median of {s.repeats}) | import function_app "
        f"{s.app_import * 1000:.0f} ms | import azure.functions {s.functions_import * 1000:.0f} ms"
        f" | {s.ratio:.2f}x (whole process {s.process_ratio:.2f}x) | <= 1.5x "
        f"| {_verdict(s.ratio <= 1.5)} |",
        f"| 5 | Graph sign-in pages per {RUN_BUDGET:.0f} s run | {g.sign_in_pages} pages in "
        f"{g.sign_in_seconds:.0f} simulated s | 5 per 10 s documented | "
        f"{g.pages_within(RUN_BUDGET)} pages per run | - | see below |",
        _order_row(r.order),
        "",
    ]
    lines += _throughput(t) + _tables(c) + _memory(m) + _coldstart(s) + _graph(g, day, r)
    lines += _order(r.order)
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
        "Verdict: " + ("met." if t.ratio <= 2 else
                       f"not met ({t.ratio:.1f}x). json.loads is C; each sign-in then "
                       "becomes a frozen dataclass of about 40 fields with parsed times, "
                       f"{len(all_rules())} rules run over it and the history records it "
                       "(ids seen, "
                       "successes, sessions, per-IP windows) in pure Python. The profile's "
                       "largest avoidable cost, rebuilding a key list on every window insert, "
                       "is gone (about 15% faster); reaching 2x would need the normalizer "
                       "and history in compiled code, not tuning."),
        "",
    ]


def _tables(c: TableCost) -> list[str]:
    phases = ", ".join(f"{k} {v:,}" for k, v in sorted(c.by_phase.items(), key=lambda i: -i[1]))
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(c.by_kind.items(), key=lambda i: -i[1]))
    windows = ", ".join(f"{start} ({n:,})" for start, n in c.windows)
    return [
        "## 2. Table Storage transactions",
        "The real `Pipeline` with `TableHistoryStore` against Azurite, one `process` call per "
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
                       f"not met ({c.per_thousand:,.0f} per 1,000). The history layout spends "
                       "one query per touched bucket (256 user and 256 IP buckets) and one "
                       "batch per touched partition per run: a five-minute window of a "
                       "100,000-user tenant touches nearly every bucket, so load and save cost "
                       "about 1,000 requests per run whatever the window holds. Fewer buckets "
                       "do not help at 100,000 users (a bucket query then pages through "
                       "thousands of rows). Meeting 25 needs a different layout: many users "
                       "packed per entity and only the state a rule needs (most sign-ins are "
                       "non-interactive successes that change nothing but the seen ids)."),
        "",
    ]


def _memory(m: Memory) -> list[str]:
    return [
        "## 3. Memory",
        "Peak RSS (`VmHWM` reported by the child itself) of `riskwatch scan` "
        f"(`service.cli.commands.main`) "
        f"over {m.events:,} sign-ins: {m.scan_mb:,.0f} MB ({m.scan_seconds:.0f} s); a child "
        f"that only imports the same modules and loads the rules: {m.imports_mb:,.0f} MB.",
        "",
        "Verdict: " + ("met." if m.scan_mb < 400 else
                       f"not met ({m.scan_mb:,.0f} MB). The input is streamed (in time "
                       "order it is judged as read), but the in-memory history keeps the ids "
                       "and successful "
                       "sign-ins of the last 26 h per user (failure, session and network "
                       "windows only 6 h; idle addresses are pruned; keys are interned); "
                       "below 400 MB needs a compact history (ids as bytes, times as integers) "
                       "or a spill to disk."),
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
