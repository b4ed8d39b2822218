"""Settings: defaults, every problem in one error, secrets never shown."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from detections.errors import RiskwatchError
from detections.model import Severity
from detections.rule import Param
from detections.rules import signin_risk_detection
from service.settings import Secret, SettingsError, load_settings

CONN = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;"
SECRET_URL = "https://prod-42.westeurope.logic.azure.com/workflows/abc?sig=TOPSECRETSIG"
RULE = dataclasses.replace(
    signin_risk_detection.RULE,
    id="brute_force",
    params=(
        Param(name="min_failures", default=10, description="n"),
        Param(name="ratio", default=0.5, description="r"),
        Param(name="ignore_asns", default="8075", description="a"),
    ),
)


def load(**env):
    return load_settings({"RISKWATCH_STORAGE": CONN, **env}, rules=[RULE])


def test_defaults():
    s = load()
    assert (s.table_prefix, s.max_alerts_per_run, s.schedule) == (
        "riskwatch",
        1000,
        "0 */5 * * * *",
    )
    assert s.lookback == timedelta(hours=48) and s.run_budget == timedelta(seconds=480)
    assert s.feeds == ("riskDetections", "riskyUsers", "signIns", "directoryAudits",
                       "directoryRoles")
    assert (s.graph_base_url, s.graph_auth) == ("https://graph.microsoft.com", "managedidentity")
    assert s.sinks == () and s.rule_params == {} and s.disabled_rules == frozenset()
    assert s.business_hours.days == frozenset(range(5))
    assert s.portal_url == "https://entra.microsoft.com"
    assert s.storage.connection_string.reveal() == CONN


def test_every_problem_is_listed_at_once_without_secret_values():
    env = {
        "RISKWATCH_MAX_ALERTS_PER_RUN": "lots",
        "RISKWATCH_TEAMS_WEBHOOK_URL": "http://example.com/hook?sig=TOPSECRETSIG",
        "RISKWATCH_SLACK_WEBHOOK_URL": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/s/)",
        "RISKWATCH_FEEDS": "signIns,auditLogs",
        "RISKWATCH_GRAPH_AUTH": "none",
        "RISKWATCH_SCHEDULE": "*/5 * * * *",
        "RISKWATCH_BUSINESS_TIMEZONE": "Mars/Olympus",
        "RISKWATCH_BUSINESS_DAYS": "Funday",
        "RISKWATCH_BUSINESS_HOURS": "18:00-08:00",
        "RISKWATCH_DISABLED_RULES": "no_such_rule",
        "RISKWATCH_BRUTE_FORCE_MIN_FAILURES": "ten",
        "RISKWATCH_TABLE_PREFIX": "risk-watch",
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(env, rules=[RULE])
    error = caught.value
    assert isinstance(error, RiskwatchError)
    named = [p.split(":")[0] for p in error.problems]
    assert named == [
        "RISKWATCH_STORAGE",
        "RISKWATCH_TABLE_PREFIX",
        "RISKWATCH_TEAMS_WEBHOOK_URL",
        "RISKWATCH_SLACK_WEBHOOK_URL",
        "RISKWATCH_MAX_ALERTS_PER_RUN",
        "RISKWATCH_SCHEDULE",
        "RISKWATCH_GRAPH_AUTH",
        "RISKWATCH_FEEDS",
        "RISKWATCH_DISABLED_RULES",
        "RISKWATCH_BRUTE_FORCE_MIN_FAILURES",
        "RISKWATCH_BUSINESS_TIMEZONE",
        "RISKWATCH_BUSINESS_HOURS",
        "RISKWATCH_BUSINESS_DAYS",
    ]
    assert "TOPSECRETSIG" not in str(error)
    assert "Key Vault reference" in str(error)


def test_secrets_never_show_in_repr_or_str():
    s = load(
        RISKWATCH_TEAMS_WEBHOOK_URL=SECRET_URL,
        RISKWATCH_WEBHOOK_URL=SECRET_URL,
        RISKWATCH_WEBHOOK_SECRET="hmac-key-123",
    )
    for text in (repr(s), str(s), repr(s.sinks), str(s.sink("webhook"))):
        assert "TOPSECRETSIG" not in text and "hmac-key-123" not in text and "c2VjcmV0" not in text
    assert s.sink("webhook").secret.reveal() == "hmac-key-123"
    assert s.sink("teams").url.reveal() == SECRET_URL
    assert str(Secret("x")) == "Secret('***')"


def test_sinks_severity_and_loopback_http():
    s = load(
        RISKWATCH_WEBHOOK_URL="http://127.0.0.1:8080/hook",
        RISKWATCH_SLACK_WEBHOOK_URL="http://[::1]:9/x",
        RISKWATCH_SLACK_MIN_SEVERITY="High",
    )
    assert [x.name for x in s.sinks] == ["webhook", "slack"]
    assert s.sink("webhook").min_severity is Severity.MEDIUM
    assert s.sink("slack").min_severity is Severity.HIGH
    assert s.sink("webhook").secret is None


def test_rule_params_parse_to_each_params_type():
    s = load(
        RISKWATCH_BRUTE_FORCE_MIN_FAILURES="25",
        RISKWATCH_BRUTE_FORCE_RATIO="0.75",
        RISKWATCH_BRUTE_FORCE_IGNORE_ASNS="1,2",
        RISKWATCH_DISABLED_RULES="brute_force",
    )
    assert s.rule_params == {
        "brute_force": {"min_failures": 25, "ratio": 0.75, "ignore_asns": "1,2"}
    }
    assert s.disabled_rules == frozenset({"brute_force"})


def test_identity_based_storage_and_fallback_to_host_storage():
    s = load_settings(
        {
            "AzureWebJobsStorage__accountName": "stdemo",
            "AzureWebJobsStorage__clientId": "11111111-2222-3333-4444-555555555555",
            "AzureWebJobsStorage__credential": "managedidentity",
            "RISKWATCH_EXPORT_STORAGE__accountName": "stexport",
            "RISKWATCH_GRAPH_BASE_URL": "http://127.0.0.1:9999",
            "RISKWATCH_GRAPH_AUTH": "none",
        },
        rules=[RULE],
    )
    assert (s.storage.setting, s.storage.account_name) == ("AzureWebJobsStorage", "stdemo")
    assert s.storage.client_id.startswith("1111") and s.storage.connection_string is None
    assert s.export_storage.account_name == "stexport"
    assert s.graph_auth == "none"


def test_storage_clients_follow_the_settings():
    from azure.identity import ManagedIdentityCredential

    from service.state.storage import credential, table_endpoint, table_service

    identity = load_settings(
        {"RISKWATCH_STORAGE__accountName": "stdemo",
         "RISKWATCH_STORAGE__clientId": "11111111-2222-3333-4444-555555555555"},
        rules=[RULE],
    ).storage
    assert table_endpoint(identity) == "https://stdemo.table.core.windows.net"
    assert isinstance(credential(identity), ManagedIdentityCredential)
    assert table_service(load().storage).account_name == "devstoreaccount1"
