"""Per-sink minimum severity: each sink only receives alerts at or above its own level.

One documented exemption: the periodic review's summary (rule id ``riskwatch_review``,
``service.review.summary``) is a report, not an alert, and every sink receives it whatever
its minimum, at its true severity (the window's highest verdict), so a quiet week never
shows as critical to reach a sink set to critical.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detections.model import Severity
from service.delivery.base import DeliveryOutcome, DeliveryStatus, Sink


def alert_severity(alert: Mapping[str, Any]) -> Severity:
    """The alert's severity; an unreadable one counts as critical so it is never hidden."""
    try:
        return Severity.parse(str(alert.get("severity", "")))
    except ValueError:
        return Severity.CRITICAL


REVIEW_SUMMARY = "riskwatch_review"
EVERY_SINK_RULES = frozenset({REVIEW_SUMMARY})  # rule ids no minimum severity holds back


def passes(sink: Sink, severity: Severity, rule_id: str | None) -> bool:
    """Whether an alert of ``rule_id`` at ``severity`` is for ``sink`` (the outbox asks when
    it writes the row, the sink again before it sends)."""
    return rule_id in EVERY_SINK_RULES or severity.rank >= sink.min_severity.rank


def wants(sink: Sink, alert: Mapping[str, Any]) -> bool:
    """Whether ``sink`` should receive ``alert`` (callers can skip the send entirely)."""
    rule_id = alert.get("rule_id")
    return passes(sink, alert_severity(alert), rule_id if isinstance(rule_id, str) else None)


def skipped(sink: Sink, alert: Mapping[str, Any]) -> DeliveryOutcome:
    """Nothing to send: final, so the outbox does not retry it. No request was made."""
    reason = (
        f"skipped: severity {alert_severity(alert).value} is below "
        f"{sink.name}'s minimum {sink.min_severity.value}"
    )
    return DeliveryOutcome(DeliveryStatus.DELIVERED, reason, attempts=0)
