"""Building the configured sinks from settings values."""

from __future__ import annotations

import pytest

from detections.model import Severity
from service.delivery.factory import build_sinks, check_webhook_url
from service.delivery.slack import SlackSink
from service.delivery.teams import TeamsSink
from service.delivery.webhook import WebhookSink

SECRET_URL = "https://prod-01.westeurope.logic.azure.com/workflows/abc?sig=TOPSECRET"


def test_builds_only_configured_sinks_with_their_own_severity() -> None:
    sinks = build_sinks(
        webhook_url="http://127.0.0.1:8080/hook",
        webhook_secret="k",
        webhook_min_severity="low",
        slack_url="https://hooks.slack.com/services/T/B/X",
        slack_min_severity="HIGH",
    )
    assert [type(s) for s in sinks] == [WebhookSink, SlackSink]
    assert [s.min_severity for s in sinks] == [Severity.LOW, Severity.HIGH]
    assert build_sinks() == []
    (teams,) = build_sinks(teams_url=SECRET_URL)
    assert isinstance(teams, TeamsSink) and teams.min_severity is Severity.MEDIUM
    assert "TOPSECRET" not in repr(teams)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x?sig=TOPSECRET", "must be an https URL"),
        ("@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)", "Key Vault"),
        ("not a url TOPSECRET", "not a valid URL"),
        ("ftp://TOPSECRET.example/x", "must be an https URL"),
    ],
)
def test_bad_urls_are_named_by_setting_never_shown(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        check_webhook_url(url, "RISKWATCH_TEAMS_WEBHOOK_URL")
    assert "RISKWATCH_TEAMS_WEBHOOK_URL" in str(info.value)
    assert "TOPSECRET" not in str(info.value)


def test_loopback_http_is_allowed_for_tests() -> None:
    assert check_webhook_url("http://localhost:1/x", "S") == "http://localhost:1/x"
    assert check_webhook_url("http://[::1]:1/x", "S") == "http://[::1]:1/x"


def test_bad_severity_names_the_setting() -> None:
    with pytest.raises(ValueError, match="RISKWATCH_SLACK_MIN_SEVERITY must be one of"):
        build_sinks(slack_url="https://hooks.slack.com/x", slack_min_severity="urgent")
