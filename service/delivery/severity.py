"""Per-sink minimum severity: each sink only receives alerts at or above its own level."""

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


def wants(sink: Sink, alert: Mapping[str, Any]) -> bool:
    """Whether ``sink`` should receive ``alert`` (callers can skip the send entirely)."""
    return alert_severity(alert).rank >= sink.min_severity.rank


def skipped(sink: Sink, alert: Mapping[str, Any]) -> DeliveryOutcome:
    """Nothing to send: final, so the outbox does not retry it. No request was made."""
    reason = (
        f"skipped: severity {alert_severity(alert).value} is below "
        f"{sink.name}'s minimum {sink.min_severity.value}"
    )
    return DeliveryOutcome(DeliveryStatus.DELIVERED, reason, attempts=0)
