"""``riskwatch respond``: a person's command on an incident's user, or the policy's plan.

``respond INCIDENT_ID --action A --reason TEXT --by NAME`` prints the Graph call it would
make and exits 4 without calling; with ``--yes`` it makes it, through the same steps as the
policy (evidence verified, claim, call, audit record). It never prompts. ``respond --plan``
prints one JSON line per action the policy would take: offline from ``--input`` files (the
incidents ``scan --incidents`` computes, no labels), or from the incidents and labels in
Table Storage.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any, TextIO

from detections.response.policy import ACTIONS
from service.cli.terminal import (
    EXIT_FAILED,
    EXIT_NO_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_WOULD_ACT,
    printable,
)


def add_respond_parser(sub: Any, command: Any, parse_now: Any) -> None:
    respond = command(
        sub, "respond",
        "act on an incident's user through Microsoft Graph (evidence first, exactly once, "
        "audited), or print the response policy's plan",
        "  riskwatch respond 1f3c9a0e5b7d4c21a8e6f0b2d4c6e8a0 --action revoke --reason "
        "'AiTM phish confirmed by the user' --by ana --yes\n"
        "  riskwatch respond --plan --input samples/tenant",
    )
    respond.add_argument("incident_id", nargs="?", metavar="INCIDENT_ID",
                         help="the incident (in the review and each notification)")
    respond.add_argument("--action", choices=ACTIONS,
                         help="revoke sign-in sessions, confirm compromised, dismiss the risk, "
                         "disable or re-enable the account")
    respond.add_argument("--reason", help="why (kept in the audit log)")
    respond.add_argument("--by", help="who commands it (kept in the audit log)")
    respond.add_argument("--yes", action="store_true",
                         help="make the call; without it, print the call and exit 4")
    respond.add_argument("--plan", action="store_true",
                         help="print one JSON line per action the policy would take")
    respond.add_argument("--input", nargs="+", metavar="PATH",
                         help="with --plan: judge these files instead of Table Storage")
    respond.add_argument("--now", type=parse_now, help="the ISO-8601 time (default: the clock)")
    respond.add_argument("--directory", metavar="FILE",
                         help="with --plan --input: saved roleAssignments response, for the "
                         "privileged-account enrichment (privileged accounts are left to a person)")


def run_respond(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.plan:
        if args.incident_id or args.action or args.yes:
            err.write("riskwatch: respond --plan takes no INCIDENT_ID, --action or --yes\n")
            return EXIT_USAGE
        return _plan(args, out, err)
    missing = [name for name, value in (("INCIDENT_ID", args.incident_id),
                                        ("--action", args.action), ("--reason", args.reason),
                                        ("--by", args.by)) if not value]
    if missing:
        err.write(f"riskwatch: respond needs {', '.join(missing)} (or --plan)\n")
        return EXIT_USAGE
    if args.input or args.directory:
        err.write("riskwatch: --input and --directory go with --plan only\n")
        return EXIT_USAGE
    return _command(args, out, err)


def _command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from detections.response.policy import command_problem
    from service.ingest.event_grid_work import state_tables
    from service.ingest.graph.auth import make_token_provider, parse_auth_mode
    from service.response.bundles import evidence_store
    from service.response.executor import Request, Responder, ResponseError
    from service.response.graph_actions import ActionError, GraphActions, Target, build_call
    from service.response.policy_run import user_id_of
    from service.settings import load_settings
    from service.state.labels import find_incident

    settings = load_settings()
    tables = state_tables(settings.storage, settings.table_prefix)
    incident = find_incident(tables, args.incident_id)
    if incident is None:
        err.write(f"riskwatch: unknown incident id {printable(args.incident_id[:80])!s}: no such "
                  "incident in Table Storage\n")
        return EXIT_USAGE
    target = Target(incident.principal, user_id_of(tables, incident), incident.privileged)
    exclusions = settings.response.exclusions
    problem = command_problem(incident, args.action, target.user_id, exclusions)
    if problem is not None:
        err.write(f"riskwatch: {printable(problem)}\n")
        return EXIT_USAGE
    try:
        call = build_call(settings.graph_base_url, args.action, target)
    except ActionError as exc:
        err.write(f"riskwatch: {printable(exc)}\n")
        return EXIT_USAGE
    who = f"{incident.principal}" + (" (privileged)" if incident.privileged else "")
    if not args.yes:
        out.write(f"would call: {printable(call.describe())}\n"
                  f"on {printable(who)} for incident {incident.incident_id} revision "
                  f"{incident.revision}; nothing was called: add --yes to make the call\n")
        return EXIT_WOULD_ACT
    token = make_token_provider(parse_auth_mode(settings.graph_auth), settings.graph_base_url,
                                settings.azure_client_id)
    responder = Responder(tables, evidence_store(settings),
                          GraphActions(settings.graph_base_url, token), exclusions)
    try:
        done = responder.execute(Request(
            incident=incident, target=target, action=args.action, actor=args.by,
            reason=args.reason, policy_rule=None), args.now or datetime.now(UTC))
    except ResponseError as exc:
        err.write(f"riskwatch: {printable(exc)}\n")
        return EXIT_USAGE
    record = done.record
    if record is None:
        err.write("riskwatch: another run is taking this action right now; see riskwatch audit\n")
        return EXIT_FAILED
    already = " (already taken before: not called again)" if done.repeated else ""
    line = (f"{args.action} on {who}: {record.outcome}{already}; graph request id "
            f"{record.graph_request_id or '-'}")
    if record.error:
        line += f"; {record.error}"
    stream = out if record.outcome == "done" else err
    stream.write(printable(line) + "\n")
    return EXIT_OK if record.outcome == "done" else EXIT_FAILED


def _plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from service.settings import Settings

    proposals: list[dict[str, Any]]
    if args.input:
        import os

        from service.settings import load_detection_settings
        from service.settings.parsing import Reader
        from service.settings.response import response_setting

        read = Reader(os.environ)
        exclusions = response_setting(read).exclusions
        if read.problems:
            err.write("riskwatch: " + "; ".join(read.problems) + "\n")
            return EXIT_USAGE
        proposals = _plan_files(args, load_detection_settings(), exclusions, err)
    else:
        from service.settings import load_settings

        settings: Settings = load_settings()
        proposals, rows_read, unreadable = _plan_state(settings)
        for problem in unreadable:
            err.write(f"unreadable: {printable(problem)}\n")
        if unreadable and not rows_read:  # as scan: some input unreadable is reported, none is 3
            err.write("riskwatch: no incident in Table Storage could be read\n")
            return EXIT_NO_INPUT
    for proposal in proposals:
        out.write(json.dumps(proposal, sort_keys=True) + "\n")
    err.write(f"respond --plan: {len(proposals)} actions the policy would take; nothing was "
              "called\n")
    return EXIT_OK


def _plan_files(args: argparse.Namespace, detection: Any, exclusions: Any,
                err: TextIO) -> list[dict[str, Any]]:
    from detections.enrich import Enricher
    from detections.registry import load_rules
    from detections.response.policy import propose
    from service.cli import scan as scan_mod
    from service.cli.commands import _directory
    from service.cli.scan_incidents import scan_incidents

    rules = [r for r in load_rules() if r.id not in detection.disabled_rules]
    options = scan_mod.ScanOptions(fmt="auto", now=args.now, max_alerts=1000,
                                   params=detection.rule_params)
    enricher = Enricher(_directory(args.directory), detection.business_hours) \
        if args.directory else Enricher(hours=detection.business_hours)  # fmt: skip
    report, incidents = scan_incidents(scan_mod.expand_paths(args.input), rules, options,
                                       enricher=enricher, quiet=detection.incident_quiet)
    for problem in report.unreadable:
        err.write(f"unreadable: {printable(problem)}\n")
    # The user's object id, from the alerts' context (as the app takes it from its claims):
    # an exclusion by object id is then checked offline too.
    user_ids = {a.alert_id: a.context["user_id"] for a in report.alerts
                if isinstance(a.context.get("user_id"), str) and a.context["user_id"]}
    found = []
    for incident in incidents:
        user_id = next((str(user_ids[a.alert_id]) for a in incident.alerts
                        if a.alert_id in user_ids), None)
        for proposal in propose(incident, user_id=user_id, label=None, exclusions=exclusions):
            found.append(proposal.to_dict())
    return found


def _plan_state(settings: Any) -> tuple[list[dict[str, Any]], int, list[str]]:
    """The proposals for every stored incident, how many rows were read, and one line per
    row that could not be (named by its table and keys; the others go on)."""
    from detections.response.policy import propose
    from service.ingest.event_grid_work import state_tables
    from service.response.policy_run import labels_by_incident, user_id_of
    from service.state.incidents import TABLE, IncidentStateError, read_incident

    tables = state_tables(settings.storage, settings.table_prefix)
    labels = labels_by_incident(tables)
    found: list[dict[str, Any]] = []
    read, unreadable = 0, []
    for row in tables.table(TABLE).list_entities():
        try:
            incident = read_incident(row)
        except IncidentStateError as exc:
            unreadable.append(str(exc))
            continue
        read += 1
        for proposal in propose(incident, user_id=user_id_of(tables, incident),
                                label=labels.get(incident.incident_id),
                                exclusions=settings.response.exclusions):
            found.append(proposal.to_dict())
    return found, read, unreadable
