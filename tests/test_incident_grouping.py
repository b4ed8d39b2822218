"""Which alerts join which incident, when it closes, its id and its revisions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from detections.incidents.grouping import (
    TENANT,
    assemble,
    incident_id_for,
    joins,
    principal_of,
    revise,
    risk_closes,
)
from detections.incidents.model import AlertFacts, Incident
from detections.testing import T0, risky_user, series, sign_in
from tests.incident_support import by_principal, incidents_of

DAY = timedelta(days=1)
PUBLISHED = {"incident_id", "revision", "principal", "principal_type", "verdict", "score",
             "reasons", "alerts", "rules", "first_seen", "last_seen", "privileged",
             "breakdown", "timeline", "related"}


def facts(rule_id: str, severity: str = "medium", at: timedelta = timedelta(0),
          alert_id: str | None = None) -> AlertFacts:
    return AlertFacts(alert_id=alert_id or f"{rule_id}-{at}", rule_id=rule_id,
                      severity=severity, first_seen=T0 + at, last_seen=T0 + at, count=1,
                      event_ids=("e",))


def opened(*alerts: AlertFacts) -> Incident:
    return assemble(None, "user", "alice@contoso.com", alerts, ())


def test_principals_user_ip_and_tenant() -> None:
    assert principal_of("brute_force", "Alice@Contoso.com", {}) == ("user", "alice@contoso.com")
    assert principal_of("password_spray", "10 users",
                        {"form": "single_ip", "ip_addresses": ["192.0.2.1"]}) == (
        "ip", "192.0.2.1")
    assert principal_of("password_spray", "15 users",
                        {"form": "distributed", "ip_addresses": ["a", "b"]}) == ("tenant", TENANT)
    assert principal_of("account_lockouts", "20 users", {}) == ("tenant", TENANT)


def test_the_id_depends_only_on_principal_type_principal_and_opening_alert() -> None:
    first = opened(facts("brute_force", alert_id="A"))
    assert first.incident_id == incident_id_for("user", "alice@contoso.com", "A")
    later = revise(first, [facts("unfamiliar_country", alert_id="B", at=DAY)])
    assert later.incident_id == first.incident_id
    assert incident_id_for("ip", "alice@contoso.com", "A") != first.incident_id
    assert opened(facts("brute_force", alert_id="C")).incident_id != first.incident_id


def test_revision_grows_on_a_new_rule_or_a_higher_verdict_only() -> None:
    first = opened(facts("brute_force"))
    assert (first.revision, first.verdict) == (1, "low")
    more_of_the_same = revise(first, [replace(first.alerts[0], count=9)])
    assert more_of_the_same.revision == 1 and more_of_the_same.alerts[0].count == 9
    new_rule = revise(first, [facts("password_spray", "low", at=timedelta(hours=1))])
    assert (new_rule.verdict, new_rule.revision) == ("low", 2)
    rises = revise(new_rule, [replace(new_rule.alerts[0], severity="high")])
    assert (rises.verdict, rises.revision) == ("medium", 3)
    falls = revise(rises, [replace(rises.alerts[0], severity="low")])
    assert (falls.verdict, falls.revision) == ("low", 3)


def test_quiet_days_close_and_a_later_alert_opens_a_new_incident() -> None:
    incident = opened(facts("brute_force"))
    quiet = timedelta(days=7)
    assert joins(incident, T0 + 7 * DAY, quiet)
    assert not joins(incident, T0 + 7 * DAY + timedelta(seconds=1), quiet)
    assert not joins(replace(incident, closed="risk closed"), T0 + DAY, quiet)
    assert not joins(None, T0, quiet)
    spray_week_apart = [*series(12, prefix="a", error_code=50126, success=False),
                        *series(12, prefix="b", error_code=50126, success=False,
                                start=T0 + 8 * DAY)]
    alice = by_principal(incidents_of(spray_week_apart))["alice@contoso.com"]
    assert [i.closed for i in alice] == ["quiet", None]
    assert alice[0].incident_id != alice[1].incident_id


def test_closed_risk_closes_only_an_identity_protection_incident() -> None:
    closed = risky_user(risk_state="remediated", risk_detail="userPerformedSecuredPasswordChange")
    assert risk_closes(["user_risk_detection"], "alice@contoso.com", closed)
    assert not risk_closes(["user_risk_detection", "brute_force"], "alice@contoso.com", closed)
    assert not risk_closes(["user_risk_detection"], "alice@contoso.com", risky_user())
    assert not risk_closes(["user_risk_detection"], "bob@contoso.com", closed)
    events = [risky_user(time=T0), replace(closed, time=T0 + timedelta(hours=1)),
              risky_user(time=T0 + DAY)]
    alice = by_principal(incidents_of(events))["alice@contoso.com"]
    assert [i.closed for i in alice] == ["risk closed", None]
    assert any("secure password change" in r.text for r in alice[0].reasons)


def test_an_incident_round_trips_through_a_plain_dict() -> None:
    events = [*series(12, prefix="f", error_code=50126, success=False),
              sign_in(id="ok", time=T0 + timedelta(minutes=7))]
    (incident,) = incidents_of(events)
    state = json.loads(json.dumps(incident.to_state()))
    assert Incident.from_state(state) == incident
    assert set(incident.to_dict()) == PUBLISHED
    assert set(incident.to_dict()["breakdown"]["signins"]) == {
        "success", "credential_failure", "mfa_failure", "interrupt", "consent",
        "policy_block", "other"}


def test_mfa_fatigue_raised_to_high_by_a_later_approval_counts_as_success() -> None:
    """The alert's context is its opening match's (no approval yet); its severity rose to high
    when a later match saw the approval, and that is what the incident must read."""
    from detections.incidents.grouping import signals_of

    opening = {"success_followed": False}
    assert "success_after_failures" in signals_of("mfa_fatigue", opening, "high")
    assert "success_after_failures" not in signals_of("mfa_fatigue", opening, "medium")
    assert "success_after_failures" not in signals_of("mfa_fatigue", opening)
