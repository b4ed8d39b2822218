"""The review window's inventory, counted as events stream past (nothing kept but counts).

Risky sign-ins (a sign-in with a risk level or risk state) by level, state and risk event
type (a sign-in of several types counts under each), risk detections by level, state,
type and timing, sign-ins by hour of the week in the business time zone, and failures over
time by class. The addresses the caller watches (the attacking IPs) also get who they
touched and how their sign-ins went.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from detections.enrich import BusinessHours
from detections.failures import classify
from detections.incidents.evidence import RESULT_OF_FAILURE
from detections.model import Event, RiskDetection, RiskyUser, SignIn
from detections.predicates import is_active_level

FAILURE_CLASSES = ("credential_failure", "mfa_failure", "interrupt", "consent", "policy_block",
                   "other")
TIMINGS = ("realtime", "nearRealtime", "offline")
HOURLY_UP_TO = timedelta(days=3)  # longer windows count failures per day
HOURS_PER_WEEK = 168


@dataclass(slots=True)
class IpTally:
    users: set[str] = field(default_factory=set)
    countries: Counter[str] = field(default_factory=Counter)
    asn: int | None = None
    failures: int = 0
    successes: int = 0


def _risk_level(event: SignIn) -> str | None:
    for level in (event.risk_level_during_sign_in, event.risk_level_aggregated):
        if is_active_level(level):
            return level
    return None


class WindowTally:
    """Counts of the events in [since, until); ``observe`` ignores everything else."""

    def __init__(self, since: datetime, until: datetime, hours: BusinessHours,
                 watched_ips: Iterable[str] = ()) -> None:
        self.since, self.until, self.hours = since, until, hours
        self.bucket = "hour" if until - since <= HOURLY_UP_TO else "day"
        self.risky_total = 0
        self.risky_level: Counter[str] = Counter()
        self.risky_state: Counter[str] = Counter()
        self.risky_type: Counter[str] = Counter()
        self.detections = 0
        self.detection_level: Counter[str] = Counter()
        self.detection_state: Counter[str] = Counter()
        self.detection_type: Counter[str] = Counter()
        self.detection_timing: Counter[str] = Counter()
        self.risky_users = 0
        self.sign_ins = 0
        self.failures = 0
        self.hour_of_week = [0] * HOURS_PER_WEEK
        self.failure_buckets: dict[datetime, Counter[str]] = {}
        self.ips: dict[str, IpTally] = {ip: IpTally() for ip in watched_ips}
        self.first: datetime | None = None
        self.last: datetime | None = None

    def observe(self, event: Event) -> None:
        if not self.since <= event.time < self.until:
            return
        self.first = event.time if self.first is None else min(self.first, event.time)
        self.last = event.time if self.last is None else max(self.last, event.time)
        if isinstance(event, SignIn):
            self._sign_in(event)
        elif isinstance(event, RiskDetection):
            self.detections += 1
            self.detection_level[event.risk_level or "unknown"] += 1
            self.detection_state[event.risk_state or "unknown"] += 1
            self.detection_type[event.risk_event_type] += 1
            timing = event.detection_timing_type
            self.detection_timing[timing if timing in TIMINGS else "unknown"] += 1
        elif isinstance(event, RiskyUser):
            self.risky_users += 1

    def _sign_in(self, event: SignIn) -> None:
        self.sign_ins += 1
        local = event.time.astimezone(self.hours.tz)
        self.hour_of_week[local.weekday() * 24 + local.hour] += 1
        level = _risk_level(event)
        if level is not None or (event.risk_state or "none") != "none":
            self.risky_total += 1
            self.risky_level[level or "none"] += 1
            self.risky_state[event.risk_state or "none"] += 1
            for risk_type in dict.fromkeys(event.risk_event_types or ("unknown",)):
                self.risky_type[risk_type] += 1
        result = RESULT_OF_FAILURE[classify(event)]
        if result != "success":
            self.failures += 1
            self.failure_buckets.setdefault(self._bucket_of(event.time), Counter())[result] += 1
        ip = self.ips.get(event.ip_address or "")
        if ip is not None:
            ip.users.add(event.principal.lower())
            if event.location.country:
                ip.countries[event.location.country] += 1
            ip.asn = ip.asn if event.autonomous_system_number is None \
                else event.autonomous_system_number  # fmt: skip
            ip.successes += result == "success"
            ip.failures += result != "success"

    def _bucket_of(self, moment: datetime) -> datetime:
        utc = moment.astimezone(UTC)
        if self.bucket == "hour":
            return utc.replace(minute=0, second=0, microsecond=0)
        return utc.replace(hour=0, minute=0, second=0, microsecond=0)

    def failures_over_time(self) -> dict[str, Any]:
        """Every bucket of the window in order, empty ones included (a chart's axis)."""
        step = timedelta(hours=1) if self.bucket == "hour" else timedelta(days=1)
        series = []
        start = self._bucket_of(self.since)
        while start < self.until:
            counts = self.failure_buckets.get(start, Counter())
            series.append({"start": start.isoformat(),
                           "counts": {name: counts[name] for name in FAILURE_CLASSES}})
            start += step
        return {"bucket": self.bucket, "series": series}

    def to_dict(self) -> dict[str, Any]:
        return {
            "risky_sign_ins": {"total": self.risky_total, "by_level": _levels(self.risky_level),
                               "by_state": dict(self.risky_state.most_common()),
                               "by_type": _types(self.risky_type)},
            "detections": {
                "total": self.detections, "by_level": _levels(self.detection_level),
                "by_state": dict(self.detection_state.most_common()),
                "by_type": _types(self.detection_type),
                "by_timing": {name: self.detection_timing[name]
                              for name in (*TIMINGS, "unknown")},
            },
            "risky_users": self.risky_users,
            "sign_ins": {"total": self.sign_ins, "failures": self.failures,
                         "by_hour_of_week": list(self.hour_of_week),
                         "failures_over_time": self.failures_over_time()},
        }


def _types(counts: Counter[str]) -> list[dict[str, Any]]:
    """``[{risk_event_type, count}]``, most first, then by name."""
    return [{"risk_event_type": t, "count": n}
            for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _levels(counts: Counter[str]) -> dict[str, int]:
    """high, medium, low always (a chart's bars), then any other level seen."""
    ordered = {level: counts[level] for level in ("high", "medium", "low")}
    ordered.update((k, n) for k, n in sorted(counts.items()) if k not in ordered)
    return ordered
