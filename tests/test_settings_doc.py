"""The README's Settings table states the ranges the code checks, and the rule table the
thresholds' (tests/test_readme.py keeps that one generated)."""

from __future__ import annotations

from pathlib import Path

import pytest

from detections.params import span
from detections.registry import load_rules
from service import settings as settings_module
from service.settings.cron import FIELDS
from service.settings.names import APP_SETTINGS, threshold_name

README = Path(__file__).resolve().parent.parent / "README.md"
RANGES = {
    "RISKWATCH_MAX_ALERTS_PER_RUN": settings_module.MAX_ALERTS_RANGE,
    "RISKWATCH_LOOKBACK_HOURS": settings_module.LOOKBACK_HOURS_RANGE,
    "RISKWATCH_RUN_BUDGET_SECONDS": settings_module.RUN_BUDGET_SECONDS_RANGE,
    "RISKWATCH_DELIVERY_RETRY_HOURS": settings_module.DELIVERY_RETRY_HOURS_RANGE,
    "RISKWATCH_INCIDENT_QUIET_DAYS": settings_module.INCIDENT_QUIET_DAYS_RANGE,
}


def _settings_rows() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {row.split("|")[1].split("`")[1]: row for row in rows}


@pytest.mark.parametrize(("name", "bounds"), RANGES.items())
def test_each_number_setting_row_states_the_codes_range(name: str, bounds: tuple) -> None:
    cells = [c.strip() for c in _settings_rows()[name].split("|")]
    assert cells[3].startswith(span(*bounds)), cells


def test_the_schedule_row_states_every_fields_range() -> None:
    row = _settings_rows()["RISKWATCH_SCHEDULE"]
    for field in FIELDS:
        assert f"{field.name} {field.low}-{field.high}" in row


def test_every_app_setting_is_documented_with_a_valid_column() -> None:
    text = "\n".join(_settings_rows().values())
    for name in APP_SETTINGS:
        assert f"`{name}`" in text or f"`_{name.rsplit('_', 1)[1]}`" in text, name
    assert all(len(row.split("|")) == 6 for row in _settings_rows().values())


def test_every_threshold_is_in_the_rule_table_with_its_range() -> None:
    text = README.read_text(encoding="utf-8")
    for rule in load_rules():
        for param in rule.params:
            assert f"`{threshold_name(rule, param.name)}` = {param.default} " \
                   f"({param.range_text()})" in text
