"""Issue 20's sign-in techniques in incidents: a device code phish is at least medium on its
own and joins the incident of its user."""

from __future__ import annotations

from datetime import timedelta

from detections.auth_flows import BROKER_APP_ID, VSCODE_APP_ID
from detections.testing import T0, sign_in
from tests.incident_support import by_principal, incidents_of

PHISH = {"authentication_protocol": "deviceCode", "app_id": BROKER_APP_ID,
         "app_display_name": "Microsoft Authentication Broker", "interactive": False}


def test_a_device_code_phish_alone_is_a_medium_incident() -> None:
    (incident,) = incidents_of([sign_in(id="dc", **PHISH)])
    assert incident.principal == "alice@contoso.com"
    assert incident.verdict == "medium"
    assert "device_code_phishing" in {a.rule_id for a in incident.alerts}


def test_a_first_party_client_phish_alone_is_medium_and_legacy_auth_alone_is_low() -> None:
    (oauth,) = incidents_of([sign_in(id="vs", app_id=VSCODE_APP_ID,
                                     resource_display_name="Microsoft Graph")])
    assert oauth.verdict == "medium"
    (legacy,) = incidents_of([sign_in(id="smtp", client_app_used="Authenticated SMTP",
                                      authentication_requirement="singleFactorAuthentication")])
    assert legacy.verdict == "low"


def test_the_phish_joins_the_incident_of_a_risky_sign_in_before_it() -> None:
    risky = sign_in(id="r1", time=T0 - timedelta(hours=2), risk_level_during_sign_in="medium",
                    risk_state="atRisk")
    phish = sign_in(id="dc", ip_address="198.51.100.20", **PHISH)
    incidents = by_principal(incidents_of([risky, phish]))["alice@contoso.com"]
    assert len(incidents) == 1
    rules = {a.rule_id for a in incidents[0].alerts}
    assert {"risk_level_passthrough", "device_code_phishing"} <= rules
    # Two families agree (Identity Protection risk, sign-in technique) and the phish is high
    # with the recent flag as its second signal.
    device = next(a for a in incidents[0].alerts if a.rule_id == "device_code_phishing")
    assert device.severity == "high"
    assert incidents[0].verdict == "high"
