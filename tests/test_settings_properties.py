"""Property tests: any string for any setting gives a Settings or one SettingsError naming it.

Never another exception, never a secret in the message, and a threshold is accepted exactly
when it is a whole number inside its documented range.
"""

from __future__ import annotations

import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from detections.registry import load_rules
from service.settings import (
    Settings,
    SettingsError,
    load_detection_settings,
    load_settings,
    load_storage_settings,
)
from service.settings.names import APP_SETTINGS, storage_settings, threshold_name

RULES = load_rules()
BASE = {"RISKWATCH_STORAGE": "UseDevelopmentStorage=true"}
THRESHOLDS = [(rule, param) for rule in RULES for param in rule.params]
THRESHOLD_NAMES = [threshold_name(rule, param.name) for rule, param in THRESHOLDS]
OTHER_NAMES = ["AZURE_CLIENT_ID", "AzureWebJobsStorage", "AzureWebJobsStorage__accountName"]
EVERY_NAME = sorted({*APP_SETTINGS, *storage_settings(), *THRESHOLD_NAMES, *OTHER_NAMES})
SECRET_NAMES = ["RISKWATCH_WEBHOOK_URL", "RISKWATCH_TEAMS_WEBHOOK_URL",
                "RISKWATCH_SLACK_WEBHOOK_URL", "RISKWATCH_WEBHOOK_SECRET", "RISKWATCH_STORAGE",
                "RISKWATCH_EXPORT_STORAGE"]

# Any unicode, surrogates and control characters included, plus text near the real shapes.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=60)
SHAPED = st.one_of(
    ANY_TEXT,
    st.integers(-(10**25), 10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e400", " ", "\t", "0", "-1", "1_0", "\u0661",
                     "https://a:99999/x", "https://a:abc/x", "https://a/\n", "*/0 * * * * *",
                     "@Microsoft.KeyVault(SecretUri=https://x.vault.azure.net/secrets/y",
                     "AccountName=a;AccountKey=%%", "abc,-1", "Mon-Sun", "08:00-18:00"]),
    st.lists(st.sampled_from(["0", "*", "*/5", "1-3", "59", "60", "Mon", ",", "/", "-"]),
             min_size=1, max_size=8).map(" ".join),
)


def _load(env: dict[str, str]) -> Settings | SettingsError:
    try:
        return load_settings(env, rules=RULES)
    except SettingsError as exc:
        return exc


@settings(max_examples=400)
@given(st.sampled_from(EVERY_NAME), SHAPED)
@example("RISKWATCH_LOOKBACK_HOURS", "nan")
@example("RISKWATCH_RUN_BUDGET_SECONDS", "inf")
@example("RISKWATCH_BRUTE_FORCE_WINDOW_MINUTES", "99999999999999")
@example("RISKWATCH_WEBHOOK_URL", "https://a:99999/x")
@example("RISKWATCH_BUSINESS_TIMEZONE", "a" * 300)
@example("RISKWATCH_BUSINESS_HOURS", "08:00+05:00-18:00+05:00")
def test_any_value_of_any_setting_is_a_settings_or_one_error_naming_it(
    name: str, value: str
) -> None:
    result = _load({**BASE, name: value})
    if isinstance(result, SettingsError):
        named = [p.split(": ", 1)[0] for p in result.problems]
        if name in INTERDEPENDENT:  # alone, it may be its missing partner that is named
            assert named and all(n in (name, *BASE, *INTERDEPENDENT) for n in named), named
            return
        assert name in named, result.problems
        assert all(n in (name, *BASE) for n in named), named


@given(st.sampled_from(THRESHOLD_NAMES), SHAPED)
def test_scan_settings_behave_the_same_way(name: str, value: str) -> None:
    full = _load({**BASE, name: value})
    try:
        load_detection_settings({name: value}, rules=RULES)
    except SettingsError as exc:
        assert isinstance(full, SettingsError)
        assert exc.problems == full.problems
    else:
        assert isinstance(full, Settings)


# Text thresholds (comma lists of ids) take any text: only numbers have a range to test.
NUMERIC = [(r, p) for r, p in THRESHOLDS if p.int_list or not isinstance(p.default, str)]


@given(st.sampled_from(NUMERIC), st.integers(-(10**12), 10**12))
def test_a_threshold_is_accepted_exactly_inside_its_range(pair: tuple, number: int) -> None:
    rule, param = pair
    name = threshold_name(rule, param.name)
    text = str(number)
    result = _load({**BASE, name: text})
    if param.int_list:
        inside = 1 <= number <= 4294967295
    else:
        assert param.minimum is not None and param.maximum is not None
        inside = param.minimum <= number <= param.maximum
    assert isinstance(result, Settings) is inside, (name, number)
    if inside:
        assert isinstance(result, Settings)
        assert result.rule_params[rule.id][param.name] in (number, text)


# Valid or not depending on another setting: the state storage falls back to the host's,
# RISKWATCH_GRAPH_AUTH=none depends on the Graph URL, and the Event Hubs path needs both a hub
# and a namespace (or connection string), so either alone names the other.
INTERDEPENDENT = {"RISKWATCH_STORAGE", "RISKWATCH_GRAPH_AUTH", "RISKWATCH_GRAPH_BASE_URL",
                  *(n for n in OTHER_NAMES if n.startswith("AzureWebJobsStorage")),
                  *(n for n in EVERY_NAME if n.startswith("RISKWATCH_EVENTHUB"))}


@given(st.dictionaries(st.sampled_from(EVERY_NAME), SHAPED, max_size=8))
@example({"AZURE_CLIENT_ID": "", "AzureWebJobsStorage": "", "RISKWATCH_STORAGE": "",
          "AzureWebJobsStorage__accountName": "0"})
def test_many_bad_settings_are_listed_together(env: dict[str, str]) -> None:
    result = _load({**BASE, **env})
    named = ({p.split(": ", 1)[0] for p in result.problems}
             if isinstance(result, SettingsError) else set())
    # An interdependent setting may be refused by naming its missing partner.
    partners = INTERDEPENDENT if INTERDEPENDENT & set(env) else set()
    assert named <= {*env, *BASE, *partners}
    # Every setting that is refused on its own is also named when others are wrong too.
    for name, value in env.items():
        if name in INTERDEPENDENT:
            continue
        if isinstance(_load({**BASE, name: value}), SettingsError):
            assert name in named, (name, named)


SECRET = st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=24)
WRAPPERS = st.sampled_from([
    "http://example.com/hook?sig={}", "https://example.com:99999/?sig={}",
    "https://example.com:abc/{}", "https://exa mple.com/{}", "https://example.com/{}\n",
    "@Microsoft.KeyVault(SecretUri=https://x.vault.azure.net/secrets/{}",
    "@microsoft.keyvault({})", "https://x.vault.azure.net/secrets/{}", "ftp://{}",
    "AccountName=x;AccountKey={}!", "AccountName=x;{}", "{}", " {} ", "{}\x00",
])


@given(st.sampled_from(SECRET_NAMES), SECRET, WRAPPERS, ANY_TEXT)
def test_a_secret_value_never_reaches_the_message(
    name: str, secret: str, wrapper: str, junk: str
) -> None:
    env = {**BASE, "RISKWATCH_WEBHOOK_URL": "https://alerts.example.com/hook",
           name: wrapper.format(secret) + junk}
    result = _load(env)
    text = str(result) if isinstance(result, SettingsError) else repr(result)
    assert secret not in text


@given(st.sampled_from(["RISKWATCH_STORAGE", "RISKWATCH_STORAGE__accountName",
                        "RISKWATCH_STORAGE__clientId", "RISKWATCH_TABLE_PREFIX"]), SHAPED)
def test_the_event_grid_storage_settings_never_crash(name: str, value: str) -> None:
    env = {"RISKWATCH_STORAGE__accountName": "stdemo", name: value}
    try:
        load_storage_settings(env)
    except SettingsError as exc:
        assert all(p.split(": ", 1)[0].startswith("RISKWATCH_STORAGE") or
                   p.startswith("RISKWATCH_TABLE_PREFIX") for p in exc.problems)
