"""Conformance with Panther: its published test logs, normalized by detections.normalize,
give Panther's verdicts through the matching seed rules."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from detections.engine import Engine, Match
from detections.model import DirectoryAudit, Event, Severity, SignIn
from detections.normalize import Skip, decode
from detections.registry import rule_by_id
from detections.testing import sign_in


def panther_cases(corpus: Path, name: str) -> list[dict[str, Any]]:
    path = corpus / "panther" / f"{name}.tests.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def sign_in_of(case: dict[str, Any]) -> SignIn:
    # Panther's logs are diagnostic-settings records (lower-cased top-level keys included).
    (event,) = decode(case["test_name"], [json.dumps(case["log"])], fmt="diagnostic")
    assert not isinstance(event, Skip), event
    assert isinstance(event, SignIn)
    return event


def run(rule_id: str, event: SignIn) -> list[Match]:
    matches, failures = Engine([rule_by_id(rule_id)]).evaluate(event)
    assert failures == []
    return matches


def test_risk_level_passthrough_matches_panther(peer_corpus: Path) -> None:
    cases = panther_cases(peer_corpus, "azure_risklevel_passthrough")
    assert len(cases) == 5
    verdicts = [bool(run("risk_level_passthrough", sign_in_of(c))) for c in cases]
    assert verdicts == [c["expected_result"] for c in cases]
    assert verdicts == [False, True, True, False, False]  # as published (peer guide 1a)


def test_risk_level_passthrough_severity_is_the_level_found(peer_corpus: Path) -> None:
    by_name = {c["test_name"]: c for c in panther_cases(peer_corpus, "azure_risklevel_passthrough")}
    (low,) = run(
        "risk_level_passthrough", sign_in_of(by_name["Failed Sign-In with riskLevelAggregated"])
    )
    (high,) = run(
        "risk_level_passthrough", sign_in_of(by_name["Failed Sign-In with riskLevelDuringSignIn"])
    )
    assert (low.severity, low.principal) == (Severity.LOW, "some-service-principal")
    assert (high.severity, high.principal) == (Severity.HIGH, "some-service-principal")


@pytest.mark.parametrize("rule_id", ["high_risk_signin_succeeded", "risk_level_passthrough"])
def test_high_risk_signin_matches_panther(peer_corpus: Path, rule_id: str) -> None:
    # Panther's True case is a *successful* sign-in (resultSignature SUCCESS, errorCode 0)
    # with riskLevelDuringSignIn high and riskState atRisk, so the appropriate rule is
    # high_risk_signin_succeeded. Its riskDetail is aiConfirmedSigninSafe: not "none" (no
    # policy challenge is not proven), so high, not critical - Panther's severity. The
    # passthrough agrees (aggregated none, during high -> high). The False case is dismissed.
    cases = panther_cases(peer_corpus, "azure_high_risk_signin")
    assert [c["expected_result"] for c in cases] == [True, False]
    for case in cases:
        event = sign_in_of(case)
        matches = run(rule_id, event)
        assert bool(matches) is case["expected_result"], case["test_name"]
        if matches:
            assert event.success
            (match,) = matches
            assert match.severity is Severity.HIGH
            assert match.principal == "john@justice.org"


# Issue 20: Panther's sign-in technique rules and the Riskwatch rule that answers each.
TECHNIQUES = [
    ("azure_device_code_broker_client", "device_code_phishing", [True, False]),
    ("azure_vscode_oauth_phishing", "first_party_client_phishing", [True, False]),
    ("azure_legacyauth", "legacy_auth_no_mfa", [False, True, False]),
    ("azure_ropc_login_no_mfa", "legacy_auth_no_mfa", [True, False]),
]
# Panther's LegacyAuth keeps its exceptions in the rule; Riskwatch's are a setting.
PANTHER_LEGACY_EXCEPTIONS = {"exceptions": "homer.simpson@springfield.org"}


@pytest.mark.parametrize(("corpus_name", "rule_id", "published"), TECHNIQUES,
                         ids=[t[0] for t in TECHNIQUES])
def test_sign_in_techniques_match_panther(
    peer_corpus: Path, corpus_name: str, rule_id: str, published: list[bool]
) -> None:
    cases = panther_cases(peer_corpus, corpus_name)
    assert [c["expected_result"] for c in cases] == published  # as published
    params = {rule_id: PANTHER_LEGACY_EXCEPTIONS} if rule_id == "legacy_auth_no_mfa" else {}
    for case in cases:
        event = sign_in_of(case)
        # A fresh engine per case: each of Panther's tests is a single event, no history.
        matches, failures = Engine([rule_by_id(rule_id)], params=params).evaluate(event)
        assert failures == []
        assert bool(matches) is case["expected_result"], case["test_name"]
        for match in matches:
            assert match.severity is Severity.MEDIUM  # Panther: Medium; no second signal
            assert match.principal == event.user_principal_name


def test_the_legacy_exception_is_what_keeps_panthers_known_exception_quiet(
    peer_corpus: Path,
) -> None:
    (case,) = [c for c in panther_cases(peer_corpus, "azure_legacyauth")
               if "KNOWN_EXCEPTION" in c["test_name"]]
    assert run("legacy_auth_no_mfa", sign_in_of(case))  # without the setting it alerts


def test_the_sign_in_technique_fields_reach_the_model(peer_corpus: Path) -> None:
    (broker, cli) = panther_cases(peer_corpus, "azure_device_code_broker_client")
    event = sign_in_of(broker)
    assert event.authentication_protocol == "deviceCode"
    assert "29d9ed98-a469-4536-ade2-f981bc1d605e" in event.conditional_access_audiences
    (ropc, _) = panther_cases(peer_corpus, "azure_ropc_login_no_mfa")
    assert sign_in_of(ropc).authentication_protocol == "ropc"
    assert sign_in_of(ropc).authentication_methods == ("Password",)
    assert sign_in_of(cli).resource_display_name == "Microsoft Azure Management"


def audit_of(case: dict[str, Any]) -> DirectoryAudit:
    (event,) = decode(case["test_name"], [json.dumps(case["log"])], fmt="diagnostic")
    assert isinstance(event, DirectoryAudit), event
    return event


def audit_verdicts(rule_id: str, cases: list[dict[str, Any]],
                   before: tuple[Event, ...] = ()) -> list[bool]:
    verdicts = []
    for case in cases:
        engine = Engine([rule_by_id(rule_id)])  # a fresh history per case, as Panther's runner
        for earlier in before:
            assert engine.evaluate(earlier)[1] == []
        matches, failures = engine.evaluate(audit_of(case))
        assert failures == []
        verdicts.append(bool(matches))
    return verdicts


def test_role_assigned_outside_pim_matches_panther_but_for_the_one_divergence(
    peer_corpus: Path,
) -> None:
    cases = panther_cases(peer_corpus, "azure_role_changed_pim")
    assert [c["expected_result"] for c in cases] == [True, False, False]  # as published
    verdicts = audit_verdicts("role_assigned_outside_pim", cases)
    # Divergence (written in the rule): Panther's negative "Add member to role (Non PIM)" is
    # a role assigned outside PIM, exactly what this rule exists to catch.
    divergent = {"Add member to role (Non PIM)"}
    for case, verdict in zip(cases, verdicts, strict=True):
        expected = case["expected_result"] ^ (case["test_name"] in divergent)
        assert verdict is expected, case["test_name"]
    assert divergent <= {c["test_name"] for c in cases}


def test_ca_policy_mfa_removed_matches_panther_mfa_disabled(peer_corpus: Path) -> None:
    cases = panther_cases(peer_corpus, "azure_mfa_disabled")
    assert len(cases) == 3
    verdicts = audit_verdicts("ca_policy_mfa_removed", cases)
    assert verdicts == [c["expected_result"] for c in cases] == [True, False, False]
    (match,) = Engine([rule_by_id("ca_policy_mfa_removed")]).evaluate(audit_of(cases[0]))[0]
    assert match.principal == "denethor@lotr.com" and match.severity is Severity.HIGH


def test_policy_changed_cases_against_the_mfa_removal_rule(peer_corpus: Path) -> None:
    # Panther's PolicyChanged (any policy change, low) has no counterpart here; its cases are
    # judged by the nearest rule, ca_policy_mfa_removed (its known gaps say so): the deleted
    # Conditional Access policy required MFA (a removal); the Core Directory "Delete policy"
    # record carries no policy content (the Conditional Access record of the same change is
    # the one read); an added policy removes nothing.
    cases = panther_cases(peer_corpus, "azure_policy_changed")
    assert [c["expected_result"] for c in cases] == [True, True, False]
    assert audit_verdicts("ca_policy_mfa_removed", cases) == [True, False, False]


def test_app_credential_after_risk_matches_panther_with_the_actor_flagged(
    peer_corpus: Path,
) -> None:
    cases = panther_cases(peer_corpus, "azure_service_principal_credentials_added")
    assert [c["expected_result"] for c in cases] == [True, False]
    # The rule's premise: the actor was flagged first (here a risky sign-in an hour before).
    verdicts = []
    for case in cases:
        audit = audit_of(case)
        actor = audit.initiated_by
        risky = sign_in(id=f"risky-{audit.id}", time=audit.time - timedelta(hours=1),
                        user_id=actor.user_id, user_principal_name=actor.user_principal_name,
                        risk_state="atRisk", risk_level_during_sign_in="high")
        verdicts += audit_verdicts("app_credential_after_risk", [case], before=(risky,))
    assert verdicts == [c["expected_result"] for c in cases]
    # Without a flag the credential is ordinary administration (the rule's divergence).
    assert audit_verdicts("app_credential_after_risk", cases) == [False, False]
