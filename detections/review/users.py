"""The flagged users of a review window, highest verdict first, and the attacking addresses.

A user is flagged when a user incident of theirs was active in the window. Several incidents
of one user (one closed, a later one opened) are one entry: the strongest incident gives the
verdict, reasons and breakdown; the timelines are merged in time order; every incident id,
rule and label is listed. Each timeline entry says whether it fell outside business hours or
on a weekend, in the business time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from detections.enrich import BusinessHours
from detections.incidents.model import VERDICT_RANK, Evidence, Incident
from detections.review.inventory import IpTally
from detections.review.labels import IncidentLabel

MAX_IPS = 200  # attacking addresses listed; the busiest first


def active_in(incidents: Iterable[Incident], since: datetime, until: datetime) -> list[Incident]:
    """Incidents with any alert activity in [since, until)."""
    return [i for i in incidents if i.last_seen >= since and i.first_seen < until]


def _strength(incident: Incident) -> tuple[int, int]:
    return VERDICT_RANK[incident.verdict], incident.score


def _entry(evidence: Evidence, hours: BusinessHours) -> dict[str, Any]:
    when = hours.describe(evidence.time)
    return {**evidence.to_timeline_dict(), "alerted": evidence.alerted,
            "off_hours": bool(when["outside_business_hours"]), "weekend": bool(when["weekend"])}


def flagged_users(
    incidents: Sequence[Incident], labels: Iterable[IncidentLabel], hours: BusinessHours
) -> list[dict[str, Any]]:
    by_user: dict[str, list[Incident]] = {}
    for incident in incidents:
        if incident.principal_type == "user":
            by_user.setdefault(incident.principal, []).append(incident)
    by_incident: dict[str, list[IncidentLabel]] = {}
    for label in labels:
        by_incident.setdefault(label.incident_id, []).append(label)
    users: list[tuple[tuple[int, int, str], dict[str, Any]]] = []
    for principal, found in by_user.items():
        found.sort(key=lambda i: i.first_seen)
        top = max(found, key=_strength)
        timeline: dict[tuple[str, str | None, str, str], Evidence] = {}
        for incident in found:
            for item in incident.timeline:
                timeline.setdefault((item.time.isoformat(), item.event_id, item.kind,
                                     item.summary), item)
        ids = [i.incident_id for i in found]
        history = sorted((lb for i in ids for lb in by_incident.get(i, [])), key=lambda lb: lb.at)
        users.append(((-VERDICT_RANK[top.verdict], -top.score, principal), {
            "principal": principal, "verdict": top.verdict, "score": top.score,
            "privileged": any(i.privileged for i in found),
            "reasons": [r.to_dict() for r in top.reasons],
            "breakdown": top.breakdown.to_dict(),
            "timeline": [_entry(e, hours) for e in sorted(timeline.values(),
                                                          key=lambda e: e.time)],
            "incident_ids": ids,
            "rules": sorted({r for i in found for r in i.rules}),
            "labels": [lb.to_dict() for lb in history],
        }))
    users.sort(key=lambda u: u[0])
    return [user for _, user in users]


def attacking_ips(incidents: Sequence[Incident]) -> dict[str, tuple[set[str], set[str]]]:
    """Each attacking address with the rules and incidents behind it: an IP incident's
    principal, and every address an alert of any incident fired on."""
    found: dict[str, tuple[set[str], set[str]]] = {}

    def add(ip: str, incident: Incident) -> None:
        rules, ids = found.setdefault(ip, (set(), set()))
        rules.update(incident.rules)
        ids.add(incident.incident_id)

    for incident in incidents:
        if incident.principal_type == "ip":
            add(incident.principal, incident)
        for item in incident.timeline:
            if item.alerted and item.ip:
                add(item.ip, incident)
    return found


def ip_rows(
    attacking: Mapping[str, tuple[set[str], set[str]]], tallies: Mapping[str, IpTally]
) -> list[dict[str, Any]]:
    rows: list[tuple[tuple[int, int, str], dict[str, Any]]] = []
    for ip, (rules, ids) in attacking.items():
        tally = tallies.get(ip, IpTally())
        rows.append(((-len(tally.users), -tally.failures, ip), {"ip": ip, "asn": tally.asn,
                     "countries": [c for c, _ in tally.countries.most_common()],
                     "users": sorted(tally.users), "failures": tally.failures,
                     "successes": tally.successes, "rules": sorted(rules),
                     "incident_ids": sorted(ids)}))
    rows.sort(key=lambda r: r[0])
    return [row for _, row in rows[:MAX_IPS]]
