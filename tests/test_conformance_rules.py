"""Conformance with Panther: its published test logs, normalized by detections.normalize,
give Panther's verdicts through the matching seed rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from detections.engine import Engine, Match
from detections.model import Severity, SignIn
from detections.normalize import Skip, decode
from detections.registry import rule_by_id


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
