"""Test incidents for the chat sinks: real ``Incident.to_dict()`` values.

``risky_incident`` runs factory events through the same engine and recorder as
``scan --incidents`` (tests/incident_support.py); ``hostile_incident`` does so with every
attacker-chosen field (UPN, city, app, device, user agent) set to one value;
``huge_incident`` swells a real incident to hundreds of reasons, places, addresses and
timeline entries, each carrying the given text.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import cache
from typing import Any

from detections.incidents.model import Breakdown, Evidence, Incident, Reason, Related
from detections.model import Device, Location
from detections.testing import LAPTOP, T0, risk_detection, risky_user, series, sign_in
from tests.incident_support import incidents_of

NEW_YORK = Location(city="New York", country="US", latitude=40.71, longitude=-74.01)
PHONE = Device(device_id="dev-2", os="iOS 18", browser="Safari 18")


def _risky_events(
    upn: str = "alice@contoso.com", city: str = "Seattle", app: str = "Office 365",
    device: str = "dev-1", user_agent: str = "Mozilla/5.0",
) -> list[Any]:
    """Failures, then a high-risk sign-in that succeeded on a single factor: 4 alerts."""
    who = {"user_principal_name": upn, "user_id": "u-alice"}
    where = Location(city=city, country="US", latitude=47.61, longitude=-122.33)
    client = {"app_display_name": app, "device": replace(LAPTOP, device_id=device),
              "user_agent": user_agent, "location": where}
    at = timedelta(hours=1)
    return [
        *series(6, prefix="fail", error_code=50126, success=False, **who, **client),
        sign_in(id="risky", time=T0 + at, risk_level_during_sign_in="high",
                risk_state="atRisk", authentication_requirement="singleFactorAuthentication",
                **who, **client),
        risk_detection(id="det", time=T0 + at, risk_level="high", location=where, **who),
        risky_user(id="u-alice", time=T0 + at + timedelta(minutes=10),
                   user_principal_name=upn),
    ]


@cache  # an Incident is frozen: one engine run serves every test
def risky_incident_record() -> Incident:
    (incident,) = incidents_of(_risky_events())
    return incident


def risky_incident() -> dict[str, Any]:
    return risky_incident_record().to_dict()


def routed_incident() -> dict[str, Any]:
    """Impossible travel inside one country: a raise and a "carrier routing" lower."""
    (incident,) = incidents_of([
        sign_in(id="home"),
        sign_in(id="away", time=T0 + timedelta(minutes=30), location=NEW_YORK, device=PHONE),
    ])
    return incident.to_dict()


def hostile_incident(text: str) -> dict[str, Any]:
    """A real incident whose UPN, city, app, device and user agent are all ``text``."""
    (incident,) = incidents_of(
        _risky_events(upn=text, city=text, app=text, device=text, user_agent=text)
    )
    return incident.to_dict()


def huge_incident(text: str, n: int = 300) -> dict[str, Any]:
    """A real incident with ``n`` of every list, every attacker-chosen value ``text``."""
    base = risky_incident_record()
    reasons = tuple(
        Reason(text=f"reason {i} about {text}", effect="raises" if i % 3 else "lowers",
               rule_id="impossible_travel", event_ids=(f"e{i}",), points=1)
        for i in range(n)
    )
    breakdown = Breakdown(
        countries=tuple((f"{text}{i}", tuple(f"{text}{j}" for j in range(20)), n - i)
                        for i in range(n)),
        ips=tuple((f"{text}{i}", 64500 + i, n - i) for i in range(n)),
        devices=tuple((f"{text}{i}", text, text, n - i) for i in range(n)),
        apps=tuple((f"{text}{i}", n - i) for i in range(n)),
        off_hours=n, weekend=n,
    )
    timeline = tuple(
        Evidence(time=T0 + timedelta(minutes=i), kind="signin", event_id=f"{text}{i}",
                 summary=f"sign-in to {text}", ip=text, country=text, city=text,
                 device=text, result="success", risk=text)
        for i in range(n)
    )
    related = tuple(Related(principal_type="user", principal=f"{text}{i}", incident_id=None)
                    for i in range(n))
    return replace(base, principal=text, reasons=reasons, breakdown=breakdown,
                   timeline=timeline, related=related).to_dict()
