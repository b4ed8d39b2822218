"""The unknown-setting check knows every RISKWATCH_* name in use, and only those.

The names are found by scanning the code, infra/ and azure.yaml (not by importing the
lists), so a setting added anywhere without adding it to service/settings/names.py fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detections.registry import load_rules
from service.settings import SettingsError, load_detection_settings, load_settings
from service.settings.names import (
    DEPLOYMENT_SETTINGS,
    TOOLING_SETTINGS,
    known_settings,
    unknown_setting_problems,
)
from service.settings.parsing import Reader
from tests.test_infra_settings import code_settings

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"\bRISKWATCH_[A-Za-z0-9_]*[A-Za-z0-9]\b")
BASE = {"RISKWATCH_STORAGE": "UseDevelopmentStorage=true"}


def _names_in(paths: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        found.update(NAME.findall(path.read_text(encoding="utf-8")))
    return found


def deployment_names() -> set[str]:
    infra = ROOT / "infra"
    files = [*infra.rglob("*.bicep"), *infra.rglob("*.json"), *infra.rglob("*.sh"),
             *infra.rglob("*.ps1"), ROOT / "azure.yaml"]
    return _names_in([f for f in files if f.is_file()])


def tooling_names() -> set[str]:
    return _names_in([*(ROOT / "tools").rglob("*.py"), *(ROOT / "bench").rglob("*.py")])


def test_every_name_the_code_reads_is_known() -> None:
    known = known_settings(load_rules())
    read = {n for n in code_settings() if n.startswith("RISKWATCH_")}
    assert len(read) >= 30
    assert sorted(read - known) == []


def test_every_name_azd_and_the_tooling_use_is_known() -> None:
    known = known_settings(load_rules())
    names = deployment_names() | tooling_names()
    assert {"RISKWATCH_ALERT_SINKS", "RISKWATCH_EXPORT_STORAGE_ACCOUNT_ID",
            "RISKWATCH_STORAGE_CONNECTION"} <= names
    assert sorted(names - known) == []


def test_the_deployment_and_tooling_lists_hold_nothing_stale() -> None:
    used = deployment_names() | tooling_names()
    assert sorted(set(DEPLOYMENT_SETTINGS + TOOLING_SETTINGS) - used) == []


def test_load_settings_reads_exactly_the_known_app_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from service import settings as settings_module

    rules = load_rules()
    reader = Reader(BASE)
    # Hand the loader our Reader, to see every name it asks the environment for.
    monkeypatch.setattr(settings_module, "Reader", lambda env: reader)
    load_settings(BASE, rules=rules)
    asked = {n for n in reader.seen if n.startswith("RISKWATCH_")}
    assert asked == known_settings(rules) - set(DEPLOYMENT_SETTINGS) - set(TOOLING_SETTINGS)


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("RISKWATCH_BRUTE_FORCE_MIN_FAILUERS", "RISKWATCH_BRUTE_FORCE_MIN_FAILURES"),
        ("RISKWATCH_SCHEDUEL", "RISKWATCH_SCHEDULE"),
        ("RISKWATCH_STORAGE__accountname", "RISKWATCH_STORAGE__accountName"),
        ("riskwatch_lookback_hours", "RISKWATCH_LOOKBACK_HOURS"),
    ],
)
def test_a_misspelt_name_is_refused_with_the_nearest_name(name: str, suggestion: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, name: "5"})
    assert f"{name}: unknown setting, did you mean {suggestion}?" in caught.value.problems[0]
    with pytest.raises(SettingsError):
        load_detection_settings({name: "5"})


def test_a_name_far_from_every_known_one_gets_no_suggestion() -> None:
    problems = unknown_setting_problems({"RISKWATCH_ZZZZZZZZZZ": "1"}, load_rules())
    assert problems == ["RISKWATCH_ZZZZZZZZZZ: unknown setting (README.md: Settings)"]


def test_other_names_and_known_deployment_names_are_left_alone() -> None:
    env = {**BASE, "PATH": "/bin", "AZURE_ENV_NAME": "dev", "RISKWATCH_ALERT_SINKS": "teams",
           "RISKWATCH_IDENTITY_CLIENT_ID": "x", "RISKWATCH_STORAGE_CONNECTION": "y"}
    assert load_settings(env).table_prefix == "riskwatch"
    assert unknown_setting_problems(env, load_rules()) == []
