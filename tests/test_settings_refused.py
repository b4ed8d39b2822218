"""A harness of bad settings: each is refused with one SettingsError naming it, never a crash.

Measured on the code before the hardening: of these 95 cases, 7 crashed load_settings with a
traceback (nan/inf/huge floats into timedelta), 59 were silently accepted (to crash or misbehave
later: in a rule, a sink or the Functions host) and 29 were refused. Every case must now be
refused by the setting's name. Thresholds are refused
the same way by ``load_detection_settings`` (what ``riskwatch scan`` uses).
"""

from __future__ import annotations

import pytest

from service.settings import SettingsError, load_detection_settings, load_settings

BASE = {"RISKWATCH_STORAGE": "UseDevelopmentStorage=true"}
KV = "@Microsoft.KeyVault(SecretUri=https://x.vault.azure.net/secrets/y"

# (setting, value): each value is wrong for that setting and must be refused by name.
THRESHOLDS = [
    ("RISKWATCH_BRUTE_FORCE_MIN_FAILURES", "0"),
    ("RISKWATCH_BRUTE_FORCE_MIN_FAILURES", "-5"),
    ("RISKWATCH_BRUTE_FORCE_MIN_FAILURES", "ten"),
    ("RISKWATCH_BRUTE_FORCE_MIN_FAILURES", "10.5"),
    ("RISKWATCH_BRUTE_FORCE_MIN_FAILURES", "1_0"),
    ("RISKWATCH_BRUTE_FORCE_MIN_FAILURES", "\u0661\u0660"),  # Arabic-Indic digits
    ("RISKWATCH_BRUTE_FORCE_WINDOW_MINUTES", "-10"),
    ("RISKWATCH_BRUTE_FORCE_WINDOW_MINUTES", "0"),
    ("RISKWATCH_BRUTE_FORCE_WINDOW_MINUTES", "99999999999999"),
    ("RISKWATCH_IMPOSSIBLE_TRAVEL_MIN_SPEED_KMH", "-1"),
    ("RISKWATCH_IMPOSSIBLE_TRAVEL_MIN_SPEED_KMH", "nan"),
    ("RISKWATCH_IMPOSSIBLE_TRAVEL_MIN_DISTANCE_KM", "0"),
    ("RISKWATCH_IMPOSSIBLE_TRAVEL_MIN_DISTANCE_KM", "100000"),
    ("RISKWATCH_UNFAMILIAR_COUNTRY_BASELINE_DAYS", "10000000000"),
    ("RISKWATCH_UNFAMILIAR_COUNTRY_MIN_HISTORY_DAYS", "-1"),
    ("RISKWATCH_PASSWORD_SPRAY_MIN_USERS", "1"),
    ("RISKWATCH_PASSWORD_SPRAY_DISTRIBUTED_MIN_IPS", "0"),
    ("RISKWATCH_SUCCESS_AFTER_FAILURES_WINDOW_MINUTES", "-1"),
    ("RISKWATCH_MFA_FATIGUE_MIN_DENIALS", "0"),
    ("RISKWATCH_ACCOUNT_LOCKOUTS_MIN_LOCKOUTS", "99999999999999999999"),
    ("RISKWATCH_ACCOUNT_LOCKOUTS_IGNORE_ASNS", "abc,-1"),
    ("RISKWATCH_ACCOUNT_LOCKOUTS_IGNORE_ASNS", "8075;8068"),
    ("RISKWATCH_SESSION_MULTIPLE_IPS_IGNORE_ASNS", "99999999999"),
    ("RISKWATCH_SESSION_MULTIPLE_IPS_IGNORE_ASNS", "AS8075"),
    ("RISKWATCH_SESSION_MULTIPLE_IPS_WINDOW_MINUTES", "1e3"),
]
MISSPELT = [
    ("RISKWATCH_BRUTE_FORCE_MIN_FAILUERS", "5"),
    ("RISKWATCH_BRUTEFORCE_MIN_FAILURES", "5"),
    ("RISKWATCH_LOOKBACK_HOUR", "4"),
    ("RISKWATCH_SCHEDUEL", "0 */5 * * * *"),
    ("RISKWATCH_TEAMS_URL", "https://example.com/hook"),
]
NUMBERS = [
    ("RISKWATCH_LOOKBACK_HOURS", "nan"),
    ("RISKWATCH_LOOKBACK_HOURS", "inf"),
    ("RISKWATCH_LOOKBACK_HOURS", "-inf"),
    ("RISKWATCH_LOOKBACK_HOURS", "1e400"),
    ("RISKWATCH_LOOKBACK_HOURS", "-1"),
    ("RISKWATCH_RUN_BUDGET_SECONDS", "nan"),
    ("RISKWATCH_RUN_BUDGET_SECONDS", "inf"),
    ("RISKWATCH_RUN_BUDGET_SECONDS", "5"),
    ("RISKWATCH_DELIVERY_RETRY_HOURS", "nan"),
    ("RISKWATCH_DELIVERY_RETRY_HOURS", "0"),
    ("RISKWATCH_DELIVERY_RETRY_HOURS", "1000"),
    ("RISKWATCH_MAX_ALERTS_PER_RUN", "0"),
    ("RISKWATCH_MAX_ALERTS_PER_RUN", "99999999999999999999"),
    ("RISKWATCH_MAX_ALERTS_PER_RUN", "1e3"),
]
SCHEDULES = [
    ("RISKWATCH_SCHEDULE", "99 99 99 99 99 99"),
    ("RISKWATCH_SCHEDULE", "0 */0 * * * *"),
    ("RISKWATCH_SCHEDULE", "*/5 * * * *"),
    ("RISKWATCH_SCHEDULE", "0 */5 * * * * *"),
    ("RISKWATCH_SCHEDULE", "0 5-1 * * * *"),
    ("RISKWATCH_SCHEDULE", "0 0 24 * * *"),
    ("RISKWATCH_SCHEDULE", "0 0 0 0 * *"),
    ("RISKWATCH_SCHEDULE", "0 0 0 * 13 *"),
    ("RISKWATCH_SCHEDULE", "0 0 0 * * 7"),
    ("RISKWATCH_SCHEDULE", "0 ,, * * * *"),
    ("RISKWATCH_SCHEDULE", "0 -5 * * * *"),
    ("RISKWATCH_SCHEDULE", "0 */5/2 * * * *"),
    ("RISKWATCH_SCHEDULE", "0 0 0 * Foo *"),
    ("RISKWATCH_SCHEDULE", "0 0 0 * * */99999999999"),
]
PLACES = [
    ("RISKWATCH_STORAGE__accountName", "My_Account"),
    ("RISKWATCH_STORAGE__accountName", "ab"),
    ("RISKWATCH_STORAGE__accountName", "a" * 25),
    ("RISKWATCH_EXPORT_STORAGE__accountName", "Export-Account"),
    ("RISKWATCH_STORAGE__clientId", "not-a-guid"),
    ("RISKWATCH_STORAGE__credential", "clientsecret"),
    ("RISKWATCH_STORAGE__tableServiceUri", "https://st.table.core.windows.net:99999"),
    ("RISKWATCH_TABLE_PREFIX", "   "),
    ("RISKWATCH_TABLE_PREFIX", "risk-watch"),
    ("RISKWATCH_TABLE_PREFIX", "1risk"),
    ("RISKWATCH_WEBHOOK_URL", "https://alerts.example.com:99999/hook"),
    ("RISKWATCH_WEBHOOK_URL", "https://alerts.example.com:abc/hook"),
    ("RISKWATCH_WEBHOOK_URL", "https://alerts.example.com:0/hook"),
    ("RISKWATCH_WEBHOOK_URL", "https://alerts.example.com/ho\nok"),
    ("RISKWATCH_WEBHOOK_URL", "https://alerts.exa mple.com/hook"),
    ("RISKWATCH_WEBHOOK_URL", "https://[::1/hook"),
    ("RISKWATCH_WEBHOOK_URL", "http://alerts.example.com/hook"),
    ("RISKWATCH_TEAMS_WEBHOOK_URL", "https://x.logic.azure.com/wf\x00?sig=1"),
    ("RISKWATCH_SLACK_WEBHOOK_URL", "https://hooks.slack.com\t/services/T/B/X"),
    ("RISKWATCH_GRAPH_BASE_URL", "https://graph.microsoft.com:65536"),
    ("RISKWATCH_PORTAL_URL", "https://entra.microsoft.com\r\nX-Injected: 1"),
    ("RISKWATCH_WEBHOOK_SECRET", KV),
    ("RISKWATCH_WEBHOOK_SECRET", KV + ")"),
    ("RISKWATCH_WEBHOOK_SECRET", "@Microsoft.KeyVault SecretUri=https://x.vault.azure.net/secrets/y"),
    ("RISKWATCH_WEBHOOK_SECRET", "@microsoft.keyvault(SecretUri=https://x.vault.azure.net/secrets/y)"),
    ("RISKWATCH_WEBHOOK_SECRET", "Microsoft.KeyVault(VaultName=x;SecretName=y)"),
    ("RISKWATCH_WEBHOOK_SECRET", "@Microsoft.KeyVault[SecretUri=https://x.vault.azure.net/secrets/y]"),
    ("RISKWATCH_WEBHOOK_SECRET", "   "),
    ("RISKWATCH_SLACK_MIN_SEVERITY", "urgent"),
    ("RISKWATCH_FEEDS", ",,,"),
    ("RISKWATCH_DISABLED_RULES", "brute_forse"),
    ("RISKWATCH_GRAPH_AUTH", "msi"),
    ("RISKWATCH_BUSINESS_TIMEZONE", "Mars/Olympus"),
    ("RISKWATCH_BUSINESS_TIMEZONE", "a" * 300),
    ("RISKWATCH_BUSINESS_HOURS", "08:00+05:00-18:00+05:00"),
    ("RISKWATCH_BUSINESS_HOURS", "25:00-26:00"),
    ("RISKWATCH_BUSINESS_DAYS", "Fri-Mon"),
]
CASES = THRESHOLDS + MISSPELT + NUMBERS + SCHEDULES + PLACES
SECRET_SETTINGS = ("URL", "SECRET")  # webhook URLs and the HMAC key: never shown


def _named(problems: list[str], setting: str) -> bool:
    return any(p.split(":", 1)[0] == setting for p in problems)


@pytest.mark.parametrize(("setting", "value"), CASES, ids=[f"{s}={v[:30]!r}" for s, v in CASES])
def test_a_bad_setting_is_refused_by_name(setting: str, value: str) -> None:
    env = {**BASE, setting: value}
    if setting == "RISKWATCH_WEBHOOK_SECRET":
        env["RISKWATCH_WEBHOOK_URL"] = "https://alerts.example.com/hook"
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert _named(caught.value.problems, setting), caught.value.problems
    if setting.endswith(SECRET_SETTINGS) and "GRAPH" not in setting and value.strip():
        assert value not in str(caught.value)


SCAN_CASES = THRESHOLDS + MISSPELT[:2]


@pytest.mark.parametrize(("setting", "value"), SCAN_CASES, ids=[f"{s}={v}" for s, v in SCAN_CASES])
def test_scan_refuses_a_bad_threshold_the_same_way(setting: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_detection_settings({setting: value})
    assert _named(caught.value.problems, setting), caught.value.problems


def test_the_case_count_is_the_documented_one() -> None:
    assert len(CASES) == 95
