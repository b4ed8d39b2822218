"""Enrichment every alert gets: privileged holders, off-hours and location confidence.

An ``Enricher`` is handed to ``Engine(enricher=...)``; each match passes through it.
It is pure: the privileged map and the business hours come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, tzinfo

from detections.directory import PrivilegedMap
from detections.engine import Match
from detections.geo import location_confidence
from detections.model import NO_LOCATION, Location, Severity
from detections.rule import JsonValue

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Working time: a time zone, a daily start and end (end exclusive) and weekdays."""

    tz: tzinfo = UTC
    start: time = time(8, 0)
    end: time = time(18, 0)
    days: frozenset[int] = frozenset(range(5))  # Monday=0 .. Friday=4

    def describe(self, moment: datetime) -> dict[str, JsonValue]:
        local = moment.astimezone(self.tz)
        weekend = local.weekday() not in self.days
        outside = weekend or not self.start <= local.time() < self.end
        return {
            "local_time": local.isoformat(),
            "weekday": WEEKDAYS[local.weekday()],
            "weekend": weekend,
            "outside_business_hours": outside,
        }


class Enricher:
    """Raises alerts on privileged holders and adds off-hours and location context."""

    def __init__(
        self, privileged: PrivilegedMap | None = None, hours: BusinessHours | None = None
    ) -> None:
        self.privileged = privileged or PrivilegedMap()
        self.hours = hours or BusinessHours()

    def __call__(self, match: Match) -> Match:
        finding = match.finding
        context = dict(finding.context)
        context["off_hours"] = self.hours.describe(match.time)
        location: Location = getattr(match.event, "location", NO_LOCATION)
        context.setdefault("location_confidence", location_confidence(location))
        roles = self._roles(match)
        tags, severity = finding.tags, match.severity
        if roles:
            context["privileged_roles"] = list[JsonValue](roles)
            tags = (*tags, "privileged") if "privileged" not in tags else tags
            severity = severity.at_least(Severity.HIGH)  # seed 002: thin evidence, still high
        return replace(
            match, severity=severity, finding=replace(finding, context=context, tags=tags)
        )

    def _roles(self, match: Match) -> tuple[str, ...]:
        event = match.event
        about = match.finding.about_user
        # The object id decides (sign-ins and risk records carry userId); a service
        # principal's sign-in carries its own id, and role holders can be apps too. A finding
        # about another user than the event's (spray_success) is that user's roles.
        object_id = getattr(event, "user_id", None) or getattr(event, "service_principal_id", None)
        roles = set(
            self.privileged.roles_of_key(about) if about is not None else
            self.privileged.roles_of(object_id, getattr(event, "user_principal_name", None))
        )
        # Rules on many users (spray, lockouts) list their user keys: any privileged target counts.
        users = match.finding.context.get("users")
        if isinstance(users, list):
            for user in users:
                if isinstance(user, str):
                    roles |= set(self.privileged.roles_of_key(user))
        return tuple(sorted(roles))
