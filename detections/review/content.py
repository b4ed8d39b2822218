"""The review dict (``review.json``, schema ``riskwatch.review.v1``) from its pure parts.

The caller (``service.review``) reads the inputs, feeds every event to a ``WindowTally``
(the review window) and an ``AssessmentTally`` (the assessment window), and passes the
incidents, the analyst labels and the coverage facts it gathered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from detections.enrich import WEEKDAYS, BusinessHours
from detections.incidents.model import Incident
from detections.review.accuracy import AssessmentTally, assess
from detections.review.inventory import WindowTally
from detections.review.labels import IncidentLabel
from detections.review.users import active_in, attacking_ips, flagged_users, ip_rows

SCHEMA = "riskwatch.review.v1"
OFFLINE_ACTIONS = ("a review from files reads no audit log: the response actions are in Table "
                   "Storage (riskwatch audit, or a review without --input)")
# The keys of each ``actions.items`` entry: an audit record (``riskwatch audit``'s fields).
ACTION_KEYS = ("time", "actor", "action", "target", "incident_id", "revision", "evidence",
               "reason", "policy_rule", "graph_request_id", "outcome", "error")


def actions_section(records: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """``actions``: the audit log's records of the window, oldest first, or why there are
    none (``records`` None: no audit log was read)."""
    if records is None:
        return {"available": False, "why": OFFLINE_ACTIONS, "items": []}
    items = [{key: record.get(key) for key in ACTION_KEYS} for record in records]
    taken = sum(1 for item in items if item["outcome"] == "done")
    why = None if items else "no response proposals or actions in the window"
    return {"available": True, "why": why, "items": items, "taken": taken,
            "proposed": sum(1 for item in items if item["outcome"] == "proposed")}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewWindow:
    since: datetime
    until: datetime
    label: str


def business_hours_dict(hours: BusinessHours) -> dict[str, Any]:
    return {"timezone": str(hours.tz), "start": hours.start.strftime("%H:%M"),
            "end": hours.end.strftime("%H:%M"), "days": sorted(hours.days),
            "day_names": [WEEKDAYS[d] for d in sorted(hours.days)]}


def build_review(
    *,
    window: ReviewWindow,
    hours: BusinessHours,
    generated_at: datetime,
    tally: WindowTally,
    assessment: AssessmentTally,
    incidents: Sequence[Incident],
    labels: Sequence[IncidentLabel],
    coverage: Mapping[str, Any],
    actions: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The whole review. ``coverage`` is passed through with the assessment window added."""
    active = active_in(incidents, window.since, window.until)
    return {
        "schema": SCHEMA,
        "generated_at": generated_at.isoformat(),
        "window": {"since": window.since.isoformat(), "until": window.until.isoformat(),
                   "label": window.label, "business_hours": business_hours_dict(hours)},
        "coverage": {**coverage, "assessment_window": {
            "since": assessment.since.isoformat(), "until": assessment.until.isoformat()}},
        "inventory": tally.to_dict(),
        "users": flagged_users(active, labels, hours),
        "ips": ip_rows(attacking_ips(active), tally.ips),
        "actions": actions_section(actions),
        "accuracy": assess(assessment, incidents, labels).to_dict(),
    }


def watched_ips(incidents: Sequence[Incident], since: datetime, until: datetime) -> set[str]:
    """The addresses a ``WindowTally`` should follow: the window's attacking IPs."""
    return set(attacking_ips(active_in(incidents, since, until)))
