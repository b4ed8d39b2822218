"""``riskwatch outbox list|retry``: see deliveries per sink and replay dead letters.

A replay puts a dead sink status back to pending with a fresh retry budget and
delivers it at once; a status that is delivered (or pending) is never touched,
so a replay cannot send an alert twice. The Idempotency-Key stays the alert id.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from service.cli.terminal import EXIT_FAILED, EXIT_OK, EXIT_USAGE, printable
from service.state.outbox import DEAD, DELIVERED, SKIPPED, Outbox, sink_names, status_of

Entity = Mapping[str, Any]


def run_outbox(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from service.run.job import configured_sinks, state_tables
    from service.settings import load_settings

    settings = load_settings()
    tables = state_tables(settings.storage, settings.table_prefix)
    if args.outbox_command == "list":
        return list_outbox(Outbox(tables, []), args.status, as_json=args.json, out=out)
    return retry_outbox(
        Outbox(tables, configured_sinks(settings)), args, err,
        budget=settings.delivery_retry_budget,
    )


def deliveries(row: Entity) -> list[dict[str, Any]]:
    """One record per sink of an outbox row."""
    try:
        title = str(json.loads(row.get("payload", "{}")).get("title", ""))
    except (ValueError, AttributeError):
        title = ""
    found = []
    for sink in sink_names(row):
        first = row.get(f"{sink}_first")
        found.append({
            "alert_id": row["RowKey"], "rule_id": row["PartitionKey"],
            "severity": row.get("severity", ""), "title": title,
            "created_at": _iso(row.get("created_at")), "sink": sink,
            "status": status_of(row, sink), "attempts": int(row.get(f"{sink}_attempts", 0)),
            "first_attempt": _iso(first) if first is not None and first.year > 1970 else None,
            "next_attempt": _iso(row.get(f"{sink}_next")),
            "reason": str(row.get(f"{sink}_reason", "")),
        })
    return found


def list_outbox(outbox: Outbox, status: str | None, *, as_json: bool, out: TextIO) -> int:
    rows = sorted(outbox.all_rows(), key=lambda r: (r.get("created_at"), r["RowKey"]))
    for row in rows:
        for item in deliveries(row):
            if item["status"] != (status or item["status"]) or (
                status is None and item["status"] == SKIPPED):
                continue
            if as_json:
                out.write(json.dumps(item, sort_keys=True) + "\n")
                continue
            when = item["next_attempt"] if item["status"] == "pending" else item["created_at"]
            out.write(
                f"{item['alert_id']}  {printable(item['rule_id']):<28} {item['sink']:<8} "
                f"{item['status']:<9} attempts={item['attempts']:<3} {when}  "
                f"{printable(item['title'])}" + (f"  ({printable(item['reason'])})"
                                             if item["reason"] else "") + "\n"
            )
    return EXIT_OK


def retry_outbox(
    outbox: Outbox, args: argparse.Namespace, err: TextIO, *, budget: timedelta
) -> int:
    from service.delivery.deliverer import Deliverer, RetryPolicy

    if bool(args.alert_ids) == bool(args.all_dead):
        err.write("riskwatch outbox retry: give ALERT_ID... or --all-dead (not both)\n")
        return EXIT_USAGE
    configured = [s.name for s in outbox.sinks]
    if args.sink is not None and args.sink not in configured:
        err.write(f"riskwatch outbox retry: --sink {args.sink!r} is not configured "
                  f"(configured: {', '.join(configured) or 'none'})\n")
        return EXIT_USAGE
    rows, missing = _chosen_rows(outbox, args.alert_ids, args.all_dead)
    if missing:
        for alert_id in missing:
            err.write(f"riskwatch outbox retry: no outbox entry for alert {alert_id!r}\n")
        return EXIT_USAGE
    now = args.now or datetime.now(UTC)
    wanted = [args.sink] if args.sink else configured
    replayed: list[tuple[str, str, str]] = []
    for row in rows:
        rule_id, alert_id = str(row["PartitionKey"]), str(row["RowKey"])
        for sink in sink_names(row):
            status = status_of(row, sink)
            if status == DEAD and sink in wanted:
                if outbox.requeue(rule_id, alert_id, sink, now):
                    replayed.append((rule_id, alert_id, sink))
            elif status == DEAD:
                why = "not configured" if sink not in configured else "not chosen"
                err.write(f"{alert_id} {sink}: dead, left as is ({why})\n")
            elif args.alert_ids and (args.sink is None or sink == args.sink):
                err.write(f"{alert_id} {sink}: {status}, not sent again\n")
    if not replayed:
        err.write("riskwatch outbox retry: nothing to replay\n")
        return EXIT_OK
    deliverer = Deliverer(outbox, outbox.sinks, owner=f"cli-{uuid.uuid4().hex[:8]}",
                          lease_for=timedelta(minutes=5), policy=RetryPolicy(budget=budget),
                          hook=lambda point: None)
    deliverer.run(now, only={alert_id for _, alert_id, _ in replayed})
    failed = 0
    for rule_id, alert_id, sink in replayed:
        row = outbox.get(rule_id, alert_id) or {}
        status = status_of(row, sink)
        failed += status != DELIVERED
        reason = str(row.get(f"{sink}_reason", ""))
        note = "" if status == DELIVERED else (
            f" ({printable(reason)}; the timer keeps retrying)" if status == "pending"
            else f" ({printable(reason)})")
        err.write(f"{alert_id} {sink}: replayed, {status}{note}\n")
    err.write(f"outbox retry: {len(replayed) - failed} delivered, {failed} failed again\n")
    return EXIT_FAILED if failed else EXIT_OK


def _chosen_rows(
    outbox: Outbox, alert_ids: list[str], all_dead: bool
) -> tuple[list[Entity], list[str]]:
    if all_dead:
        return list(outbox.dead()), []
    rows: list[Entity] = []
    missing: list[str] = []
    for alert_id in dict.fromkeys(alert_ids):
        found = outbox.find(alert_id)
        rows += found
        if not found:
            missing.append(alert_id)
    return rows, missing


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None
