"""The rule policy covers thresholds (every number has a range holding its default), and an
unknown rule id names the nearest one."""

from __future__ import annotations

import dataclasses

import pytest

from detections.errors import RiskwatchError
from detections.registry import load_rules, rule_by_id, validate
from detections.rule import Param
from detections.rules import brute_force


def _with(*params: Param) -> list[str]:
    return validate([dataclasses.replace(brute_force.RULE, params=params)])


def test_every_shipped_threshold_has_a_range_holding_its_default() -> None:
    rules = load_rules()
    for rule in rules:
        for param in rule.params:
            if isinstance(param.default, int | float) or param.int_list:
                assert param.minimum is not None and param.maximum is not None, param
                assert param.parse(str(param.default)) is not None
    assert validate(rules) == []


def test_a_number_without_a_range_breaks_the_policy() -> None:
    assert _with(Param(name="n", default=3, description="d")) == [
        "brute_force: param n: a number needs a minimum and a maximum"
    ]


def test_a_default_outside_its_range_breaks_the_policy() -> None:
    assert _with(Param(name="n", default=0, description="d", minimum=1, maximum=9)) == [
        "brute_force: param n: default 0 is invalid: 0 is outside 1-9"
    ]
    assert _with(Param(name="n", default=5, description="d", minimum=9, maximum=1)) == [
        "brute_force: param n: minimum above maximum"
    ]


def test_text_params_need_no_range() -> None:
    assert _with(Param(name="label", default="x", description="d")) == []


@pytest.mark.parametrize(("typed", "message"), [
    ("brute_forse", "unknown rule 'brute_forse', did you mean brute_force?"),
    ("password-spray", "unknown rule 'password-spray', did you mean password_spray?"),
    ("zzz", "unknown rule 'zzz'"),
])
def test_an_unknown_rule_suggests_the_nearest(typed: str, message: str) -> None:
    with pytest.raises(KeyError) as caught:
        rule_by_id(typed)
    assert isinstance(caught.value, RiskwatchError)
    assert str(caught.value) == message


def test_a_misspelt_disabled_rule_suggests_the_nearest() -> None:
    from service.settings import SettingsError, load_detection_settings

    with pytest.raises(SettingsError) as caught:
        load_detection_settings({"RISKWATCH_DISABLED_RULES": "brute_force,mfa_fatige"})
    assert "'mfa_fatige', did you mean mfa_fatigue?" in caught.value.problems[0]
