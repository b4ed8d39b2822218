"""Small review dicts (the review.json contract of issue 15) for the HTML report's tests.

``review()`` is a complete, plausible review of one weekend with two flagged users, one
attacking address and an accuracy assessment; every builder takes overrides, so a test
changes only the field it is about. ``hostile_review()`` puts attacker-controlled text in
every place the report shows it. When 15a's ``service/review/review.schema.json`` exists,
``validated()`` checks a dict against it, so the fixtures cannot drift from the contract.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parents[1] / "service" / "review" / "review.schema.json"
SINCE = datetime(2026, 11, 6, 18, 0, tzinfo=UTC)  # Friday evening
UNTIL = datetime(2026, 11, 9, 7, 0, tzinfo=UTC)  # Monday morning
CLASSES = ("credential_failure", "mfa_failure", "interrupt", "consent", "policy_block", "other")
HOSTILE_UPN = "<img src=x onerror=alert(1)>@contoso.com"
HOSTILE_CITY = "</td><script>alert('city')</script>"
HOSTILE_APP = "Payroll *Update* <!here> [sign in](https://evil.example/p)"
HOSTILE_AGENT = 'Mozilla/5.0 "><svg onload=alert(2)> <a href="https://evil.example">x</a>'


def iso(moment: datetime) -> str:
    return moment.isoformat()


def timeline_entry(minutes: int = 0, **overrides: Any) -> dict[str, Any]:
    """One timeline entry ``minutes`` after the window opens (a successful sign-in)."""
    moment = SINCE + timedelta(minutes=minutes)
    entry: dict[str, Any] = {
        "time": iso(moment), "kind": "signin", "event_id": f"si-{minutes}",
        "summary": "Sign-in to Office 365 Exchange Online", "ip": "198.51.100.20",
        "country": "GB", "city": "London", "device": "LAPTOP-7", "result": "success",
        "risk": "none", "alerted": False, "off_hours": moment.weekday() >= 5 or moment.hour >= 18,
        "weekend": moment.weekday() >= 5,
    }
    entry.update(overrides)
    return entry


def breakdown(**overrides: Any) -> dict[str, Any]:
    """A breakdown (``detections.incidents.model.Breakdown.to_dict()`` shape)."""
    out: dict[str, Any] = {
        "signins": {"success": 3, "credential_failure": 14, "mfa_failure": 1, "interrupt": 2,
                    "consent": 0, "policy_block": 0, "other": 0},
        "countries": [{"country": "RU", "cities": ["Moscow"], "count": 15},
                      {"country": "GB", "cities": ["London", "Leeds"], "count": 5}],
        "ips": [{"ip": "203.0.113.7", "asn": 64500, "count": 15},
                {"ip": "198.51.100.20", "asn": 64501, "count": 5}],
        "devices": [{"device": "(unknown)", "os": "Linux", "browser": "python-requests",
                     "count": 15},
                    {"device": "LAPTOP-7", "os": "Windows 11", "browser": "Edge 130",
                     "count": 5}],
        "apps": [{"app": "Office 365 Exchange Online", "count": 18},
                 {"app": "Azure Portal", "count": 2}],
        "off_hours": 16, "weekend": 15,
    }
    out.update(overrides)
    return out


def user(principal: str = "alice@contoso.com", **overrides: Any) -> dict[str, Any]:
    """One flagged user: a password spray that ended in a success from a new country."""
    out: dict[str, Any] = {
        "principal": principal, "verdict": "high", "score": 85, "privileged": False,
        "reasons": [
            {"text": "14 failed passwords from 203.0.113.7, then a success", "effect": "raises",
             "rule_id": "password_spray"},
            {"text": "Sign-in from RU, never seen for this user", "effect": "raises",
             "rule_id": "new_country_signin"},
            {"text": "The success passed MFA", "effect": "lowers", "rule_id": None},
        ],
        "breakdown": breakdown(),
        "timeline": [
            timeline_entry(60, event_id="si-a1", ip="203.0.113.7", country="RU",
                           city="Moscow", device=None, result="credential_failure",
                           summary="Failed password (50126)", alerted=True),
            timeline_entry(900, kind="omitted", event_id=None, summary="12 entries left out",
                           ip=None, country=None, city=None, device=None, result=None,
                           risk=None),
            timeline_entry(2000, kind="detection", event_id="det-a1", ip="203.0.113.7",
                           country="RU", city="Moscow", device=None, result="atRisk",
                           risk="high", summary="unfamiliarFeatures (high, realtime)"),
            timeline_entry(2001, event_id="si-a2", ip="203.0.113.7", country="RU",
                           city="Moscow", device=None, result="success", risk="high",
                           summary="Sign-in to Azure Portal", alerted=True),
            timeline_entry(3600 + 60 * 8 + 30, event_id="si-a3"),
        ],
        "incident_ids": ["inc-alice-1"], "rules": ["new_country_signin", "password_spray"],
        "labels": [{"incident_id": "inc-alice-1", "label": "tp", "by": "sam", "at":
                    iso(UNTIL - timedelta(hours=1)), "note": "confirmed with the user"}],
    }
    out.update(overrides)
    return out


def second_user(**overrides: Any) -> dict[str, Any]:
    """A medium user: one unfamiliar sign-in at the weekend."""
    out = user(
        "bob@contoso.com", verdict="medium", score=45, privileged=True,
        reasons=[{"text": "Unfamiliar sign-in properties at the weekend", "effect": "raises",
                  "rule_id": "risky_signin"}],
        breakdown=breakdown(
            signins={"success": 2, "credential_failure": 0, "mfa_failure": 0, "interrupt": 1,
                     "consent": 0, "policy_block": 0, "other": 0},
            countries=[{"country": "FR", "cities": ["Paris"], "count": 3}],
            ips=[{"ip": "192.0.2.44", "asn": None, "count": 3}],
            devices=[{"device": "MAC-2", "os": "macOS", "browser": "Safari", "count": 3}],
            apps=[{"app": "Microsoft Teams", "count": 3}], off_hours=3, weekend=3,
        ),
        timeline=[timeline_entry(1500, event_id="si-b1", ip="192.0.2.44", country="FR",
                                 city="Paris", device="MAC-2", risk="medium", alerted=True,
                                 summary="Sign-in to Microsoft Teams")],
        incident_ids=["inc-bob-1"], rules=["risky_signin"], labels=[],
    )
    out.update(overrides)
    return out


def hour_of_week() -> list[int]:
    """168 counts, Monday 00:00 first: busy in business hours, light at night and weekends."""
    return [(30 if 8 <= hour % 24 < 18 else 3) if hour < 120 else 1 for hour in range(168)]


def failures_over_time(days: int = 3) -> dict[str, Any]:
    series = []
    for day in range(days):
        counts = {name: 0 for name in CLASSES}
        counts.update(credential_failure=4 + 10 * day, mfa_failure=day, interrupt=2)
        series.append({"start": iso(SINCE + timedelta(days=day)), "counts": counts})
    return {"bucket": "day", "series": series}


def counting(**overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"tp": 8, "fp": 2, "dismissed": 3, "indeterminate": 1,
                           "resolved_by_policy": 4, "open": 1, "n": 10, "precision": 0.8,
                           "ci_low": 0.4902, "ci_high": 0.9433, "identity_protection": 16,
                           "analyst": 2}
    out.update(overrides)
    return out


def accuracy(**overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "window": {"since": iso(UNTIL - timedelta(days=30)), "until": iso(UNTIL)},
        "sources": {"identity_protection": 18, "analyst": 2},
        "by_detection_type": [
            {"risk_event_type": "unfamiliarFeatures", "risk_level": "high", **counting()},
            {"risk_event_type": "unfamiliarFeatures", "risk_level": "medium",
             **counting(tp=2, fp=3, n=5, precision=0.4, ci_low=0.1176, ci_high=0.7693)},
            {"risk_event_type": "anonymizedIPAddress", "risk_level": "low",
             **counting(tp=0, fp=0, n=0, precision=None, ci_low=None, ci_high=None)},
        ],
        "by_rule": [{"rule_id": "password_spray", **counting(tp=3, fp=0, n=3, precision=1.0,
                                                             ci_low=0.4385, ci_high=1.0,
                                                             identity_protection=7,
                                                             analyst=3)}],
        "decisions": [
            {"level": "high", "policy": "block", "supported": None,
             "why": "not enough data: 10 labelled high detections, 20 needed",
             "precision": 0.8, "ci_low": 0.4902, "ci_high": 0.9433, "n": 10,
             "fp_rate": 0.2, "extra_mfa_prompts_per_month": None},
            {"level": "medium", "policy": "require MFA", "supported": None,
             "why": "not enough data: 5 labelled medium detections, 20 needed",
             "precision": 0.4, "ci_low": 0.1176, "ci_high": 0.7693, "n": 5, "fp_rate": 0.6,
             "extra_mfa_prompts_per_month": 3.0},
            {"level": "low", "policy": "require MFA", "supported": None,
             "why": "not enough data: 0 labelled low detections, 20 needed", "precision": None,
             "ci_low": None, "ci_high": None, "n": 0, "fp_rate": None,
             "extra_mfa_prompts_per_month": None},
        ],
    }
    out.update(overrides)
    return out


def review(**overrides: Any) -> dict[str, Any]:
    """A whole review; top-level keys in ``overrides`` replace the defaults."""
    digest = "ab" * 32
    out: dict[str, Any] = {
        "schema": "riskwatch.review.v1",
        "generated_at": iso(UNTIL),
        "window": {"since": iso(SINCE), "until": iso(UNTIL), "label": "weekend of 2026-11-07",
                   "business_hours": {"timezone": "Europe/London", "start": "08:00",
                                      "end": "18:00", "days": [0, 1, 2, 3, 4]}},
        "coverage": {
            "sources": [
                {"name": "samples/tenant/signIns-001.json", "kind": "file", "records": 1000,
                 "skipped": 2, "first": iso(SINCE), "last": iso(UNTIL), "sha256": digest},
                {"name": "riskDetections", "kind": "graph", "records": 12, "skipped": 0,
                 "first": None, "last": None, "sha256": None},
            ],
            "gaps": [{"source": "signIns", "since": iso(SINCE + timedelta(hours=5)),
                      "until": iso(SINCE + timedelta(hours=6)), "why": "Graph throttled"}],
            "inputs_sha256": "cd" * 32,
            "rule_versions": [{"rule_id": "password_spray", "version": 2},
                              {"rule_id": "new_country_signin", "version": 1}],
            "assessment_window": {"since": iso(UNTIL - timedelta(days=30)), "until": iso(UNTIL)},
            "notes": ["2 records skipped: see the scan report"],
        },
        "inventory": {
            "risky_sign_ins": {"total": 7, "by_level": {"high": 2, "medium": 3, "low": 2},
                               "by_state": {"atRisk": 2, "remediated": 4, "dismissed": 1},
                               "by_type": [{"risk_event_type": "unfamiliarFeatures", "count": 5},
                                           {"risk_event_type": "anonymizedIPAddress",
                                            "count": 3}]},
            "detections": {
                "total": 9, "by_level": {"high": 2, "medium": 5, "low": 2},
                "by_state": {"atRisk": 3, "remediated": 5, "confirmedSafe": 1},
                "by_type": [{"risk_event_type": "unfamiliarFeatures", "count": 6},
                            {"risk_event_type": "anonymizedIPAddress", "count": 3}],
                "by_timing": {"realtime": 6, "nearRealtime": 1, "offline": 2, "unknown": 0},
            },
            "sign_ins": {"total": 2233, "failures": 61, "by_hour_of_week": hour_of_week(),
                         "failures_over_time": failures_over_time()},
        },
        "users": [user(), second_user()],
        "ips": [{"ip": "203.0.113.7", "asn": 64500, "countries": ["RU"],
                 "users": ["alice@contoso.com", "carol@contoso.com"], "failures": 28,
                 "successes": 1, "rules": ["password_spray"], "incident_ids": ["inc-ip-1"]}],
        "actions": {"available": False, "why": "no response audit log yet (issue 17)",
                    "items": []},
        "accuracy": accuracy(),
    }
    out.update(overrides)
    return out


def hostile_review(text: str | None = None) -> dict[str, Any]:
    """A review with attacker-controlled text (``text``, or the hostile samples) wherever
    the report shows a UPN, city, app name, device or user agent."""
    upn, city, app = (text, text, text) if text is not None else (
        HOSTILE_UPN, HOSTILE_CITY, HOSTILE_APP)
    agent = text if text is not None else HOSTILE_AGENT
    bad = user(
        upn,
        reasons=[{"text": f"Sign-in to {app} from {city}", "effect": "raises",
                  "rule_id": "new_country_signin"}],
        breakdown=breakdown(
            countries=[{"country": "RU", "cities": [city], "count": 4}],
            devices=[{"device": agent, "os": agent, "browser": agent, "count": 4}],
            apps=[{"app": app, "count": 4}],
        ),
        timeline=[timeline_entry(30, city=city, device=agent, summary=f"Sign-in to {app}",
                                 country="RU", alerted=True)],
    )
    out = review(users=[bad, second_user()])
    out["ips"][0]["users"] = [upn]
    return out


def validated(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` checked against 15a's JSON Schema when it exists (a copy, unchanged)."""
    if SCHEMA.exists():
        import jsonschema

        schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
        jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())
    return copy.deepcopy(data)
