"""The ``riskwatch`` command line: scan files, list rules, run the main job, replay the outbox.

Every command exits 0 when it ran, 1 when a feed, sink or rule failed, 2 on a usage
error (argparse's own, and invalid settings) and 3 when no input could be read.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TextIO

from detections.directory import PrivilegedMap, parse_role_assignments
from detections.enrich import Enricher
from detections.errors import InputError, RiskwatchError, Where
from detections.registry import load_rules
from detections.rule import Rule
from service.cli import scan as scan_mod
from service.cli.parser import build_parser, parse_now
from service.cli.progress import progress_for
from service.cli.scan_incidents import scan_incidents, write_incidents
from service.cli.terminal import EXIT_FAILED, EXIT_NO_INPUT, EXIT_OK, EXIT_USAGE, printable
from service.settings import load_detection_settings
from service.settings.parsing import SettingsError

SKIPS_SHOWN = 20
Clock = Callable[[], float]  # seconds, monotonic: the progress line's throttle

__all__ = ["build_parser", "main", "parse_now"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # usage errors exit 2 here, argparse's way
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a closed pipe shows up here rather than at interpreter exit
    except BrokenPipeError:
        _silence_stdout()  # ``riskwatch scan ... | head``: the reader has what it wanted
        return EXIT_OK
    except SettingsError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InputError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return EXIT_NO_INPUT
    except RiskwatchError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        if not _is_azure_error(exc):
            raise
        # The type only: messages can carry the storage URL with a SAS token.
        print(f"riskwatch: Table Storage failed ({type(exc).__name__}); check "
              "RISKWATCH_STORAGE and that the account is reachable", file=sys.stderr)
        return EXIT_FAILED
    return code


def _is_azure_error(exc: Exception) -> bool:
    # Read from sys.modules, not imported: a scan never loads the Azure SDK (about 10 MB of
    # its resident memory), and an SDK that was never loaded raised nothing.
    sdk = sys.modules.get("azure.core.exceptions")
    return sdk is not None and isinstance(exc, sdk.AzureError)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "scan":
        return run_scan(args, sys.stdout, sys.stderr)
    if args.command == "baseline":
        return run_baseline(args, sys.stderr)
    if args.command == "run":
        return run_once(args, sys.stdout, sys.stderr)
    if args.command == "outbox":
        from service.cli.outbox import run_outbox

        return run_outbox(args, sys.stdout, sys.stderr)
    if args.command == "review":
        from service.cli.review import run_review

        return run_review(args, sys.stdout, sys.stderr)
    if args.command == "evidence":
        from service.cli.evidence import run_evidence

        return run_evidence(args, sys.stdout, sys.stderr)
    if args.command == "label":
        from service.cli.label import run_label

        return run_label(args, sys.stdout, sys.stderr)
    if args.command == "respond":
        from service.cli.respond import run_respond

        return run_respond(args, sys.stdout, sys.stderr)
    if args.command == "audit":
        from service.cli.audit import run_audit

        return run_audit(args, sys.stdout, sys.stderr)
    if args.sigma:
        from service.sigma.cli import list_sigma

        return list_sigma(args.sigma, as_json=args.json, out=sys.stdout)
    return list_rules(load_rules(), as_json=args.json, out=sys.stdout)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (tests capture it): nothing is flushed at exit


def run_scan(
    args: argparse.Namespace, out: TextIO, err: TextIO, clock: Clock = time.monotonic
) -> int:
    # The same thresholds, disabled rules and business hours as the deployed app.
    detection = load_detection_settings()
    rules = [r for r in load_rules() if r.id not in detection.disabled_rules]
    if args.sigma:  # the folder's supported Sigma rules, beside the built-in ones
        from service.sigma.cli import sigma_rules

        rules += sigma_rules(args.sigma, err, detection.disabled_rules)
    privileged = _directory(args.directory) if args.directory else PrivilegedMap()
    paths = scan_mod.expand_paths(args.paths)
    options = scan_mod.ScanOptions(
        fmt=args.format, now=args.now, max_alerts=args.max_alerts, params=detection.rule_params
    )
    enricher = Enricher(privileged, detection.business_hours)
    progress = progress_for(err, label="scan", clock=clock)
    incidents = None
    if args.incidents:  # one case per principal instead of alerts (service.cli.scan_incidents)
        report, incidents = scan_incidents(
            paths, rules, options, enricher=enricher, progress=progress,
            quiet=detection.incident_quiet,  # RISKWATCH_INCIDENT_QUIET_DAYS, as the app
        )
    else:
        report = scan_mod.scan(paths, rules, options, enricher=enricher, progress=progress)
    if report.unreadable and report.events == 0 and report.skipped_count == 0:
        for problem in report.unreadable:
            err.write(f"riskwatch: cannot read {printable(problem)}\n")
        return EXIT_NO_INPUT
    if incidents is not None:
        write_incidents(incidents, out)
    else:
        for alert in report.alerts:
            out.write(json.dumps(alert.to_dict(), sort_keys=True) + "\n")
    for skip in report.skipped[:SKIPS_SHOWN]:
        err.write(printable(f"skipped {skip.where}: {skip.reason}") + "\n")
    if report.skipped_count > SKIPS_SHOWN:
        err.write(f"... and {report.skipped_count - SKIPS_SHOWN} more skipped records\n")
    for failure in report.failures[:SKIPS_SHOWN]:
        err.write(printable(f"rule {failure.rule_id} failed on {failure.event_id}: {failure.error}")
                  + "\n")
    for problem in report.unreadable:
        err.write(f"unreadable: {printable(problem)}\n")
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.by_kind.items())) or "none"
    in_incidents = f" in {len(incidents)} incidents" if incidents is not None else ""
    err.write(
        f"scanned {report.events} events ({kinds}) from {len(paths)} files: "
        f"{len(report.alerts)} alerts{in_incidents}, {report.skipped_count} records skipped, "
        f"{len(report.failures)} rule failures, {len(report.unreadable)} unreadable inputs\n"
    )
    return EXIT_FAILED if report.failures else EXIT_OK


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


def run_baseline(args: argparse.Namespace, err: TextIO, clock: Clock = time.monotonic) -> int:
    """``riskwatch baseline``: seed per-user history from exported sign-ins."""
    from service.ingest.sources import SourceReport, read_files
    from service.settings import load_settings
    from service.state.history_store import TableHistoryStore
    from service.state.storage import table_service
    from service.state.tables import Tables

    settings = load_settings()
    store = TableHistoryStore(Tables(table_service(settings.storage), settings.table_prefix))
    report = SourceReport()
    total = 0
    progress = progress_for(err, label="baseline", clock=clock)
    try:
        for batch in read_files(scan_mod.expand_paths(args.paths), report):
            history = store.load(batch)
            history.observe_all(sorted(batch, key=lambda e: e.time))
            store.save(history)
            total += len(batch)
            progress.update(events=total, skipped=report.skipped, alerts=0)
    finally:
        progress.done()
    for problem in report.problems:
        err.write(f"unreadable: {printable(problem)}\n")
    err.write(f"baseline: {total} events observed, {report.skipped} records skipped\n")
    return EXIT_NO_INPUT if report.problems and total == 0 else EXIT_OK


def run_once(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``riskwatch run --once``: the timer's job, from the command line."""
    from service.delivery.console import ConsoleSink
    from service.run.job import MainJob, configured_sinks
    from service.settings import load_settings

    settings = load_settings()
    if args.sigma:  # --sigma DIR instead of RISKWATCH_SIGMA_RULES
        settings = replace(settings, sigma_rules=args.sigma)
    sinks = [*configured_sinks(settings), *([ConsoleSink(out)] if args.print else [])]
    files = scan_mod.expand_paths(args.input) if args.input else None
    report = MainJob(settings, sinks=sinks).run(args.now or datetime.now(UTC), files=files)
    if args.json:
        for alert in report.alerts():
            out.write(json.dumps(alert, sort_keys=True) + "\n")
    err.write(report.summary() + "\n")
    if files is not None and report.sources.problems and not report.sources.events \
            and not report.sources.skipped:  # fmt: skip
        for problem in report.sources.problems:
            err.write(f"riskwatch: cannot read {printable(problem)}\n")
        return EXIT_NO_INPUT
    failures = report.failures()
    for reason in failures:
        err.write(f"riskwatch: {printable(reason)}\n")
    return EXIT_FAILED if failures else EXIT_OK


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
            {"name": p.name, "default": p.default, "description": p.description,
             "minimum": p.minimum, "maximum": p.maximum, "valid": p.range_text()}
            for p in rule.params
        ],
    }


if __name__ == "__main__":
    sys.exit(main())
