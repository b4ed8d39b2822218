"""``riskwatch label``: an analyst's verdict on an incident, appended to Table Storage."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime
from typing import Any, TextIO

from service.cli.terminal import EXIT_OK, EXIT_USAGE, printable


def add_label_parser(sub: Any, command: Any, parse_now: Any) -> None:
    label = command(
        sub, "label",
        "label an incident true positive, false positive or indeterminate (kept with who and "
        "when; the latest label counts in the review's accuracy assessment)",
        "  riskwatch label 1f3c9a0e5b7d4c21a8e6f0b2d4c6e8a0 fp --note 'travel, confirmed by "
        "phone' --by alice",
    )
    label.add_argument("incident_id", metavar="INCIDENT_ID",
                       help="the incident's id (in the review and each notification)")
    label.add_argument("label", choices=["tp", "fp", "indeterminate"],
                       help="tp: a real attack; fp: legitimate; indeterminate: cannot tell")
    label.add_argument("--note", help="why (kept with the label for the audit trail)")
    label.add_argument("--by", help="who labels (default: the login name)")
    label.add_argument("--now", type=parse_now, help="the label's ISO-8601 time (default: clock)")


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a container
        return None


def run_label(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from service.ingest.event_grid_work import state_tables
    from service.settings import load_storage_settings
    from service.state.labels import LabelError, LabelStore

    storage, prefix = load_storage_settings()
    store = LabelStore(state_tables(storage, prefix))
    try:
        made = store.add(args.incident_id, args.label, args.now or datetime.now(UTC),
                         by=args.by or _login(), note=args.note)
    except LabelError as exc:
        err.write(f"riskwatch: {printable(exc)}\n")
        return EXIT_USAGE
    history = store.history(made.incident_id)
    out.write(f"labelled {made.incident_id} ({printable(made.principal or '')}) {made.label} "
              f"by {printable(made.by or 'unknown')} at {made.at.isoformat()}; "
              f"{len(history)} labels in its history\n")
    return EXIT_OK
