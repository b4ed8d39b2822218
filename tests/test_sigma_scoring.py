"""Sigma alerts in incidents: one family, worth at most a medium alert, never agreement."""

from __future__ import annotations

from detections.incidents.grouping import principal_of, signals_of
from detections.incidents.model import AlertFacts, Breakdown
from detections.incidents.scoring import (
    SEVERITY_POINTS,
    SIGMA_FAMILY,
    SIGMA_FAMILY_CAP,
    family_of,
    score_incident,
)
from detections.testing import T0

SIGMA_A = "sigma:6555754e-5e7f-4a67-ad1c-4041c413a007"
SIGMA_B = "sigma:e3393cba-31f0-4207-831e-aef90ab17a8c"


def facts(rule_id: str, severity: str = "high", n: int = 1) -> AlertFacts:
    return AlertFacts(alert_id=f"{rule_id}-{n}", rule_id=rule_id, severity=severity,
                      first_seen=T0, last_seen=T0, count=1, event_ids=(f"ev-{n}",))


def test_every_sigma_rule_is_one_family() -> None:
    assert family_of(SIGMA_A) == family_of(SIGMA_B) == SIGMA_FAMILY
    assert family_of("brute_force") != SIGMA_FAMILY


def test_sigma_alerts_are_capped_and_do_not_count_as_agreement() -> None:
    only_sigma = score_incident([facts(SIGMA_A, n=1), facts(SIGMA_B, n=2)], Breakdown(), ())
    assert only_sigma.score == SIGMA_FAMILY_CAP < SEVERITY_POINTS["high"]
    built_in = score_incident([facts("priority_risk_detection")], Breakdown(), ())
    both = score_incident([facts("priority_risk_detection"), facts(SIGMA_A, n=2)],
                          Breakdown(), ())
    assert both.score == built_in.score + SIGMA_FAMILY_CAP  # no agreement bonus
    assert not any("independent signal families" in r.text for r in both.reasons)
    assert any(r.text.startswith("Sigma rules: ") for r in both.reasons)


def test_sigma_alerts_belong_to_their_user_and_carry_no_signals() -> None:
    assert principal_of(SIGMA_A, "Alice@Contoso.com", {}) == ("user", "alice@contoso.com")
    context = {"fields": {"riskEventType": ["anomalousToken"]}, "sigma_id": SIGMA_A[6:]}
    assert signals_of(SIGMA_A, context) == ()  # the built-in rule carries the aitm signal
