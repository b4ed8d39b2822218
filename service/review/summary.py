"""The one summary notification of a review window: counts, the top users, the coverage
gaps, where the report is.

It is an alert-shaped payload (``Alert.to_dict()``, rule id ``riskwatch_review``), so every
sink renders it with its existing alert renderer and escaping: a hostile UPN among the top
users is a Teams TextRun, escaped Slack mrkdwn, a plain webhook JSON string. Its id derives
from the window alone, so every run of that window writes the same outbox row. Every sink
receives it whatever its minimum severity (``service.delivery.severity``), at its true
severity: the window's highest verdict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from detections.alerts import Alert, alert_id_for
from detections.model import Severity
from detections.rule import JsonValue
from service.delivery.severity import REVIEW_SUMMARY

RULE_ID = REVIEW_SUMMARY
TOP_USERS = 5
TOP_GAPS = 3  # gaps named in the summary; the report lists them all
VERDICT_SEVERITY = {"high": Severity.HIGH, "medium": Severity.MEDIUM, "low": Severity.LOW}


def summary_severity(review: dict[str, Any]) -> Severity:
    """The highest verdict of the window's flagged users; informational with none."""
    severity = Severity.INFORMATIONAL
    for user in review["users"]:
        severity = severity.at_least(VERDICT_SEVERITY.get(user["verdict"], Severity.LOW))
    return severity


def coverage_gaps(review: dict[str, Any]) -> str:
    """``none``, or how many gaps and the first few: source, why (all in the report)."""
    gaps = review["coverage"]["gaps"]
    if not gaps:
        return "none"
    named = "; ".join(f"{g['source']}: {g['why']}" for g in gaps[:TOP_GAPS])
    more = f"; and {len(gaps) - TOP_GAPS} more in the report" if len(gaps) > TOP_GAPS else ""
    return f"{len(gaps)}: {named}{more}"


def summary_alert(review: dict[str, Any], where: str) -> Alert:
    window = review["window"]
    since, until = datetime.fromisoformat(window["since"]), datetime.fromisoformat(window["until"])
    users = review["users"]
    verdicts = {v: sum(1 for u in users if u["verdict"] == v) for v in ("high", "medium", "low")}
    inventory = review["inventory"]
    top = "; ".join(f"{u['principal']} ({u['verdict']}, {u['score']})" for u in users[:TOP_USERS])
    gaps = review["coverage"]["gaps"]
    key = f"{RULE_ID}|{window['since']}|{window['until']}"
    # At most eight entries: a Teams or Slack card shows eight context facts.
    context: dict[str, JsonValue] = {
        "review_window": f"{window['since']} to {window['until']}",
        "coverage_gaps": coverage_gaps(review),
        "flagged_users": f"{len(users)}: {verdicts['high']} high, {verdicts['medium']} medium, "
                         f"{verdicts['low']} low",
        "top_users": top or "none",
        "sign_ins": f"{inventory['sign_ins']['total']} ({inventory['sign_ins']['failures']} "
                    f"not successful, {inventory['risky_sign_ins']['total']} risky)",
        "risk_detections": inventory["detections"]["total"],
        "attacking_ips": len(review["ips"]),
        "report": where,
    }
    title = (f"Riskwatch review, {window['label']}: {len(users)} flagged users "
             f"({verdicts['high']} high)")
    if gaps:
        title += f", {len(gaps)} coverage gap{'s' if len(gaps) != 1 else ''}"
    return Alert(
        alert_id=alert_id_for(key, since), rule_id=RULE_ID, rule_version=1, title=title,
        severity=summary_severity(review), risk_score=0, principal="(riskwatch)",
        dedup_key=key, first_seen=since, last_seen=until, window_end=until, count=len(users),
        event_ids=[], mitre=(), context=context,
        investigation=(
            f"Open the report: {where} (review.html for people, review.json for machines).",
            "Read the coverage gaps first: a source missing from the window hides its users.",
            "Work through the flagged users, highest verdict first; read each timeline "
            "before acting.",
            "Record each verdict: riskwatch label INCIDENT_ID tp|fp|indeterminate --note TEXT",
        ),
    )
