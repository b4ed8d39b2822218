"""RISKWATCH_RESPONSE_MODE and RISKWATCH_RESPONSE_EXCLUDE: defaults, named errors, and the
combination with RISKWATCH_NOTIFY that could never act."""

from __future__ import annotations

import pytest

from service.settings import SettingsError, load_settings

BASE = {"RISKWATCH_STORAGE": "UseDevelopmentStorage=true"}


def test_the_policy_is_off_by_default_and_plan_and_enforce_are_taken() -> None:
    assert load_settings(BASE).response.mode == "off"
    for mode in ("plan", "Enforce"):
        assert load_settings({**BASE, "RISKWATCH_RESPONSE_MODE": mode}).response.mode == (
            mode.lower())


@pytest.mark.parametrize("mode", ["plan", "enforce"])
def test_a_policy_with_notify_alerts_is_refused_naming_both(mode: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({**BASE, "RISKWATCH_RESPONSE_MODE": mode, "RISKWATCH_NOTIFY": "alerts"})
    (problem,) = refused.value.problems
    assert problem.startswith("RISKWATCH_RESPONSE_MODE: ") and "RISKWATCH_NOTIFY=alerts" in problem
    assert "evidence" in problem
    # Off, alerts are fine; and a policy with the default incidents is fine.
    assert load_settings({**BASE, "RISKWATCH_NOTIFY": "alerts"}).response.mode == "off"
    assert load_settings({**BASE, "RISKWATCH_RESPONSE_MODE": mode}).notify == "incidents"


@pytest.mark.parametrize("value", ["on", "enforce!"])
def test_an_unknown_mode_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(SettingsError, match="RISKWATCH_RESPONSE_MODE"):
        load_settings({**BASE, "RISKWATCH_RESPONSE_MODE": value})


def test_exclusions_are_a_comma_list_without_spaces() -> None:
    settings = load_settings({**BASE, "RISKWATCH_RESPONSE_EXCLUDE":
                              " BreakGlass@contoso.com,6f1d3c2a-0b7e-4d1a-9c3e-2a4b6c8d0e1f,"})
    assert settings.response.exclusions.names == frozenset({
        "breakglass@contoso.com", "6f1d3c2a-0b7e-4d1a-9c3e-2a4b6c8d0e1f"})
    with pytest.raises(SettingsError, match="RISKWATCH_RESPONSE_EXCLUDE"):
        load_settings({**BASE, "RISKWATCH_RESPONSE_EXCLUDE": "break glass@contoso.com"})
