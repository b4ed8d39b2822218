"""The ``riskwatch`` argument parser: every argument with its help, an example per command."""

from __future__ import annotations

import argparse
import tomllib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

EXIT_CODES = """\
exit status:
  0  it ran (alerts or not)
  1  a feed, sink or rule failed (the reasons are on stderr)
  2  usage error: bad arguments or invalid settings
  3  no input could be read
  4  respond without --yes: the call was printed, not made"""

STATUSES = ("pending", "dead", "delivered")
SIGMA_HELP = ("also run the Sigma rules of this folder and its subfolders (product azure: "
              "riskdetection, signinlogs, auditlogs; see README, Sigma rules)")


def version() -> str:
    """The installed package's version; from pyproject.toml in a bare source checkout."""
    try:
        return metadata.version("riskwatch")
    except metadata.PackageNotFoundError:
        pass
    try:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def parse_now(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str,
    examples: str,
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name, help=summary, description=summary,
        epilog=f"example:\n{examples}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskwatch", description="Detections for Microsoft Entra ID Protection.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"riskwatch {version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _scan(sub)
    _rules(sub)
    _run(sub)
    _baseline(sub)
    _outbox(sub)
    from service.cli.label import add_label_parser
    from service.cli.review import add_review_parser

    add_review_parser(sub, _command, parse_now)
    add_label_parser(sub, _command, parse_now)
    from service.cli.evidence import add_evidence_parser

    add_evidence_parser(sub, _command)
    from service.cli.audit import add_audit_parser
    from service.cli.respond import add_respond_parser

    add_respond_parser(sub, _command, parse_now)
    add_audit_parser(sub, _command, parse_now)
    return parser


def _scan(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scan = _command(
        sub, "scan", "evaluate files with every rule (state in memory), one JSON alert a line",
        "  riskwatch scan --now 2026-11-02T12:00:00Z exports/signins.jsonl exports/risk/",
    )
    scan.add_argument(
        "--format", default="auto", choices=["auto", "graph", "diagnostic", "loganalytics"],
        help="input shape (default: auto, detected per file and record)",
    )
    scan.add_argument("--now", type=parse_now, help="ignore events after this ISO-8601 time")
    scan.add_argument("--max-alerts", type=int, default=1000,
                      help="alert cap; the surplus becomes one summary alert (default 1000)")
    scan.add_argument(
        "--directory", metavar="FILE",
        help="saved Graph roleAssignments?$expand=principal,roleDefinition response, for the "
        "privileged-account enrichment",
    )
    scan.add_argument(
        "--incidents", action="store_true",
        help="write one incident a line instead of alerts: a case per user, attacking IP or "
        "the tenant, with verdict, reasons, breakdown and timeline (see README, Incidents)",
    )
    scan.add_argument("--sigma", metavar="DIR", help=SIGMA_HELP)
    scan.add_argument("paths", nargs="+", metavar="PATH", help="input files or folders")


def _rules(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = _command(sub, "rules", "list every rule with its metadata",
                     "  riskwatch rules --json | jq .id")
    rules.add_argument("--json", action="store_true", help="one JSON object per rule")
    rules.add_argument(
        "--sigma", metavar="DIR",
        help="list the Sigma rules of this folder instead: id, title, status (supported or "
        "unsupported), reason, level, service and file of each",
    )


def _run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = _command(
        sub, "run", "run the main job once with the configured source, state and sinks",
        "  riskwatch run --once --print\n"
        "  riskwatch run --once --input samples/tenant --now 2026-11-02T12:00:00Z",
    )
    run.add_argument("--once", action="store_true", required=True,
                     help="one run, then exit (required: the timer runs it repeatedly)")
    run.add_argument("--input", nargs="+", metavar="PATH",
                     help="read these files or folders instead of Graph")
    run.add_argument("--now", type=parse_now, help="the run's ISO-8601 time (default: the clock)")
    run.add_argument("--print", action="store_true", help="also print each delivered alert")
    run.add_argument("--sigma", metavar="DIR",
                     help=SIGMA_HELP + " (instead of RISKWATCH_SIGMA_RULES)")
    run.add_argument("--json", action="store_true",
                     help="write the alerts the run opened or updated as JSON lines, as scan "
                     "does (count and last seen as the dedup claims hold them)")


def _baseline(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    baseline = _command(
        sub, "baseline", "seed the per-user baselines in Table Storage from exported history",
        "  riskwatch baseline exports/signins-last-30-days.jsonl",
    )
    baseline.add_argument("paths", nargs="+", metavar="PATH",
                          help="exported sign-ins: files or folders")


def _outbox(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = _command(
        sub, "outbox", "see the alert outbox and replay dead letters",
        "  riskwatch outbox list --status dead\n  riskwatch outbox retry --all-dead --sink teams",
    )
    actions = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    listing = _command(
        actions, "list", "list each alert's delivery status per sink",
        "  riskwatch outbox list --status pending --json",
    )
    listing.add_argument("--status", choices=STATUSES,
                         help="only deliveries in this status (default: all but skipped)")
    listing.add_argument("--json", action="store_true", help="one JSON object per delivery")
    retry = _command(
        actions, "retry",
        "deliver dead letters again now (never what was delivered), with a fresh retry budget",
        "  riskwatch outbox retry 1f3c9a0e5b7d4c21a8e6f0b2d4c6e8a0\n"
        "  riskwatch outbox retry --all-dead --sink webhook",
    )
    retry.add_argument("alert_ids", nargs="*", metavar="ALERT_ID",
                       help="alert ids to replay (from `riskwatch outbox list`)")
    retry.add_argument("--all-dead", action="store_true", help="replay every dead letter")
    retry.add_argument("--sink", metavar="NAME",
                       help="only this sink's dead letters (webhook, teams, slack)")
    retry.add_argument("--now", type=parse_now,
                       help="the replay's ISO-8601 time (default: the clock)")
