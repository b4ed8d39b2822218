"""App settings, read once from the environment into one frozen object.

``load_settings()`` lists every missing or invalid setting in one ``SettingsError``.
Webhook URLs, the HMAC key and storage connection strings are ``Secret``s: their
repr and str never show the value, so a logged ``Settings`` leaks nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Literal, cast
from urllib.parse import urlsplit

from detections.enrich import BusinessHours
from detections.model import Severity
from detections.registry import load_rules
from detections.rule import ParamValue, Rule
from service.ingest.graph.feeds import DEFAULT_FEEDS, FEEDS
from service.netutil import is_loopback_host
from service.settings.cron import ncrontab_problem
from service.settings.detection import (
    INCIDENT_QUIET_DAYS_RANGE,
    DetectionSettings,
    business_hours,
    disabled,
    incident_quiet,
    load_detection_settings,
    rule_params,
)
from service.settings.eventhub import EventHubSettings, eventhub_setting
from service.settings.evidence import EvidenceSettings, evidence_setting
from service.settings.names import unknown_setting_problems
from service.settings.parsing import Reader, Secret, SettingsError
from service.settings.response import ResponseSettings, notify_problem, response_setting
from service.settings.review import review_at
from service.settings.storage import StorageSettings, client_id_setting, storage_setting

__all__ = [
    "INCIDENT_QUIET_DAYS_RANGE",
    "DetectionSettings",
    "Secret",
    "Settings",
    "SettingsError",
    "StorageSettings",
    "load_detection_settings",
    "load_settings",
    "load_storage_settings",
]

GraphAuth = Literal["managedidentity", "cli", "none"]
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,39}$")
# Ranges of the app's own numbers (the thresholds' ranges are on each rule's Param).
MAX_ALERTS_RANGE = (1, 100_000)
LOOKBACK_HOURS_RANGE = (0.0, 720.0)
RUN_BUDGET_SECONDS_RANGE = (10.0, 3600.0)
DELIVERY_RETRY_HOURS_RANGE = (1.0, 168.0)
Notify = Literal["incidents", "alerts"]
NOTIFY_CHOICES: tuple[Notify, ...] = ("incidents", "alerts")


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkSettings:
    name: Literal["webhook", "teams", "slack"]
    url: Secret
    min_severity: Severity
    secret: Secret | None = None  # HMAC key (generic webhook only)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    storage: StorageSettings
    export_storage: StorageSettings | None
    table_prefix: str
    sinks: tuple[SinkSettings, ...]
    max_alerts_per_run: int
    schedule: str
    graph_base_url: str
    graph_auth: GraphAuth
    azure_client_id: str | None
    feeds: tuple[str, ...]
    lookback: timedelta
    run_budget: timedelta
    disabled_rules: frozenset[str]
    rule_params: Mapping[str, Mapping[str, ParamValue]]
    business_hours: BusinessHours
    portal_url: str
    # How long an undelivered notification keeps being retried (across runs) before it
    # is dead-lettered: a time budget, not an attempt count.
    delivery_retry_budget: timedelta = timedelta(hours=24)
    # What the sinks receive: one notification per incident revision, or every alert.
    notify: Notify = "incidents"
    incident_quiet: timedelta = timedelta(days=7)  # an incident closes after this long quiet
    eventhub: EventHubSettings | None = None  # the optional Event Hubs path (None: off)
    # When the weekly review runs: (weekday, local time) in the business time zone.
    review_at: tuple[int, time] = (0, time(7, 0))
    # A folder of Sigma rules run beside the built-in ones (relative: from the deployed code).
    sigma_rules: str | None = None
    # The response policy (RISKWATCH_RESPONSE_MODE, _EXCLUDE): off unless asked for.
    response: ResponseSettings = field(default_factory=ResponseSettings)
    # Which incidents get an evidence bundle, and its container (RISKWATCH_EVIDENCE_*).
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)

    def sink(self, name: str) -> SinkSettings | None:
        return next((s for s in self.sinks if s.name == name), None)


def load_settings(
    env: Mapping[str, str] | None = None, rules: Sequence[Rule] | None = None
) -> Settings:
    """Parse every setting; raise one ``SettingsError`` listing all problems."""
    read = Reader(os.environ if env is None else env)
    all_rules = tuple(rules) if rules is not None else load_rules()
    storage = _state_storage(read)
    if storage is None:
        read.problems.append(
            "RISKWATCH_STORAGE: missing (set it, RISKWATCH_STORAGE__accountName, or "
            "AzureWebJobsStorage)"
        )
    graph_base = read.url("RISKWATCH_GRAPH_BASE_URL", secret=False,
                          default="https://graph.microsoft.com") or "https://graph.microsoft.com"
    settings = Settings(
        storage=storage or StorageSettings(setting="RISKWATCH_STORAGE"),
        export_storage=storage_setting(read, "RISKWATCH_EXPORT_STORAGE"),
        table_prefix=_prefix(read),
        sinks=_sinks(read),
        max_alerts_per_run=read.integer("RISKWATCH_MAX_ALERTS_PER_RUN", 1000, *MAX_ALERTS_RANGE),
        schedule=_schedule(read),
        graph_base_url=graph_base.rstrip("/"),
        graph_auth=_graph_auth(read, graph_base),
        azure_client_id=client_id_setting(read, "AZURE_CLIENT_ID"),
        feeds=read.choices("RISKWATCH_FEEDS", DEFAULT_FEEDS, tuple(FEEDS)),
        lookback=timedelta(hours=read.real("RISKWATCH_LOOKBACK_HOURS", 48.0,
                                           *LOOKBACK_HOURS_RANGE)),
        run_budget=timedelta(
            seconds=read.real("RISKWATCH_RUN_BUDGET_SECONDS", 480.0, *RUN_BUDGET_SECONDS_RANGE)
        ),
        disabled_rules=disabled(read, all_rules),
        rule_params=rule_params(read, all_rules),
        business_hours=business_hours(read),
        portal_url=(
            read.url("RISKWATCH_PORTAL_URL", secret=False, default="https://entra.microsoft.com")
            or "https://entra.microsoft.com"
        ).rstrip("/"),
        delivery_retry_budget=timedelta(
            hours=read.real("RISKWATCH_DELIVERY_RETRY_HOURS", 24.0, *DELIVERY_RETRY_HOURS_RANGE)
        ),
        notify=_notify(read),
        incident_quiet=incident_quiet(read),
        review_at=review_at(read),
        response=response_setting(read),
        evidence=evidence_setting(read),
        eventhub=eventhub_setting(read),
        sigma_rules=read.raw("RISKWATCH_SIGMA_RULES"),
    )
    notify_problem(read, settings.response, settings.notify)
    read.problems += unknown_setting_problems(read.env, all_rules)
    if read.problems:
        raise SettingsError(read.problems)
    return settings


def load_storage_settings(env: Mapping[str, str] | None = None) -> tuple[StorageSettings, str]:
    """The state account and table prefix only: what the Event Grid handlers need."""
    read = Reader(os.environ if env is None else env)
    storage = _state_storage(read)
    prefix = _prefix(read)
    if storage is None:
        read.problems.append("RISKWATCH_STORAGE: missing (set it, or AzureWebJobsStorage)")
    if read.problems or storage is None:
        raise SettingsError(read.problems)
    return storage, prefix


def _state_storage(read: Reader) -> StorageSettings | None:
    """RISKWATCH_STORAGE, else the Functions host's own storage."""
    return storage_setting(read, "RISKWATCH_STORAGE") or storage_setting(
        read, "AzureWebJobsStorage"
    )


def _prefix(read: Reader) -> str:
    prefix = read.text("RISKWATCH_TABLE_PREFIX", "riskwatch")
    if not _PREFIX.match(prefix):
        read.problems.append(
            "RISKWATCH_TABLE_PREFIX: letters and digits only, starting with a letter, at most 40"
        )
    return prefix


def _sinks(read: Reader) -> tuple[SinkSettings, ...]:
    sinks: list[SinkSettings] = []
    hmac_key = read.raw("RISKWATCH_WEBHOOK_SECRET")  # read even unused: a bad reference shows
    names: tuple[Literal["webhook", "teams", "slack"], ...] = ("webhook", "teams", "slack")
    for name in names:
        setting = f"RISKWATCH_{name.upper()}"
        url = read.url(f"{setting}_WEBHOOK_URL" if name != "webhook" else f"{setting}_URL",
                       secret=True)
        severity = read.severity(f"{setting}_MIN_SEVERITY", Severity.MEDIUM)
        if url is None:
            continue
        sinks.append(
            SinkSettings(
                name=name,
                url=Secret(url),
                min_severity=severity,
                secret=Secret(hmac_key) if hmac_key and name == "webhook" else None,
            )
        )
    return tuple(sinks)


def _notify(read: Reader) -> Notify:
    value = read.text("RISKWATCH_NOTIFY", "incidents").strip().lower()
    for choice in NOTIFY_CHOICES:
        if value == choice:
            return choice
    read.problem("RISKWATCH_NOTIFY", f"{value[:40]!r} is not one of: {', '.join(NOTIFY_CHOICES)}")
    return "incidents"


def _schedule(read: Reader) -> str:
    schedule = read.text("RISKWATCH_SCHEDULE", "0 */5 * * * *")
    why = ncrontab_problem(schedule)
    if why:
        read.problem("RISKWATCH_SCHEDULE",
                     f"{schedule[:60]!r} is not a valid six-field NCRONTAB expression: {why}")
    return schedule


def _graph_auth(read: Reader, base_url: str) -> GraphAuth:
    auth = read.text("RISKWATCH_GRAPH_AUTH", "managedidentity").lower()
    if auth not in ("managedidentity", "cli", "none"):
        read.problems.append("RISKWATCH_GRAPH_AUTH: must be managedidentity, cli or none")
        return "managedidentity"
    if auth == "none" and not is_loopback_host(_host(base_url)):
        read.problems.append(
            "RISKWATCH_GRAPH_AUTH: 'none' is only allowed for a loopback Graph URL"
        )
    return cast(GraphAuth, auth)


def _host(url: str) -> str | None:
    return urlsplit(url).hostname
