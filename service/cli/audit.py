"""``riskwatch audit``: the response audit log as JSON lines, oldest first."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from service.cli.terminal import EXIT_OK


def add_audit_parser(sub: Any, command: Any, parse_now: Any) -> None:
    audit = command(
        sub, "audit",
        "print the response audit log (proposals and actions, who, why, evidence, Graph "
        "request id, outcome) as JSON lines",
        "  riskwatch audit --since 2026-11-02T00:00:00Z | jq 'select(.outcome != \"done\")'",
    )
    audit.add_argument("--since", type=parse_now, help="only records at or after this time")


def run_audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from service.ingest.event_grid_work import state_tables
    from service.settings import load_storage_settings
    from service.state.audit import AuditLog

    storage, prefix = load_storage_settings()
    records = AuditLog(state_tables(storage, prefix)).records(since=args.since)
    for record in records:
        # json.dumps keeps every value a JSON string: a hostile UPN or reason stays data.
        out.write(json.dumps(record.to_dict(), ensure_ascii=True) + "\n")
    err.write(f"audit: {len(records)} records\n")
    return EXIT_OK
