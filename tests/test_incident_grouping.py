"""Which alerts join which incident, when it closes, its id and its revisions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from sigma.collection import SigmaCollection

from detections.audit import actor_context
from detections.correlation_history import History
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
from detections.model import AuditActor, DirectoryAudit
from detections.response.policy import Exclusions, command_problem, propose
from detections.rule import Context, Rule
from detections.sigma.compile import compile_rule
from detections.testing import (
    T0,
    app_actor,
    directory_audit,
    risky_user,
    series,
    sign_in,
    target,
    user_actor,
)
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


def test_disabled_account_probing_is_an_incident_of_its_address() -> None:
    # The rule's principal text is a count: the incident must be the probing address's,
    # the same one whatever the count, and never a "user" the response could act on.
    context = {"ip_address": "198.51.100.7", "ip_addresses": ["198.51.100.7"]}
    assert principal_of("disabled_account_probing", "3 disabled accounts", context) == (
        "ip", "198.51.100.7")
    assert principal_of("disabled_account_probing", "4 disabled accounts", context) == (
        "ip", "198.51.100.7")
    probes = series(4, prefix="d", per_user=True, step=timedelta(minutes=5), success=False,
                    error_code=50057, ip_address="198.51.100.7")
    (incident,) = incidents_of(probes)
    assert (incident.principal_type, incident.principal) == ("ip", "198.51.100.7")
    assert incident.rules == ("disabled_account_probing",)
    assert command_problem(incident, "disable", None, Exclusions.of(())) is not None


def test_the_slow_spray_is_an_incident_of_its_address() -> None:
    slow = {"form": "slow", "ip_address": "203.0.113.10", "users": ["a", "b"]}
    assert principal_of("password_spray", "20 users", slow) == ("ip", "203.0.113.10")
    assert principal_of("password_spray", "20 users", {"form": "slow"}) == ("tenant", TENANT)
    hourly = series(20, prefix="slow", per_user=True, step=timedelta(hours=1.2), success=False,
                    error_code=50126, ip_address="203.0.113.10")
    sprays = [i for i in incidents_of(hourly) if "password_spray" in i.rules]
    assert [(i.principal_type, i.principal) for i in sprays] == [("ip", "203.0.113.10")]


CA_MFA = json.dumps({"id": "ca-1", "displayName": "Require MFA", "state": "enabled",
                     "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
CA_NONE = json.dumps({"id": "ca-1", "displayName": "Require MFA", "state": "enabled",
                      "grantControls": None})


def _mfa_removed(actor: AuditActor, n: int = 1) -> DirectoryAudit:
    return directory_audit(
        id=f"audit-{n}", time=T0 + timedelta(hours=n),
        activity_display_name="Update conditional access policy", category="Policy",
        logged_by_service="Conditional Access", operation_type="Update", initiated_by=actor,
        targets=(target("Policy", "Require MFA", "ca-1",
                        ConditionalAccessPolicy=(CA_MFA, CA_NONE)),))


def test_an_audit_alert_on_an_apps_change_is_an_app_incident_never_a_user() -> None:
    by_app = _mfa_removed(app_actor("Contoso Sync", "app-1"))
    by_user = _mfa_removed(user_actor("Admin@Contoso.com", "u-admin"), 2)
    incidents = {i.principal_type: i for i in incidents_of([by_app, by_user])}
    assert set(incidents) == {"app", "user"}
    app = incidents["app"]
    assert (app.principal, app.rules) == ("Contoso Sync", ("ca_policy_mfa_removed",))
    assert [e.event_id for e in app.timeline] == ["audit-1"]  # its own change, as evidence
    assert incidents["user"].principal == "admin@contoso.com"
    assert command_problem(app, "revoke", None, Exclusions.of(())) is not None
    assert propose(app, user_id=None, label=None, exclusions=Exclusions.of(())) == []
    nobody = directory_audit(initiated_by=AuditActor())
    assert principal_of("ca_policy_mfa_removed", nobody.principal,
                        actor_context(nobody)) == ("tenant", TENANT)


def test_a_sigma_audit_alert_is_grouped_by_its_initiator() -> None:
    rule = sigma_audit_rule()
    ctx = Context(history=History(), params={})
    for actor, expected in ((app_actor("Contoso Sync"), ("app", "Contoso Sync")),
                            (user_actor("Eve@Contoso.com"), ("user", "eve@contoso.com"))):
        audit = directory_audit(activity_display_name="Add service principal",
                                initiated_by=actor)
        finding = rule.match(audit, ctx)
        assert finding is not None
        assert principal_of(rule.id, audit.principal, finding.context) == expected


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


SIGMA_AUDIT = """\
title: Service principal added
id: 0f3a6f0e-2222-4c2b-9a55-0123456789ab
status: test
logsource:
    product: azure
    service: auditlogs
detection:
    sel:
        properties.message: Add service principal
    condition: sel
"""


def sigma_audit_rule() -> Rule:
    verdict = compile_rule(SigmaCollection.from_yaml(SIGMA_AUDIT).rules[0], "test.yml")
    assert verdict.rule is not None, verdict.reason
    return verdict.rule
