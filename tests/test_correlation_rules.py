"""Whole timelines through Engine.run and AlertGrouper: each pattern of seed 002,
each benign look-alike, and the same alerts whatever the input order."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from detections.alerts import AlertGrouper
from detections.correlation_history import History
from detections.engine import Engine, Match
from detections.model import Device, Event, Location
from detections.registry import load_rules
from detections.testing import T0, sign_in

# The correlation rules are the ones that read history, whatever their number.
RULES = [r for r in load_rules() if r.uses_history]
SEATTLE = Location(city="Seattle", country="US", latitude=47.61, longitude=-122.33)
LONDON = Location(city="London", country="GB", latitude=51.51, longitude=-0.13)
CITIES = [
    Location(city="Seattle", country="US", latitude=47.61, longitude=-122.33),
    Location(city="Portland", country="US", latitude=45.52, longitude=-122.68),
    Location(city="San Francisco", country="US", latitude=37.77, longitude=-122.42),
    Location(city="Denver", country="US", latitude=39.74, longitude=-104.99),
    Location(city="Chicago", country="US", latitude=41.88, longitude=-87.63),
]
SATURDAY = T0 + timedelta(days=5)  # T0 is a Monday
FAIL = {"success": False, "error_code": 50126}


def user(name: str) -> dict[str, Any]:
    return {"user_id": f"u-{name}", "user_principal_name": f"{name}@contoso.com"}


def baseline(name: str, *locations: Location) -> list[Event]:
    """Ten days of daily sign-ins (cycling through ``locations``), so the user has history."""
    places = locations or (SEATTLE,)
    return [
        sign_in(id=f"{name}-base{d}", time=T0 - timedelta(days=d), location=places[d % len(places)],
                session_id=f"{name}-bs{d}", **user(name))
        for d in range(1, 11)
    ]


def attack_timeline() -> list[Event]:
    ev: list[Event] = []
    for name in ("alice", "bob", "carol", "dave"):
        ev += baseline(name)
    t = T0 + timedelta(hours=1)
    # alice: Seattle, then London an hour later (travel and a new country).
    ev += [sign_in(id="al-1", time=t, **user("alice")),
           sign_in(id="al-2", time=t + timedelta(hours=1), location=LONDON,
                   ip_address="198.51.100.50", session_id="al-s2", **user("alice"))]
    # bob: twelve wrong passwords, then a success.
    ev += [sign_in(id=f"bob-f{i}", time=t + timedelta(seconds=20 * i),
                   ip_address="198.51.100.20", **FAIL, **user("bob")) for i in range(12)]
    ev.append(sign_in(id="bob-ok", time=t + timedelta(minutes=5), session_id="bob-s",
                      **user("bob")))
    # carol: six MFA denials, then she gives in.
    ev += [sign_in(id=f"carol-m{i}", time=t + timedelta(minutes=i), success=False,
                   error_code=500121, **user("carol")) for i in range(6)]
    ev.append(sign_in(id="carol-ok", time=t + timedelta(minutes=7), session_id="carol-s",
                      **user("carol")))
    # dave: one session, replayed from a hosting provider twenty minutes later.
    ev += [sign_in(id="dave-1", time=t, session_id="dave-s", autonomous_system_number=7922,
                   **user("dave")),
           sign_in(id="dave-2", time=t + timedelta(minutes=20), session_id="dave-s",
                   ip_address="192.0.2.99", autonomous_system_number=14061, **user("dave"))]
    # a spray from one IP and lockouts across users from a few others.
    ev += [sign_in(id=f"spray-{i}", time=t + timedelta(minutes=i), ip_address="203.0.113.66",
                   **FAIL, **user(f"sp{i}")) for i in range(12)]
    ev += [sign_in(id=f"lock-{i}", time=t + timedelta(minutes=2 * i), success=False,
                   error_code=50053, ip_address=f"192.0.2.{i % 4}", autonomous_system_number=14061,
                   **user(f"lk{i}")) for i in range(22)]
    return ev


def benign_timeline() -> list[Event]:
    ev: list[Event] = []
    for name in ("erin", "grace", "heidi", "ivan", "judy"):
        ev += baseline(name)
    ev += baseline("frank", SEATTLE, LONDON)  # frank travels to London regularly
    # erin: five cities of one country over a weekend, one phone, one carrier, many IPs.
    ev += [sign_in(id=f"erin-{i}", time=SATURDAY + timedelta(minutes=40 * i), location=loc,
                   ip_address=f"172.56.{i}.{i + 7}", autonomous_system_number=21928,
                   session_id="erin-phone", **user("erin"))
           for i, loc in enumerate(CITIES * 2)]
    # frank: a long-haul flight, Seattle to London in eleven hours.
    ev += [sign_in(id="frank-1", time=T0 + timedelta(hours=2), **user("frank")),
           sign_in(id="frank-2", time=T0 + timedelta(hours=13), location=LONDON,
                   ip_address="198.51.100.80", **user("frank"))]
    # a 65001 consent storm: forty users, one app, one office IP, ten minutes.
    ev += [sign_in(id=f"consent-{i}", time=T0 + timedelta(seconds=15 * i), success=False,
                   error_code=65001, ip_address="203.0.113.200", **user(f"c{i}"))
           for i in range(40)]
    # grace: MFA and "stay signed in" interrupts, then a success.
    ev += [sign_in(id=f"grace-i{i}", time=T0 + timedelta(minutes=i), success=False,
                   error_code=(50074, 50140, 50076)[i % 3], **user("grace")) for i in range(15)]
    ev.append(sign_in(id="grace-ok", time=T0 + timedelta(minutes=16), **user("grace")))
    # heidi: Seattle, then Chicago on the same laptop with a dismissed high risk.
    ev += [sign_in(id="heidi-1", time=T0 + timedelta(hours=3), **user("heidi")),
           sign_in(id="heidi-2", time=T0 + timedelta(hours=3, minutes=30), location=CITIES[4],
                   risk_level_during_sign_in="high", risk_state="dismissed", **user("heidi"))]
    # ivan: Tor exit in the Netherlands half an hour after Seattle.
    ev += [sign_in(id="ivan-1", time=T0 + timedelta(hours=4), **user("ivan")),
           sign_in(id="ivan-2", time=T0 + timedelta(hours=4, minutes=30),
                   location=Location(city="Amsterdam", country="NL", latitude=52.4, longitude=4.9),
                   risk_event_types=("anonymizedIPAddress",), session_id="ivan-tor",
                   **user("ivan"))]
    # an office NAT: a dozen users mistype once, forty sign in fine from the same IP.
    ev += [sign_in(id=f"nat-f{i}", time=T0 + timedelta(hours=5, minutes=i),
                   ip_address="203.0.113.5",
                   **FAIL, **user(f"n{i}")) for i in range(12)]
    ev += [sign_in(id=f"nat-ok{i}", time=T0 + timedelta(hours=5, seconds=30 * i),
                   ip_address="203.0.113.5", **user(f"m{i}")) for i in range(40)]
    # judy: laptop and phone on one home network, same session id from two IPs of one ASN.
    ev += [sign_in(id="judy-1", time=T0 + timedelta(hours=6), session_id="judy-s",
                   autonomous_system_number=7922, **user("judy")),
           sign_in(id="judy-2", time=T0 + timedelta(hours=6, minutes=5), session_id="judy-s",
                   ip_address="203.0.113.77", autonomous_system_number=7922,
                   device=Device(device_id="judy-phone"), **user("judy"))]
    return ev


def run(events: Sequence[Event], history: History | None = None) -> list[Match]:
    engine = Engine(RULES, history=history)
    return [m for matches, failures in engine.run(events) for m in matches if not failures]


def alerts(matches: list[Match]) -> list[dict[str, Any]]:
    grouper = AlertGrouper()
    for m in matches:
        grouper.add(m)
    return sorted((a.to_dict() for a in grouper.alerts()), key=lambda a: a["alert_id"])


def by_rule(found: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a in found:
        out.setdefault(a["rule_id"], set()).add(a["principal"])
    return out


def test_every_pattern_is_found_once_per_victim() -> None:
    found = alerts(run(attack_timeline()))
    assert by_rule(found) == {
        "impossible_travel": {"alice@contoso.com"},
        "unfamiliar_country": {"alice@contoso.com"},
        "brute_force": {"bob@contoso.com"},
        "success_after_failures": {"bob@contoso.com"},
        "mfa_fatigue": {"carol@contoso.com"},
        "session_multiple_ips": {"dave@contoso.com"},
        "password_spray": by_rule(found)["password_spray"],
        "account_lockouts": {"20 users"},
    }
    fatigue = next(a for a in found if a["rule_id"] == "mfa_fatigue")
    assert fatigue["severity"] == "high"  # a success followed the denials
    spray = [a for a in found if a["rule_id"] == "password_spray"]
    assert {a["context"]["form"] for a in spray} == {"single_ip", "distributed"}


def test_no_benign_look_alike_alerts() -> None:
    assert alerts(run(benign_timeline())) == []


def test_input_order_does_not_change_the_alerts() -> None:
    events = attack_timeline() + benign_timeline()
    expected = alerts(run(events))
    assert expected
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)  # noqa: S311 - a fixed, reproducible order
    assert alerts(run(list(reversed(events)))) == expected  # Graph: newest first
    assert alerts(run(shuffled)) == expected


def test_late_events_within_retention_still_count() -> None:
    """Failures delivered after the success (a later run) still raise the pattern."""
    history = History()
    success = sign_in(id="ok", time=T0 + timedelta(minutes=10), **user("bob"))
    failures = [sign_in(id=f"f{i}", time=T0 + timedelta(minutes=i), ip_address="198.51.100.20",
                        **FAIL, **user("bob")) for i in range(6)]
    first = run([success], history)
    later = run(failures, history)
    assert first == []
    assert {m.rule.id for m in later} == {"success_after_failures"}


