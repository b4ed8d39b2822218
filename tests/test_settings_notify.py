"""RISKWATCH_NOTIFY and RISKWATCH_INCIDENT_QUIET_DAYS: defaults, ranges, named errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.settings import SettingsError, load_settings

BASE = {"RISKWATCH_STORAGE": "UseDevelopmentStorage=true"}


def test_the_defaults_notify_incidents_closed_after_seven_quiet_days() -> None:
    settings = load_settings(BASE)
    assert settings.notify == "incidents" and settings.incident_quiet == timedelta(days=7)


def test_alerts_and_a_quiet_period_in_range_are_taken() -> None:
    settings = load_settings({**BASE, "RISKWATCH_NOTIFY": "Alerts",
                              "RISKWATCH_INCIDENT_QUIET_DAYS": "90"})
    assert settings.notify == "alerts" and settings.incident_quiet == timedelta(days=90)


@pytest.mark.parametrize(("name", "value"), [
    ("RISKWATCH_NOTIFY", "both"), ("RISKWATCH_NOTIFY", "incident"),
    ("RISKWATCH_INCIDENT_QUIET_DAYS", "0"), ("RISKWATCH_INCIDENT_QUIET_DAYS", "91"),
    ("RISKWATCH_INCIDENT_QUIET_DAYS", "seven"),
])
def test_a_bad_value_is_refused_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**BASE, name: value})
