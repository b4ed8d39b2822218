"""The ``riskwatch`` command line: scan files, list rules, run the main job."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from detections.directory import PrivilegedMap, parse_role_assignments
from detections.enrich import Enricher
from detections.errors import InputError, RiskwatchError, Where
from detections.registry import load_rules
from detections.rule import Rule
from service import scan as scan_mod
from service.settings import load_detection_settings

EXIT_OK = 0
EXIT_INPUT = 2
SKIPS_SHOWN = 20


def _parse_now(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--now: not an ISO-8601 time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskwatch", description="Detections for Microsoft Entra ID Protection."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    scan = sub.add_parser("scan", help="evaluate files with every rule (state in memory)")
    scan.add_argument(
        "--format", default="auto", choices=["auto", "graph", "diagnostic", "loganalytics"]
    )
    scan.add_argument("--now", type=_parse_now, help="ignore events after this time")
    scan.add_argument("--max-alerts", type=int, default=1000, help="alert cap (default 1000)")
    scan.add_argument(
        "--directory", help="Graph roleAssignments?$expand=principal,roleDefinition response"
    )
    scan.add_argument("paths", nargs="+", metavar="PATH")

    run = sub.add_parser("run", help="run the main job once with the configured state and sinks")
    run.add_argument("--once", action="store_true", required=True, help="one run, then exit")
    run.add_argument("--input", nargs="+", metavar="PATH", help="read files instead of Graph")
    run.add_argument("--now", type=_parse_now, help="the run's time (default: the clock)")
    run.add_argument("--print", action="store_true", help="also print each delivered alert")

    baseline = sub.add_parser(
        "baseline", help="seed the per-user baselines in Table Storage from exported history"
    )
    baseline.add_argument("paths", nargs="+", metavar="PATH")

    rules = sub.add_parser("rules", help="list every rule with its metadata")
    rules.add_argument("--json", action="store_true", help="one JSON object per rule")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "scan":
            return run_scan(args, sys.stdout, sys.stderr)
        if args.command == "baseline":
            return run_baseline(args, sys.stderr)
        if args.command == "run":
            return run_once(args, sys.stdout, sys.stderr)
        if args.command == "rules":
            return list_rules(load_rules(), as_json=args.json, out=sys.stdout)
    except RiskwatchError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


def run_scan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # The same thresholds, disabled rules and business hours as the deployed app.
    detection = load_detection_settings()
    rules = [r for r in load_rules() if r.id not in detection.disabled_rules]
    privileged = _directory(args.directory) if args.directory else PrivilegedMap()
    paths = scan_mod.expand_paths(args.paths)
    options = scan_mod.ScanOptions(
        fmt=args.format, now=args.now, max_alerts=args.max_alerts, params=detection.rule_params
    )
    enricher = Enricher(privileged, detection.business_hours)
    report = scan_mod.scan(paths, rules, options, enricher=enricher)
    if report.unreadable and report.events == 0 and report.skipped_count == 0:
        for problem in report.unreadable:
            err.write(f"riskwatch: cannot read {problem}\n")
        return EXIT_INPUT
    for alert in report.alerts:
        out.write(json.dumps(alert.to_dict(), sort_keys=True) + "\n")
    for skip in report.skipped[:SKIPS_SHOWN]:
        err.write(f"skipped {skip.where}: {skip.reason}\n")
    if report.skipped_count > SKIPS_SHOWN:
        err.write(f"... and {report.skipped_count - SKIPS_SHOWN} more skipped records\n")
    for failure in report.failures[:SKIPS_SHOWN]:
        err.write(f"rule {failure.rule_id} failed on {failure.event_id}: {failure.error}\n")
    for problem in report.unreadable:
        err.write(f"unreadable: {problem}\n")
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.by_kind.items())) or "none"
    err.write(
        f"scanned {report.events} events ({kinds}) from {len(paths)} files: "
        f"{len(report.alerts)} alerts, {report.skipped_count} records skipped, "
        f"{len(report.failures)} rule failures, {len(report.unreadable)} unreadable inputs\n"
    )
    return EXIT_OK


def _directory(path: str) -> PrivilegedMap:
    """``--directory``: a saved Graph roleAssignments?$expand=principal,roleDefinition response."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise InputError(Where(path), f"cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(Where(path, exc.lineno), f"invalid JSON: {exc.msg}") from exc
    pages = document if isinstance(document, list) and document and "value" in document[0] \
        else [document]  # fmt: skip
    return parse_role_assignments(pages, source=path)


def run_baseline(args: argparse.Namespace, err: TextIO) -> int:
    """``riskwatch baseline``: seed per-user history from exported sign-ins."""
    from service.settings import load_settings
    from service.sources import SourceReport, read_files
    from service.state.history_store import TableHistoryStore
    from service.state.tables import Tables
    from service.storage import table_service

    settings = load_settings()
    store = TableHistoryStore(Tables(table_service(settings.storage), settings.table_prefix))
    report = SourceReport()
    total = 0
    for batch in read_files(scan_mod.expand_paths(args.paths), report):
        history = store.load(batch)
        history.observe_all(sorted(batch, key=lambda e: e.time))
        store.save(history)
        total += len(batch)
    for problem in report.problems:
        err.write(f"unreadable: {problem}\n")
    err.write(f"baseline: {total} events observed, {report.skipped} records skipped\n")
    return EXIT_INPUT if report.problems and total == 0 else EXIT_OK


def run_once(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``riskwatch run --once``: the timer's job, from the command line."""
    from service.jobs import MainJob, configured_sinks
    from service.settings import load_settings
    from service.sinks.console import ConsoleSink

    settings = load_settings()
    sinks = [*configured_sinks(settings), *([ConsoleSink(out)] if args.print else [])]
    files = scan_mod.expand_paths(args.input) if args.input else None
    report = MainJob(settings, sinks=sinks).run(args.now or datetime.now(UTC), files=files)
    err.write(report.summary() + "\n")
    for problem in report.sources.problems:
        err.write(f"problem: {problem}\n")
    return EXIT_OK


def list_rules(rules: Sequence[Rule], *, as_json: bool, out: TextIO) -> int:
    for rule in rules:
        if as_json:
            out.write(json.dumps(rule_metadata(rule), sort_keys=True) + "\n")
            continue
        window = int(rule.dedup_window.total_seconds() // 60)
        out.write(
            f"{rule.id:<28} v{rule.version:<3} {rule.severity.value:<9} "
            f"score {rule.risk_score:<3} {','.join(rule.mitre):<36} "
            f"dedup {window} min  {rule.title}\n"
        )
    return EXIT_OK


def rule_metadata(rule: Rule) -> dict[str, object]:
    return {
        "id": rule.id,
        "version": rule.version,
        "title": rule.title,
        "description": rule.description,
        "severity": rule.severity.value,
        "risk_score": rule.risk_score,
        "mitre": list(rule.mitre),
        "kinds": list(rule.kinds),
        "dedup_fields": list(rule.dedup_fields),
        "dedup_window_minutes": rule.dedup_window.total_seconds() / 60,
        "investigation": list(rule.investigation),
        "false_positives": list(rule.false_positives),
        "references": list(rule.references),
        "known_gaps": list(rule.known_gaps),
        "params": [
            {"name": p.name, "default": p.default, "description": p.description}
            for p in rule.params
        ],
    }


if __name__ == "__main__":
    sys.exit(main())
