"""Builds the configured sinks from settings values: a URL, a secret, a minimum severity each.

Error messages name the setting, never its value: the URLs are secrets.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from detections.model import Severity
from service.delivery.base import Sink
from service.delivery.http import Poster, RetryPolicy
from service.delivery.posting import PostingSink
from service.delivery.render import DEFAULT_PORTAL_URL
from service.delivery.slack import SlackSink
from service.delivery.teams import TeamsSink
from service.delivery.webhook import WebhookSink
from service.netutil import is_loopback_host

KEY_VAULT_MARKER = "@Microsoft.KeyVault("


def check_webhook_url(url: str, setting: str) -> str:
    """``url`` if usable: https, or http on loopback (tests). Raises ValueError otherwise."""
    text = url.strip()
    if text.startswith(KEY_VAULT_MARKER):
        raise ValueError(f"{setting} is an unresolved Key Vault reference")
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:
        raise ValueError(f"{setting} is not a valid URL") from None
    if not host:
        raise ValueError(f"{setting} is not a valid URL")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host)):
        return text
    raise ValueError(f"{setting} must be an https URL (http is allowed only for loopback)")


def _severity(value: Severity | str, setting: str) -> Severity:
    if isinstance(value, Severity):
        return value
    try:
        return Severity.parse(value)
    except ValueError:
        names = ", ".join(s.value for s in Severity)
        raise ValueError(f"{setting} must be one of {names}") from None


def build_sinks(
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_min_severity: Severity | str = Severity.MEDIUM,
    teams_url: str | None = None,
    teams_min_severity: Severity | str = Severity.MEDIUM,
    slack_url: str | None = None,
    slack_min_severity: Severity | str = Severity.MEDIUM,
    portal_url: str = DEFAULT_PORTAL_URL,
    policy: RetryPolicy | None = None,
    session: requests.Session | None = None,
) -> list[Sink]:
    """Every sink whose URL is set, in the order webhook, Teams, Slack."""
    sinks: list[Sink] = []
    # (sink, name, URL, its setting, minimum severity, its setting): names spelled out, so
    # the infra tests find every setting the code reads.
    wanted: list[tuple[type[PostingSink], str, str | None, str, Severity | str, str]] = [
        (WebhookSink, "webhook", webhook_url, "RISKWATCH_WEBHOOK_URL",
         webhook_min_severity, "RISKWATCH_WEBHOOK_MIN_SEVERITY"),
        (TeamsSink, "teams", teams_url, "RISKWATCH_TEAMS_WEBHOOK_URL",
         teams_min_severity, "RISKWATCH_TEAMS_MIN_SEVERITY"),
        (SlackSink, "slack", slack_url, "RISKWATCH_SLACK_WEBHOOK_URL",
         slack_min_severity, "RISKWATCH_SLACK_MIN_SEVERITY"),
    ]  # fmt: skip
    for kind, name, url, url_setting, severity, severity_setting in wanted:
        if not url:
            continue
        options: dict[str, Any] = {"secret": webhook_secret} if kind is WebhookSink else {}
        sinks.append(
            kind(
                check_webhook_url(url, url_setting),
                min_severity=_severity(severity, severity_setting),
                poster=Poster(name, policy, session=session),
                portal_url=portal_url,
                **options,
            )
        )
    return sinks
