"""Follows the principals that have alerts during a scan and builds their incidents.

A segment is the evidence of one (future) incident of one principal: opened by its first
match and seeded with what the correlation history holds from before, then fed every later
event of its user or addresses until the incident goes quiet or its risk closes. Memory is
bounded: only principals with an alert are followed, each keeps exact counts but a bounded
list of entries, and the number followed is capped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from detections.alerts import Alert
from detections.correlation_history import History
from detections.engine import Match
from detections.enrich import BusinessHours
from detections.failures import classify
from detections.history_records import Attempt
from detections.incidents.breakdown import BreakdownTally
from detections.incidents.evidence import (
    evidence_of,
    from_attempt,
    from_success,
    principal_key,
    user_key_of,
)
from detections.incidents.grouping import (
    MAX_USERS,
    assemble,
    facts_of,
    principal_of,
    quiet_since,
    risk_closes,
)
from detections.incidents.model import Incident, PrincipalType, Related
from detections.incidents.timeline import EvidenceLog
from detections.model import Event, RiskyUser, SignIn

MAX_KNOWN_DEVICES = 20
# Principals followed at most. The scan raises at most ``--max-alerts`` alerts, so once
# that many distinct alert keys have matched, a new principal's matches are suppressed
# anyway and it is not followed either. A principal past either cap still gets its
# incident, without breakdown or timeline.
MAX_SEGMENTS = 1000
KEPT_PER_SEGMENT = 100  # evidence entries kept per followed principal (counts stay exact)
# Names of users with credential failures, by history key: the correlation history keeps
# keys (object ids) only, and a spray's victims are named in its incident by these.
MAX_NAMES = 50_000


@dataclass(slots=True)
class Segment:
    """The evidence of one (future) incident of one principal, as the scan goes."""

    principal_type: PrincipalType
    principal: str
    opened: datetime
    last_match: datetime
    hours: BusinessHours
    user_key: str | None = None  # the history key of a user principal
    log: EvidenceLog = field(default_factory=EvidenceLog)
    tally: BreakdownTally = field(default_factory=BreakdownTally)
    rule_ids: set[str] = field(default_factory=set)
    matched_ids: set[str] = field(default_factory=set)
    known_devices: list[str] = field(default_factory=list)
    ips: set[str] = field(default_factory=set)
    users: dict[str, str] = field(default_factory=dict)  # user key -> principal, touched
    closed: str | None = None
    followed: bool = True  # False: built at the end for an alert no segment followed

    def add(self, event: Event) -> None:
        item = evidence_of(event)
        if self.log.add(item):
            self.tally.add(item)
        self._touch(user_key_of(event), event.principal)

    def seed(self, records: Iterable[Attempt]) -> None:
        """Attempts the correlation history kept from before the segment followed them."""
        for record in records:
            item = from_attempt(record)
            if self.log.seed(item):
                self.tally.add(item)
            self._touch(record.user, record.user)

    def _touch(self, key: str, principal: str) -> None:
        if self.principal_type in ("user", "app"):  # only addresses and the tenant touch users
            return
        if self.users.get(key, key) == key and (key in self.users or len(self.users) < MAX_USERS):
            self.users[key] = principal  # a name replaces the bare key history gave


class IncidentRecorder:
    """Follows the principals that have alerts; builds their incidents at the end."""

    def __init__(self, quiet: timedelta, hours: BusinessHours, max_alerts: int = 1000) -> None:
        self.quiet, self.hours, self.max_alerts = quiet, hours, max_alerts
        self._keys: set[str] = set()  # distinct alert keys matched, up to max_alerts
        self.history: History | None = None
        self.segments: dict[tuple[str, str], list[Segment]] = {}
        self._by_user: dict[str, list[Segment]] = {}
        self._by_ip: dict[str, list[Segment]] = {}
        self.opened = 0  # segments opened (bounded by MAX_SEGMENTS)
        self.names: dict[str, str] = {}

    def on_match(self, match: Match) -> None:
        if len(self._keys) < self.max_alerts:
            self._keys.add(match.dedup_key)
        elif match.dedup_key not in self._keys:
            return  # the scan suppresses this alert (the cap): nothing to follow
        kind, principal = principal_of(match.rule.id, match.principal, match.finding.context)
        chain = self.segments.setdefault((kind, principal), [])
        current = chain[-1] if chain else None
        if current is None or current.closed or quiet_since(
            current.last_match, match.time, self.quiet
        ):
            if current is not None and current.closed is None:
                self._stop(current, "quiet")
            if self.opened >= MAX_SEGMENTS:
                return
            current = self._open(kind, principal, match)
            chain.append(current)
        current.last_match = max(current.last_match, match.time)
        current.rule_ids.add(match.rule.id)
        current.matched_ids.update((match.event.event_id, *match.finding.related_event_ids))
        if kind != "user":
            ips = match.finding.context.get("ip_addresses")
            for ip in (principal,) if kind == "ip" else ips if isinstance(ips, list) else ():
                if isinstance(ip, str) and ip not in current.ips:
                    self._watch_ip(current, ip)

    def _open(self, kind: PrincipalType, principal: str, match: Match) -> Segment:
        segment = Segment(kind, principal, match.time, match.time, self.hours,
                          log=EvidenceLog(limit=KEPT_PER_SEGMENT),
                          tally=BreakdownTally(hours=self.hours))
        self.opened += 1
        if kind == "user":
            segment.user_key = match.finding.about_user or user_key_of(match.event)
            self._by_user.setdefault(principal, []).append(segment)
            self._seed_user(segment)
        elif kind == "app":  # the application's own events (its changes, its sign-ins)
            self._by_user.setdefault(principal.lower(), []).append(segment)
        return segment

    def _seed_user(self, segment: Segment) -> None:
        state = self.history.user(segment.user_key or "") if self.history else None
        if state is None:
            return
        for success in state.successes:
            item = from_success(success, segment.principal)
            if segment.log.seed(item):
                segment.tally.add(item)
            device = success.device
            if (device and not success.risky and device not in segment.known_devices
                    and len(segment.known_devices) < MAX_KNOWN_DEVICES):
                segment.known_devices.append(device)  # seen before the incident opened
        segment.seed(state.failures)

    def _watch_ip(self, segment: Segment, ip: str) -> None:
        segment.ips.add(ip)
        self._by_ip.setdefault(ip, []).append(segment)
        window = self.history.ip(ip) if self.history else None
        if window is not None:
            segment.seed((*window.failures, *window.successes))

    def on_event(self, event: Event) -> None:
        """Add an event the rules have judged to every open segment that follows it."""
        if (isinstance(event, SignIn) and classify(event) == "credential"
                and len(self.names) < MAX_NAMES):
            self.names.setdefault(user_key_of(event), event.principal)
        followers = list(self._by_user.get(principal_key(event), ()))
        ip = getattr(event, "ip_address", None)
        if ip:
            followers += self._by_ip.get(ip, ())
        for segment in followers:
            if segment.closed:
                continue
            if quiet_since(segment.last_match, event.time, self.quiet):
                self._stop(segment, "quiet")
                continue
            segment.add(event)
            if isinstance(event, RiskyUser) and risk_closes(
                sorted(segment.rule_ids), segment.principal, event
            ):
                self._stop(segment, "risk closed")

    def _stop(self, segment: Segment, why: str) -> None:
        segment.closed = why
        # Stop following: the indexes keep only segments that can still grow.
        for index, keys in ((self._by_user, (segment.principal.lower(),)),
                            (self._by_ip, segment.ips)):
            for key in keys:
                left = [s for s in index.get(key, ()) if s is not segment]
                if left:
                    index[key] = left
                else:
                    index.pop(key, None)

    def incidents(self, alerts: Sequence[Alert]) -> list[Incident]:
        """One incident per segment that has alerts, its revisions replayed in order."""
        grouped: dict[int, tuple[Segment, list[Alert]]] = {}
        for alert in sorted(alerts, key=lambda a: (a.first_seen, a.rule_id, a.alert_id)):
            kind, principal = principal_of(alert.rule_id, alert.principal, alert.context)
            segment = self._segment_for(kind, principal, alert.first_seen)
            grouped.setdefault(id(segment), (segment, []))[1].append(alert)
        built = [(segment, _replay(segment, found)) for segment, found in grouped.values()]
        return _link(built, self.quiet, self.names)

    def _segment_for(self, kind: PrincipalType, principal: str, at: datetime) -> Segment:
        chain = self.segments.setdefault((kind, principal), [])
        for segment in chain:
            # A followed segment holds the matches from its opening to its last one; an
            # unfollowed one takes alerts as the quiet rule lets them join.
            last = segment.last_match if segment.followed else segment.last_match + self.quiet
            if segment.opened <= at <= last:
                segment.last_match = max(segment.last_match, at)
                return segment
        # Past the cap of followed principals, or the overflow summary: no evidence.
        segment = Segment(kind, principal, at, at, self.hours, followed=False,
                          tally=BreakdownTally(hours=self.hours))
        chain.append(segment)
        chain.sort(key=lambda s: s.opened)
        return segment


def _replay(segment: Segment, alerts: list[Alert]) -> Incident:
    """Revisions as the app would count them: each alert joins in first-seen order."""
    alerted = segment.matched_ids | {i for a in alerts for i in a.event_ids}
    evidence = [replace(e, alerted=True) if e.event_id in alerted else e
                for e in segment.log.kept()]
    facts = [facts_of(a) for a in alerts]
    incident: Incident | None = None
    for n in range(1, len(facts) + 1):
        incident = assemble(
            incident, segment.principal_type, segment.principal, facts[:n], evidence,
            tally=segment.tally, known_devices=segment.known_devices,
        )
    assert incident is not None  # noqa: S101 - a segment is only built with alerts
    return replace(incident, closed=segment.closed)


def _link(
    built: list[tuple[Segment, Incident]], quiet: timedelta, names: dict[str, str]
) -> list[Incident]:
    """Relate IP and tenant incidents to the users they touched, and back."""
    users = [(s, i) for s, i in built if s.principal_type == "user"]
    links: dict[str, list[Related]] = {}
    for segment, incident in built:
        if segment.principal_type == "user":
            continue
        touched = {key: names.get(key, name) for key, name in segment.users.items()}
        for alert in incident.alerts:
            for key in alert.users:
                touched.setdefault(key, names.get(key, key))
        for key, name in sorted(touched.items(), key=lambda kv: kv[1])[:MAX_USERS]:
            match = next((i for s, i in users if s.user_key == key
                          and i.first_seen <= incident.last_seen + quiet
                          and i.last_seen >= incident.first_seen - quiet), None)
            links.setdefault(incident.incident_id, []).append(
                Related(principal_type="user", principal=match.principal if match else name,
                        incident_id=match.incident_id if match else None))
            if match is not None:
                links.setdefault(match.incident_id, []).append(
                    Related(principal_type=incident.principal_type,
                            principal=incident.principal, incident_id=incident.incident_id))
    result = [replace(i, related=tuple(links.get(i.incident_id, ()))) for _, i in built]
    return sorted(result, key=lambda i: (i.first_seen, i.principal_type, i.principal))
