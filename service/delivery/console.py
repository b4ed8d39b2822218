"""A sink that prints each delivered alert: the demo's and ``riskwatch run``'s view.

Terminal control characters in attacker-chosen values are escaped, so a hostile
display name cannot rewrite the analyst's screen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

from detections.model import Severity
from service.delivery.base import DeliveryOutcome, DeliveryStatus
from service.delivery.escape import terminal_text


class ConsoleSink:
    """Writes one line per alert (or one JSON object per line with ``as_json``)."""

    name = "console"

    def __init__(
        self, out: TextIO, *, min_severity: Severity = Severity.INFORMATIONAL, as_json: bool = False
    ) -> None:
        self.out = out
        self.min_severity = min_severity
        self.as_json = as_json

    def send(self, alert: Mapping[str, Any]) -> DeliveryOutcome:
        if self.as_json:
            self.out.write(json.dumps(alert, sort_keys=True) + "\n")
        else:
            self.out.write(_line(alert) + "\n")
        self.out.flush()
        return DeliveryOutcome(DeliveryStatus.DELIVERED, "printed")


def _safe(value: object) -> str:
    return terminal_text(value)


def _incident_line(payload: Mapping[str, Any]) -> str:
    """One line per incident revision: verdict, principal, top reason."""
    incident = payload.get("incident") or {}
    reasons = incident.get("reasons") or [{}]
    top = reasons[0].get("text", "no reason recorded") if isinstance(reasons[0], dict) else ""
    return (
        f"[{_safe(incident.get('verdict', '?')).upper():<6}] incident "
        f"{_safe(incident.get('principal', '?'))} (revision {incident.get('revision', '?')}, "
        f"{len(incident.get('alerts') or [])} alerts): {_safe(top)}"
    )


def _line(alert: Mapping[str, Any]) -> str:
    if alert.get("schema") == "riskwatch.incident.v1":
        return _incident_line(alert)
    context = alert.get("context") or {}
    where = context.get("country") or context.get("ip_address") or ""
    extra = f" from {_safe(where)}" if where else ""
    return (
        f"[{_safe(alert.get('severity', '?')).upper():<13}] {_safe(alert.get('rule_id', '?'))}: "
        f"{_safe(alert.get('title', ''))}{extra} "
        f"(count {alert.get('count', 1)}, first seen {_safe(alert.get('first_seen', ''))})"
    )
