"""``riskwatch review``: the periodic review (README, Review) as review.json and review.html.

With ``--input`` the events come from files and the incidents are computed as ``scan
--incidents`` computes them; without it, incidents and labels come from Table Storage and
the window's sign-ins and detections are read again from Graph.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from service.cli.terminal import EXIT_FAILED, EXIT_NO_INPUT, EXIT_OK, EXIT_USAGE, printable

ASSESSMENT_DAYS = 30  # seed 001: "query the risk detections for the past 30 days"
GRAPH_READ_SECONDS = 1200.0  # a week of a large tenant's sign-ins at 5 requests per 10 s


def add_review_parser(sub: Any, command: Any, parse_now: Any) -> None:
    review = command(
        sub, "review",
        "write the periodic review of a window: review.json and a self-contained review.html",
        "  riskwatch review --last weekend --out reviews/\n"
        "  riskwatch review --since 2026-11-02T00:00:00Z --until 2026-11-09T00:00:00Z "
        "--input samples/tenant --out out/review",
    )
    window = review.add_mutually_exclusive_group(required=True)
    window.add_argument("--since", type=parse_now, help="the window's ISO-8601 start")
    window.add_argument("--last", metavar="SPAN",
                        help="'weekend' (the last weekend, end of business Friday to start of "
                        "business Monday in RISKWATCH_BUSINESS_TIMEZONE) or 'Nd' (N days)")
    review.add_argument("--until", type=parse_now,
                        help="the window's ISO-8601 end (default: --now)")
    review.add_argument("--now", type=parse_now,
                        help="the present, for --last and the default --until (default: clock)")
    review.add_argument("--input", nargs="+", metavar="PATH",
                        help="read these files or folders instead of Table Storage and Graph")
    review.add_argument("--directory", metavar="FILE",
                        help="saved Graph roleAssignments response (with --input), for the "
                        "privileged-account enrichment")
    review.add_argument("--assessment-days", type=int, default=ASSESSMENT_DAYS, metavar="N",
                        help="days before --until the accuracy assessment covers (default 30)")
    review.add_argument("--out", required=True, metavar="DIR",
                        help="folder for review.json and review.html (created if missing)")


def run_review(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from detections.review.windows import WindowError, explicit_window, last_window
    from service.settings import load_detection_settings

    detection = load_detection_settings()
    now = args.now or datetime.now(UTC)
    if not 1 <= args.assessment_days <= 366:
        err.write("riskwatch: --assessment-days must be 1-366\n")
        return EXIT_USAGE
    try:
        if args.last is not None:
            if args.until is not None:
                raise WindowError("--until goes with --since; --last ends at --now")
            window = last_window(args.last, now, detection.business_hours)
        else:
            window = explicit_window(args.since, args.until or now)
    except WindowError as exc:
        err.write(f"riskwatch: {exc}\n")
        return EXIT_USAGE
    assessment_since = window.until - timedelta(days=args.assessment_days)
    if args.input:
        return _from_files(args, window, assessment_since, detection, now, out, err)
    if args.directory:
        err.write("riskwatch: --directory goes with --input (the app reads the directory)\n")
        return EXIT_USAGE
    return _from_state(args, window, assessment_since, now, out, err)


def _from_files(args: argparse.Namespace, window: Any, assessment_since: datetime,
                detection: Any, now: datetime, out: TextIO, err: TextIO) -> int:
    from detections.directory import PrivilegedMap
    from detections.enrich import Enricher
    from detections.registry import load_rules
    from service.cli import scan as scan_mod
    from service.cli.commands import _directory
    from service.review.from_files import review_from_files

    rules = [r for r in load_rules() if r.id not in detection.disabled_rules]
    privileged = _directory(args.directory) if args.directory else PrivilegedMap()
    paths = scan_mod.expand_paths(args.input)
    review, problems = review_from_files(
        paths, window, assessment_since, rules=rules, detection=detection,
        enricher=Enricher(privileged, detection.business_hours), generated_at=now)
    for problem in problems:
        err.write(f"riskwatch: cannot read {printable(problem)}\n")
    if not paths or len(problems) == len(paths):
        if not paths:
            err.write("riskwatch: no input files found\n")
        return EXIT_NO_INPUT
    _write(review, Path(args.out), out, err)
    return EXIT_OK


def _from_state(args: argparse.Namespace, window: Any, assessment_since: datetime,
                now: datetime, out: TextIO, err: TextIO) -> int:
    from service.ingest.event_grid_work import state_tables
    from service.ingest.graph.auth import make_token_provider, parse_auth_mode
    from service.ingest.graph.client import GraphClient
    from service.review.coverage import graph_read_failures
    from service.review.deployed import app_rules
    from service.review.from_state import review_from_state
    from service.settings import load_settings

    settings = load_settings()
    tables = state_tables(settings.storage, settings.table_prefix)
    token = make_token_provider(parse_auth_mode(settings.graph_auth), settings.graph_base_url,
                                settings.azure_client_id)
    graph = GraphClient.with_budget(settings.graph_base_url, token, GRAPH_READ_SECONDS)
    review = review_from_state(settings, tables, graph, window, assessment_since,
                               rules=app_rules(settings), generated_at=now)
    _write(review, Path(args.out), out, err)
    failed = graph_read_failures(review)
    for found in failed:
        err.write(f"riskwatch: feed {printable(found['source'])}: {printable(found['why'])}\n")
    return EXIT_FAILED if failed else EXIT_OK


def _write(review: dict[str, Any], out_dir: Path, out: TextIO, err: TextIO) -> None:
    from service.review.output import write_review

    json_path, html_path = write_review(review, out_dir)
    users = review["users"]
    high = sum(1 for u in users if u["verdict"] == "high")
    err.write(f"review {printable(review['window']['label'])}: {len(users)} flagged users "
              f"({high} high), {len(review['ips'])} attacking IPs, "
              f"{review['inventory']['detections']['total']} detections, "
              f"{len(review['coverage']['gaps'])} gaps\n")
    out.write(f"{html_path}\n{json_path}\n")
