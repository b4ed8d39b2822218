"""Behaviour of the seed rules beyond their inline cases: precedence, hidden levels,
service principals, grouping within the dedup window, and what the context says."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from detections.alerts import AlertGrouper
from detections.correlation_history import History
from detections.engine import Engine, Match
from detections.helpers import RISK_DETAIL_MEANING
from detections.model import Event, Severity
from detections.registry import load_rules, rule_by_id
from detections.rule import Context, Finding
from detections.rules import (
    high_risk_signin_succeeded,
    priority_risk_detection,
    risk_level_passthrough,
    unremediated_user_risk,
    user_risk_detection,
)
from detections.testing import T0, risk_detection, risky_user, sign_in

SEED_IDS = {
    "signin_risk_detection",
    "user_risk_detection",
    "risk_level_passthrough",
    "high_risk_signin_succeeded",
    "unremediated_user_risk",
    "priority_risk_detection",
}
CTX = Context(history=History(), params={})


def matches_of(rule_id: str, *events: Event) -> list[Match]:
    engine = Engine([rule_by_id(rule_id)])
    found: list[Match] = []
    for matches, failures in engine.run(events):
        assert failures == []
        found += matches
    return found


def test_seed_rule_ids_are_registered() -> None:
    assert {rule.id for rule in load_rules()} >= SEED_IDS


# --- risk_level_passthrough -------------------------------------------------------------


@pytest.mark.parametrize(
    ("aggregated", "during", "level", "source"),
    [
        ("low", "high", "low", "riskLevelAggregated"),  # aggregated first, even if lower
        ("high", "low", "high", "riskLevelAggregated"),
        ("none", "medium", "medium", "riskLevelDuringSignIn"),
        ("hidden", "medium", "medium", "riskLevelDuringSignIn"),  # hidden is skipped, not none
        (None, "low", "low", "riskLevelDuringSignIn"),
    ],
)
def test_passthrough_precedence(
    aggregated: str | None, during: str, level: str, source: str
) -> None:
    event = sign_in(
        risk_level_aggregated=aggregated, risk_level_during_sign_in=during, risk_state="atRisk"
    )
    finding = risk_level_passthrough.match(event, CTX)
    assert isinstance(finding, Finding)
    assert finding.severity is Severity(level)
    assert finding.context["risk_level"] == level
    assert finding.context["risk_level_source"] == source


@pytest.mark.parametrize(
    ("aggregated", "during"),
    [("hidden", "hidden"), ("hidden", "none"), ("none", "hidden"), (None, None), ("none", "none")],
)
def test_passthrough_hidden_or_absent_levels_never_match(
    aggregated: str | None, during: str | None
) -> None:
    event = sign_in(
        risk_level_aggregated=aggregated, risk_level_during_sign_in=during, risk_state="atRisk"
    )
    assert risk_level_passthrough.match(event, CTX) is None


@pytest.mark.parametrize("state", ["none", "atRisk", "confirmedCompromised"])
def test_passthrough_open_states_match(state: str) -> None:
    event = sign_in(risk_level_during_sign_in="medium", risk_state=state)
    assert risk_level_passthrough.match(event, CTX) is not None


def test_passthrough_service_principal_is_the_principal() -> None:
    event = sign_in(
        category="servicePrincipal",
        user_principal_name=None,
        user_id=None,
        service_principal_name="build-agent",
        service_principal_id="sp-1",
        risk_level_aggregated="medium",
        risk_state="atRisk",
    )
    (match,) = matches_of("risk_level_passthrough", event)
    assert match.principal == "build-agent"
    assert match.dedup_key == "risk_level_passthrough|build-agent"
    assert match.finding.context["service_principal_name"] == "build-agent"


def test_passthrough_groups_per_principal_for_40_minutes_and_escalates() -> None:
    first = sign_in(id="a", time=T0, risk_level_aggregated="low", risk_state="atRisk")
    later = sign_in(
        id="b",
        time=T0 + timedelta(minutes=39),
        risk_level_during_sign_in="high",
        risk_state="atRisk",
    )
    after_window = sign_in(
        id="c",
        time=T0 + timedelta(minutes=41),
        risk_level_aggregated="medium",
        risk_state="atRisk",
    )
    other_user = sign_in(
        id="d",
        time=T0 + timedelta(minutes=1),
        user_principal_name="bob@contoso.com",
        risk_level_aggregated="low",
        risk_state="atRisk",
    )
    grouper = AlertGrouper()
    for match in matches_of("risk_level_passthrough", first, later, after_window, other_user):
        grouper.add(match)
    alerts = {(a.principal, a.event_ids[0]): a for a in grouper.alerts()}
    assert set(alerts) == {
        ("alice@contoso.com", "a"),
        ("alice@contoso.com", "c"),
        ("bob@contoso.com", "d"),
    }
    grouped = alerts[("alice@contoso.com", "a")]
    assert grouped.count == 2
    assert grouped.event_ids == ["a", "b"]
    assert grouped.severity is Severity.HIGH  # the later high level raised it
    assert alerts[("alice@contoso.com", "c")].severity is Severity.MEDIUM


# --- high_risk_signin_succeeded -----------------------------------------------------------


@pytest.mark.parametrize(
    ("detail", "severity"),
    [
        ("none", Severity.CRITICAL),
        ("userPassedMFADrivenByRiskBasedPolicy", Severity.HIGH),
        ("aiConfirmedSigninSafe", Severity.HIGH),
        ("hidden", Severity.HIGH),
        (None, Severity.HIGH),
    ],
)
def test_high_risk_success_severity_by_detail(detail: str | None, severity: Severity) -> None:
    event = sign_in(
        risk_level_during_sign_in="high",
        risk_state="atRisk",
        risk_detail=detail,
        conditional_access_status="notApplied",
        risk_event_types=("anomalousToken", "unfamiliarFeatures"),
    )
    finding = high_risk_signin_succeeded.match(event, CTX)
    assert isinstance(finding, Finding)
    assert finding.severity is severity
    context = finding.context
    assert context["risk_detail"] == detail
    if detail is not None:
        assert context["risk_detail_meaning"] == RISK_DETAIL_MEANING[detail]
    assert context["conditional_access_status"] == "notApplied"
    assert context["risk_event_types"] == ["anomalousToken", "unfamiliarFeatures"]
    json.dumps(dict(context))


def test_high_risk_success_splits_alerts_per_source_ip() -> None:
    events = [
        sign_in(
            id=f"s{i}",
            time=T0 + timedelta(minutes=i),
            ip_address=ip,
            risk_level_during_sign_in="high",
            risk_state="atRisk",
        )
        for i, ip in enumerate(["198.51.100.7", "198.51.100.7", "192.0.2.44"])
    ]
    grouper = AlertGrouper()
    for match in matches_of("high_risk_signin_succeeded", *events):
        grouper.add(match)
    counts = sorted((a.context["ip_address"], a.count) for a in grouper.alerts())
    assert counts == [("192.0.2.44", 1), ("198.51.100.7", 2)]


def test_interrupted_sign_in_is_not_a_success() -> None:
    # success flag set but a non-zero error code (an interrupt): not ResultType 0.
    event = sign_in(risk_level_during_sign_in="high", risk_state="atRisk", error_code=50140)
    assert high_risk_signin_succeeded.match(event, CTX) is None


# --- unremediated_user_risk ---------------------------------------------------------------


def test_unremediated_risk_is_one_alert_per_user_per_day() -> None:
    events = [
        sign_in(
            id=f"s{h}",
            time=T0 + timedelta(hours=h),
            risk_level_aggregated="high",
            risk_state="atRisk",
        )
        for h in (0, 5, 23, 25)
    ]
    grouper = AlertGrouper()
    for match in matches_of("unremediated_user_risk", *events):
        grouper.add(match)
    assert [a.count for a in grouper.alerts()] == [3, 1]


def test_unremediated_risk_does_not_fire_with_the_sign_in_rule() -> None:
    # A clean sign-in at high user risk is this rule's case, not the high-risk sign-in's.
    event = sign_in(risk_level_aggregated="high", risk_state="atRisk")
    assert unremediated_user_risk.match(event, CTX) is not None
    assert high_risk_signin_succeeded.match(event, CTX) is None


# --- user_risk_detection ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "state", "severity"),
    [
        ("medium", "atRisk", Severity.MEDIUM),
        ("high", "atRisk", Severity.HIGH),
        ("medium", "confirmedCompromised", Severity.HIGH),
        ("high", "confirmedCompromised", Severity.HIGH),
        ("low", "atRisk", None),
        ("high", "none", None),
        ("high", "remediated", None),
    ],
)
def test_risky_user_levels_and_states(level: str, state: str, severity: Severity | None) -> None:
    finding = user_risk_detection.match(risky_user(risk_level=level, risk_state=state), CTX)
    if severity is None:
        assert finding is None
    else:
        assert finding is not None
        assert finding.severity is severity


def test_user_risk_escalation_opens_a_new_alert() -> None:
    medium = risky_user(time=T0, risk_level="medium")
    repeat = risky_user(time=T0 + timedelta(minutes=5), risk_level="medium")
    high = risky_user(time=T0 + timedelta(hours=1), risk_level="high")
    grouper = AlertGrouper()
    for match in matches_of("user_risk_detection", medium, repeat, high):
        grouper.add(match)
    assert [(a.severity, a.count) for a in grouper.alerts()] == [
        (Severity.MEDIUM, 2),
        (Severity.HIGH, 1),
    ]


def test_user_risk_detections_of_different_types_stay_apart() -> None:
    leaked = risk_detection(id="r1", activity="user", risk_event_type="leakedCredentials")
    inbox = risk_detection(id="r2", activity="user", risk_event_type="suspiciousInboxForwarding")
    keys = {m.dedup_key for m in matches_of("user_risk_detection", leaked, inbox)}
    assert len(keys) == 2


# --- priority_risk_detection --------------------------------------------------------------

PRIORITY_TYPES = [
    "anomalousToken",
    "attackerinTheMiddle",
    "tokenIssuerAnomaly",
    "leakedCredentials",
    "maliciousIPAddress",
    "authenticatorPhishing",
    "suspiciousInboxForwarding",
    "mcasSuspiciousInboxManipulationRules",
]


@pytest.mark.parametrize("risk_type", PRIORITY_TYPES)
@pytest.mark.parametrize("level", ["none", "low", "medium", "high", "hidden", None])
def test_priority_types_fire_at_any_level(risk_type: str, level: str | None) -> None:
    for spelling in (risk_type, risk_type.lower(), risk_type.upper()):
        event = risk_detection(risk_event_type=spelling, risk_level=level)
        finding = priority_risk_detection.match(event, CTX)
        assert finding is not None, spelling
        assert finding.context["action"]
        assert finding.context["meaning"]


def test_priority_casing_variants_share_an_alert() -> None:
    events = [
        risk_detection(id="r1", risk_event_type="anomalousToken"),
        risk_detection(id="r2", time=T0 + timedelta(minutes=3), risk_event_type="ANOMALOUSTOKEN"),
    ]
    keys = {m.dedup_key for m in matches_of("priority_risk_detection", *events)}
    assert keys == {"priority_risk_detection|alice@contoso.com|anomalousToken"}


def test_priority_offline_timing_is_explained() -> None:
    event = risk_detection(
        risk_event_type="leakedCredentials", activity="user", detection_timing_type="offline"
    )
    finding = priority_risk_detection.match(event, CTX)
    assert finding is not None
    note = str(finding.context["timing_note"])
    assert finding.context["detection_timing"] == "offline"
    assert "48 h" in note
    assert "Conditional Access" in note
    assert "Rotate the password now" in str(finding.context["action"])


def test_priority_missing_timing_falls_back_to_the_typical_one() -> None:
    event = risk_detection(risk_event_type="anomalousToken", detection_timing_type=None)
    finding = priority_risk_detection.match(event, CTX)
    assert finding is not None
    assert finding.context["detection_timing"] == "realtime"
    assert finding.context["detection_timing_reported"] is False
    assert "real-time" in str(finding.context["timing_note"])


def test_priority_aitm_says_investigate_immediately() -> None:
    for risk_type in ("anomalousToken", "attackerinTheMiddle"):
        finding = priority_risk_detection.match(risk_detection(risk_event_type=risk_type), CTX)
        assert finding is not None
        assert "AiTM" in str(finding.context["meaning"]) or "adversary-in-the-middle" in str(
            finding.context["meaning"]
        )
        assert str(finding.context["action"]).startswith("Investigate immediately")


# --- every seed rule ----------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", sorted(SEED_IDS))
def test_rules_ignore_other_event_kinds(rule_id: str) -> None:
    rule = rule_by_id(rule_id)
    risky = [
        sign_in(
            risk_level_during_sign_in="high", risk_level_aggregated="high", risk_state="atRisk"
        ),
        risk_detection(risk_event_type="anomalousToken", activity="user"),
        risky_user(),
    ]
    for event in risky:
        if event.kind not in rule.kinds:
            assert rule.match(event, CTX) is None
