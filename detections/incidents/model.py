"""The incident's typed records and their plain-dict forms.

Two dict forms: ``to_dict`` is the published incident (the fields ``scan --incidents``
writes, nothing more); ``to_state``/``from_state`` round-trip everything a later
revision needs (alert facts, kept evidence, known devices, status), for storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias

from detections.history_records import stored_time

# "app": an application or service principal that initiated a directory change.
PrincipalType: TypeAlias = Literal["user", "ip", "tenant", "app"]
Verdict: TypeAlias = Literal["low", "medium", "high"]
Effect: TypeAlias = Literal["raises", "lowers"]
EvidenceKind: TypeAlias = Literal["signin", "detection", "risky_user", "audit", "omitted"]
# Sign-in result classes, from the one errorCode table (detections.failures).
RESULT_CLASSES = (
    "success", "credential_failure", "mfa_failure", "interrupt", "consent", "policy_block",
    "other",
)
VERDICT_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2}


def _time(text: str) -> datetime:
    return stored_time(text, "an incident")


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One step of the verdict: what it says, which way it moves the score, its evidence."""

    text: str
    effect: Effect
    rule_id: str | None
    event_ids: tuple[str, ...]
    points: int  # signed contribution to the score (state only; the text explains it)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "effect": self.effect, "rule_id": self.rule_id,
                "event_ids": list(self.event_ids)}

    def to_state(self) -> dict[str, Any]:
        return {**self.to_dict(), "points": self.points}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Reason:
        return cls(text=data["text"], effect=data["effect"], rule_id=data["rule_id"],
                   event_ids=tuple(data["event_ids"]), points=int(data["points"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertFacts:
    """What an incident keeps of one alert: its identity and the facts scoring reads."""

    alert_id: str
    rule_id: str
    severity: str
    first_seen: datetime
    last_seen: datetime
    count: int
    event_ids: tuple[str, ...]
    signals: tuple[str, ...] = ()  # e.g. "unchallenged", "aitm", "leaked" (scoring.SIGNALS)
    privileged_roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()  # user keys a many-user alert touched

    def to_dict(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "rule_id": self.rule_id, "severity": self.severity}

    def to_state(self) -> dict[str, Any]:
        return {
            **self.to_dict(), "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(), "count": self.count,
            "event_ids": list(self.event_ids), "signals": list(self.signals),
            "privileged_roles": list(self.privileged_roles), "users": list(self.users),
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> AlertFacts:
        return cls(
            alert_id=data["alert_id"], rule_id=data["rule_id"], severity=data["severity"],
            first_seen=_time(data["first_seen"]), last_seen=_time(data["last_seen"]),
            count=int(data["count"]), event_ids=tuple(data["event_ids"]),
            signals=tuple(data["signals"]), privileged_roles=tuple(data["privileged_roles"]),
            users=tuple(data["users"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One sign-in, detection or risky-user record, reduced to what an incident shows.

    ``kind="omitted"`` marks a gap in a thinned timeline: ``summary`` says how many
    entries were left out there.
    """

    time: datetime
    kind: EvidenceKind
    event_id: str | None
    summary: str
    user: str | None = None
    ip: str | None = None
    asn: int | None = None
    country: str | None = None
    city: str | None = None
    device: str | None = None
    os: str | None = None
    browser: str | None = None
    app: str | None = None
    result: str | None = None  # a RESULT_CLASSES value for sign-ins; the risk state otherwise
    risk: str | None = None  # the risk level (during sign-in, else aggregated)
    risk_detail: str | None = None
    alerted: bool = False  # an event an alert of the incident fired on
    omitted: int = 0  # for kind "omitted": entries left out

    def to_timeline_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(), "kind": self.kind, "event_id": self.event_id,
            "summary": self.summary, "ip": self.ip, "country": self.country,
            "city": self.city, "device": self.device, "result": self.result,
            "risk": self.risk,
        }

    def to_state(self) -> dict[str, Any]:
        return {
            **self.to_timeline_dict(), "user": self.user, "asn": self.asn, "os": self.os,
            "browser": self.browser, "app": self.app, "risk_detail": self.risk_detail,
            "alerted": self.alerted, "omitted": self.omitted,
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Evidence:
        asn = data.get("asn")
        return cls(
            time=_time(data["time"]), kind=data["kind"], event_id=data["event_id"],
            summary=data["summary"], user=data.get("user"), ip=data.get("ip"),
            asn=int(asn) if asn is not None else None, country=data.get("country"),
            city=data.get("city"), device=data.get("device"), os=data.get("os"),
            browser=data.get("browser"), app=data.get("app"), result=data.get("result"),
            risk=data.get("risk"), risk_detail=data.get("risk_detail"),
            alerted=bool(data.get("alerted", False)), omitted=int(data.get("omitted", 0)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Related:
    """A linked principal: the users an IP or tenant incident touched, or the IP and
    tenant incidents that touched a user; ``incident_id`` when that one has an incident."""

    principal_type: PrincipalType
    principal: str
    incident_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"principal_type": self.principal_type, "principal": self.principal,
                "incident_id": self.incident_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Related:
        return cls(principal_type=data["principal_type"], principal=data["principal"],
                   incident_id=data["incident_id"])


@dataclass(frozen=True, slots=True, kw_only=True)
class Breakdown:
    """Counts over the incident's window (built by ``detections.incidents.breakdown``).

    Each list is ``(key..., count)`` sorted by count, most first; ``off_hours`` counts
    sign-ins outside business hours (weekends included), ``weekend`` those on a weekend.
    """

    signins: tuple[tuple[str, int], ...] = tuple((name, 0) for name in RESULT_CLASSES)
    countries: tuple[tuple[str, tuple[str, ...], int], ...] = ()
    ips: tuple[tuple[str, int | None, int], ...] = ()
    devices: tuple[tuple[str, str | None, str | None, int], ...] = ()
    apps: tuple[tuple[str, int], ...] = ()
    off_hours: int = 0
    weekend: int = 0

    def signin_count(self, result: str) -> int:
        return dict(self.signins).get(result, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "signins": dict(self.signins),
            "countries": [{"country": c, "cities": list(cities), "count": n}
                          for c, cities, n in self.countries],
            "ips": [{"ip": ip, "asn": asn, "count": n} for ip, asn, n in self.ips],
            "devices": [{"device": d, "os": o, "browser": b, "count": n}
                        for d, o, b, n in self.devices],
            "apps": [{"app": a, "count": n} for a, n in self.apps],
            "off_hours": self.off_hours,
            "weekend": self.weekend,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Breakdown:
        signins = data["signins"]
        return cls(
            signins=tuple((name, int(signins.get(name, 0))) for name in RESULT_CLASSES),
            countries=tuple((c["country"], tuple(c["cities"]), int(c["count"]))
                            for c in data["countries"]),
            ips=tuple((i["ip"], i["asn"], int(i["count"])) for i in data["ips"]),
            devices=tuple((d["device"], d["os"], d["browser"], int(d["count"]))
                          for d in data["devices"]),
            apps=tuple((a["app"], int(a["count"])) for a in data["apps"]),
            off_hours=int(data["off_hours"]), weekend=int(data["weekend"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """One case: a principal's open alerts, the verdict with its reasons, the evidence."""

    incident_id: str
    revision: int
    principal: str
    principal_type: PrincipalType
    verdict: Verdict
    score: int
    reasons: tuple[Reason, ...]
    alerts: tuple[AlertFacts, ...]
    first_seen: datetime
    last_seen: datetime
    privileged: bool
    breakdown: Breakdown
    timeline: tuple[Evidence, ...]  # the entries shown, with "omitted" markers for gaps
    related: tuple[Related, ...] = ()
    evidence: tuple[Evidence, ...] = ()  # every entry kept (bounded), for later revisions
    known_devices: tuple[str, ...] = ()  # devices of successes before the incident opened
    closed: str | None = None  # why it closed ("quiet", "risk closed"); None while open

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(sorted({a.rule_id for a in self.alerts}))

    def to_dict(self) -> dict[str, Any]:
        """The published incident: exactly the fields of ``scan --incidents``."""
        return {
            "incident_id": self.incident_id,
            "revision": self.revision,
            "principal": self.principal,
            "principal_type": self.principal_type,
            "verdict": self.verdict,
            "score": self.score,
            "reasons": [r.to_dict() for r in self.reasons],
            "alerts": [a.to_dict() for a in self.alerts],
            "rules": list(self.rules),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "privileged": self.privileged,
            "breakdown": self.breakdown.to_dict(),
            "timeline": [e.to_timeline_dict() for e in self.timeline],
            "related": [r.to_dict() for r in self.related],
        }

    def to_state(self) -> dict[str, Any]:
        """Everything a later revision needs, as plain JSON values."""
        published = self.to_dict()
        return {
            **published,
            "reasons": [r.to_state() for r in self.reasons],
            "alerts": [a.to_state() for a in self.alerts],
            "timeline": [e.to_state() for e in self.timeline],
            "evidence": [e.to_state() for e in self.evidence],
            "known_devices": list(self.known_devices),
            "closed": self.closed,
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Incident:
        return cls(
            incident_id=data["incident_id"], revision=int(data["revision"]),
            principal=data["principal"], principal_type=data["principal_type"],
            verdict=data["verdict"], score=int(data["score"]),
            reasons=tuple(Reason.from_state(r) for r in data["reasons"]),
            alerts=tuple(AlertFacts.from_state(a) for a in data["alerts"]),
            first_seen=_time(data["first_seen"]), last_seen=_time(data["last_seen"]),
            privileged=bool(data["privileged"]),
            breakdown=Breakdown.from_dict(data["breakdown"]),
            timeline=tuple(Evidence.from_state(e) for e in data["timeline"]),
            related=tuple(Related.from_dict(r) for r in data["related"]),
            evidence=tuple(Evidence.from_state(e) for e in data["evidence"]),
            known_devices=tuple(data["known_devices"]), closed=data["closed"],
        )
