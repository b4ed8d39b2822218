"""Every rule's inline cases, run through the real engine (Panther's runner, plus
the assertions its own TODO asks for: severity, dedup key, serialisable context)."""

from __future__ import annotations

import json

import pytest

from detections.engine import Engine, make_dedup_key
from detections.registry import load_rules
from detections.rule import Context, Rule, RuleTest

CASES = [(rule, case) for rule in load_rules() for case in rule.tests]


@pytest.mark.parametrize(
    ("rule", "case"), CASES, ids=[f"{rule.id}::{case.name}" for rule, case in CASES]
)
def test_inline_case(rule: Rule, case: RuleTest) -> None:
    run_case(rule, case)


def run_case(rule: Rule, case: RuleTest) -> None:
    """One inline case through the engine; an AssertionError says how it failed."""
    engine = Engine([rule], params={rule.id: dict(case.params)})
    for earlier in sorted(case.before, key=lambda e: e.time):
        _, failures = engine.evaluate(earlier)
        assert failures == []
    matches, failures = engine.evaluate(case.event)
    assert failures == [], failures
    assert bool(matches) is case.expect, f"expected {case.expect}, got {matches}"
    if not case.expect:
        return
    (match,) = matches
    assert match.finding.title.strip()
    json.dumps(dict(match.finding.context))  # raises if not JSON-serialisable
    if case.severity is not None:
        assert match.severity is case.severity
    if case.dedup is not None:
        assert match.dedup_key == make_dedup_key(rule.id, case.dedup)


def test_every_rule_is_valid() -> None:
    assert load_rules()


# The seed rules pass Identity Protection's risk on; the correlation rules (which read
# history) treat closed risk only as missing evidence, covered by their own timelines.
RISK_RULES = [rule for rule in load_rules() if not rule.uses_history]


class _NoHistory:
    """Stands in for the history of a rule that says it never reads it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"read history.{name} but uses_history is False")


def test_there_are_risk_rules_and_correlation_rules() -> None:
    assert RISK_RULES and len(RISK_RULES) < len(load_rules())


@pytest.mark.parametrize("rule", RISK_RULES, ids=lambda r: r.id)
def test_a_rule_without_uses_history_never_reads_history(rule: Rule) -> None:
    """uses_history decides which rules are judged once per event: it must be true."""
    for case in rule.tests:
        params = {**rule.default_params(), **case.params}
        rule.match(case.event, Context(history=_NoHistory(), params=params))  # type: ignore[arg-type]


@pytest.mark.parametrize("rule", RISK_RULES, ids=lambda r: r.id)
def test_closed_risk_states_are_covered(rule: Rule) -> None:
    """Rules on risk carry the dismissed, remediated and confirmedSafe cases."""
    states = {getattr(case.event, "risk_state", None) for case in rule.tests if not case.expect}
    assert {"dismissed", "remediated", "confirmedSafe"} <= states, states
