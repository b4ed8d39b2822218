"""Alerts: matches grouped by dedup key within the rule's window, as Panther does.

The first match of a key opens an alert; later matches inside the window raise
its count and ``last_seen``. A per-run cap (Elastic's ``max_signals``, 1000)
turns the surplus into one overflow summary alert instead of losing it silently.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detections.alert_window import AlertWindow, join_window
from detections.engine import Match
from detections.model import Severity
from detections.rule import JsonValue

MAX_EVENT_IDS = 50  # ids kept per alert; ``count`` keeps counting past it
OVERFLOW_RULE_ID = "riskwatch_overflow"


def alert_id_for(dedup_key: str, first_seen: datetime) -> str:
    """Deterministic: two workers that open the same alert give it the same id."""
    text = f"{dedup_key}\n{first_seen.isoformat()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(slots=True, kw_only=True)
class Alert:
    alert_id: str
    rule_id: str
    rule_version: int
    title: str
    severity: Severity
    risk_score: int
    principal: str
    dedup_key: str
    first_seen: datetime
    last_seen: datetime
    window_end: datetime
    count: int
    event_ids: list[str]
    mitre: tuple[str, ...]
    context: dict[str, JsonValue]
    tags: tuple[str, ...] = ()
    investigation: tuple[str, ...] = ()

    @classmethod
    def open(cls, match: Match) -> Alert:
        rule = match.rule
        ids = [match.event.event_id, *match.finding.related_event_ids]
        return cls(
            alert_id=alert_id_for(match.dedup_key, match.time),
            rule_id=rule.id,
            rule_version=rule.version,
            title=match.finding.title,
            severity=match.severity,
            risk_score=rule.risk_score,
            principal=match.principal,
            dedup_key=match.dedup_key,
            first_seen=match.time,
            last_seen=match.time,
            window_end=match.time + rule.dedup_window,
            count=1,
            event_ids=_unique(ids)[:MAX_EVENT_IDS],
            mitre=rule.mitre,
            context=dict(match.finding.context),
            tags=match.finding.tags,
            investigation=rule.investigation,
        )

    def window(self) -> AlertWindow:
        return AlertWindow(self.first_seen, self.last_seen, self.window_end)

    def joined(self, match: Match) -> AlertWindow | None:
        """This alert's window with ``match`` in it, or None when ``match`` opens a new
        alert (``detections.alert_window.join_window`` decides, for scan and the app)."""
        return join_window(self.window(), match.time, match.rule.dedup_window)

    def absorb(self, match: Match, window: AlertWindow) -> None:
        """Count a match of the same key; ``window`` is ``self.joined(match)``."""
        self.count += 1
        self.first_seen, self.last_seen = window.first_seen, window.last_seen
        self.window_end = window.end
        self.severity = self.severity.at_least(match.severity)
        for event_id in (match.event.event_id, *match.finding.related_event_ids):
            if len(self.event_ids) >= MAX_EVENT_IDS:
                break
            if event_id not in self.event_ids:
                self.event_ids.append(event_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "severity": self.severity.value,
            "risk_score": self.risk_score,
            "title": self.title,
            "principal": self.principal,
            "dedup_key": self.dedup_key,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "count": self.count,
            "event_ids": list(self.event_ids),
            "mitre": list(self.mitre),
            "tags": list(self.tags),
            "context": self.context,
            "investigation": list(self.investigation),
        }


@dataclass(slots=True)
class AlertGrouper:
    """Groups matches into alerts in memory (``riskwatch scan``)."""

    max_alerts: int = 1000
    _open: dict[str, Alert] = field(default_factory=dict)
    _alerts: list[Alert] = field(default_factory=list)
    _suppressed: Counter[str] = field(default_factory=Counter)
    _suppressed_first: datetime | None = None
    _suppressed_last: datetime | None = None

    def add(self, match: Match) -> Alert | None:
        """Group ``match``; return the alert it opened, if it opened one."""
        current = self._open.get(match.dedup_key)
        joined = current.joined(match) if current is not None else None
        if current is not None and joined is not None:
            current.absorb(match, joined)
            return None
        if len(self._alerts) >= self.max_alerts:
            self._suppress(match)
            return None
        alert = Alert.open(match)
        self._open[match.dedup_key] = alert
        self._alerts.append(alert)
        return alert

    def alerts(self) -> list[Alert]:
        """Every alert, plus the overflow summary when the cap was reached."""
        result = list(self._alerts)
        overflow = self.overflow_alert()
        if overflow is not None:
            result.append(overflow)
        return result

    def overflow_alert(self) -> Alert | None:
        if not self._suppressed or self._suppressed_first is None:
            return None
        first, last = self._suppressed_first, self._suppressed_last or self._suppressed_first
        return overflow_summary(
            self._suppressed,
            first=first,
            last=last,
            cap=self.max_alerts,
            key=f"{OVERFLOW_RULE_ID}|{first.isoformat()}",
            window_end=last + timedelta(seconds=1),
            why="Raise the cap or narrow the input; nothing was dropped silently.",
        )

    def _suppress(self, match: Match) -> None:
        self._suppressed[match.rule.id] += 1
        if self._suppressed_first is None or match.time < self._suppressed_first:
            self._suppressed_first = match.time
        if self._suppressed_last is None or match.time > self._suppressed_last:
            self._suppressed_last = match.time


def overflow_summary(
    suppressed: Mapping[str, int],
    *,
    first: datetime,
    last: datetime,
    cap: int,
    key: str,
    window_end: datetime,
    why: str,
) -> Alert:
    """One alert that stands for every match the per-run cap kept from being raised."""
    total = sum(suppressed.values())
    return Alert(
        alert_id=alert_id_for(key, first),
        rule_id=OVERFLOW_RULE_ID,
        rule_version=1,
        title=f"{total} more matches not raised: the cap of {cap} alerts per run was reached",
        severity=Severity.HIGH,
        risk_score=73,
        principal="(many)",
        dedup_key=key,
        first_seen=first,
        last_seen=last,
        window_end=window_end,
        count=total,
        event_ids=[],
        mitre=(),
        context={"suppressed_by_rule": dict(sorted(suppressed.items())), "max_alerts": cap,
                 "why": why},
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
