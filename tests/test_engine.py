"""The engine: failing rules contained, dedup keys, re-read events judged once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from detections.engine import Engine, make_dedup_key
from detections.model import Event
from detections.registry import load_rules, rule_by_id
from detections.rule import Context, Finding, Rule, RuleTest
from detections.testing import T0, risk_detection, sign_in

SIGNIN_RISK = rule_by_id("signin_risk_detection")


def exploding(event: Event, ctx: Context) -> Finding | None:
    raise ValueError(f"boom on {event.event_id}")


BROKEN = replace(
    SIGNIN_RISK,
    id="broken_rule",
    match=exploding,
    tests=(RuleTest(name="x", event=risk_detection(), expect=True),),
)


def test_a_failing_rule_is_reported_and_the_others_still_run() -> None:
    engine = Engine([BROKEN, SIGNIN_RISK])
    matches, failures = engine.evaluate(risk_detection())
    assert [m.rule.id for m in matches] == ["signin_risk_detection"]
    assert len(failures) == 1
    assert failures[0].rule_id == "broken_rule"
    assert failures[0].event_id == "rd-1"
    assert "ValueError: boom on rd-1" in failures[0].error


def test_dedup_key_escapes_separators_so_keys_never_collide() -> None:
    assert make_dedup_key("r", ["a|b", "c"]) != make_dedup_key("r", ["a", "b|c"])
    assert make_dedup_key("r", ["a\\", "|b"]) != make_dedup_key("r", ["a\\|", "b"])
    assert make_dedup_key("r", ["x", "y"]) == "r|x|y"


def test_dedup_hash_is_a_safe_table_key() -> None:
    (match,), _ = Engine([SIGNIN_RISK]).evaluate(
        risk_detection(user_principal_name="a/b#c?d\\e@contoso.com")
    )
    assert len(match.dedup_hash) == 64
    assert not set("/\\#?") & set(match.dedup_hash)


def test_only_rules_for_the_event_kind_run() -> None:
    engine = Engine(load_rules())
    matches, failures = engine.evaluate(risk_detection(activity="user"))
    assert failures == []
    assert {m.rule.id for m in matches} == {"user_risk_detection"}


def burst(start_id: int = 0) -> list[Event]:
    """Twelve wrong passwords for one user in six minutes: brute force."""
    return [
        sign_in(
            id=f"f{start_id + n}",
            time=T0 + timedelta(seconds=30 * n),
            success=False,
            error_code=50126,
            ip_address="198.51.100.7",
        )
        for n in range(12)
    ]


def test_a_re_read_burst_is_judged_once_and_raises_nothing_new() -> None:
    engine = Engine(load_rules())
    first = [m for ms, _ in engine.run(burst()) for m in ms if m.rule.id == "brute_force"]
    assert first, "the burst must fire brute_force the first time"
    # A later poll re-reads the same events (the look-back overlap): no rule that reads
    # history may fire again, on any event of the burst.
    again = [m for ms, _ in engine.run(burst()) for m in ms if m.rule.uses_history]
    assert again == []
    assert engine.already_seen == 12


def test_stateless_rules_still_judge_a_re_read_event() -> None:
    """Their repeat matches are dropped by the dedup ledger, not by the engine."""
    risky = sign_in(risk_level_during_sign_in="high", risk_state="atRisk", risk_detail="none")
    engine = Engine([rule_by_id("high_risk_signin_succeeded")])
    assert engine.evaluate(risky)[0]
    assert engine.evaluate(risky)[0]


def test_rule_is_a_closed_typed_record() -> None:
    assert isinstance(SIGNIN_RISK, Rule)
    assert not hasattr(SIGNIN_RISK, "__dict__")  # slots: no stray attributes
