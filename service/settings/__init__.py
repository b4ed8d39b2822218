"""App settings, read once from the environment into one frozen object.

``load_settings()`` lists every missing or invalid setting in one ``SettingsError``.
Webhook URLs, the HMAC key and storage connection strings are ``Secret``s: their
repr and str never show the value, so a logged ``Settings`` leaks nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Literal, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detections.enrich import BusinessHours
from detections.model import Severity
from detections.params import ParamError
from detections.registry import load_rules
from detections.rule import ParamValue, Rule
from service.ingest.graph.feeds import DEFAULT_FEEDS, FEEDS
from service.netutil import is_loopback_host
from service.settings.cron import ncrontab_problem
from service.settings.names import threshold_name, unknown_setting_problems
from service.settings.parsing import (
    Reader,
    Secret,
    SettingsError,
    parse_days,
    parse_hours,
)
from service.settings.storage import StorageSettings, client_id_setting, storage_setting

__all__ = [
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
INCIDENT_QUIET_DAYS_RANGE = (1, 90)
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
        disabled_rules=_disabled(read, all_rules),
        rule_params=_rule_params(read, all_rules),
        business_hours=_business_hours(read),
        portal_url=(
            read.url("RISKWATCH_PORTAL_URL", secret=False, default="https://entra.microsoft.com")
            or "https://entra.microsoft.com"
        ).rstrip("/"),
        delivery_retry_budget=timedelta(
            hours=read.real("RISKWATCH_DELIVERY_RETRY_HOURS", 24.0, *DELIVERY_RETRY_HOURS_RANGE)
        ),
        notify=_notify(read),
        incident_quiet=_incident_quiet(read),
    )
    read.problems += unknown_setting_problems(read.env, all_rules)
    if read.problems:
        raise SettingsError(read.problems)
    return settings


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionSettings:
    """What ``riskwatch scan`` shares with the app, so both raise the same alerts."""

    rule_params: Mapping[str, Mapping[str, ParamValue]]
    disabled_rules: frozenset[str]
    business_hours: BusinessHours
    incident_quiet: timedelta = timedelta(days=7)  # scan's incidents close like the app's


def load_detection_settings(
    env: Mapping[str, str] | None = None, rules: Sequence[Rule] | None = None
) -> DetectionSettings:
    """Thresholds, disabled rules and business hours only: no storage needed."""
    read = Reader(os.environ if env is None else env)
    all_rules = tuple(rules) if rules is not None else load_rules()
    result = DetectionSettings(
        rule_params=_rule_params(read, all_rules),
        disabled_rules=_disabled(read, all_rules),
        business_hours=_business_hours(read),
        incident_quiet=_incident_quiet(read),
    )
    read.problems += unknown_setting_problems(read.env, all_rules)
    if read.problems:
        raise SettingsError(read.problems)
    return result


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


def _incident_quiet(read: Reader) -> timedelta:
    return timedelta(
        days=read.integer("RISKWATCH_INCIDENT_QUIET_DAYS", 7, *INCIDENT_QUIET_DAYS_RANGE)
    )


def _disabled(read: Reader, rules: Sequence[Rule]) -> frozenset[str]:
    return frozenset(read.choices("RISKWATCH_DISABLED_RULES", (), tuple(r.id for r in rules)))


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


def _rule_params(read: Reader, rules: Sequence[Rule]) -> dict[str, dict[str, ParamValue]]:
    """``RISKWATCH_<RULE_ID>_<PARAM>`` for every Param, parsed to its default's type."""
    out: dict[str, dict[str, ParamValue]] = {}
    for rule in rules:
        for param in rule.params:
            name = threshold_name(rule, param.name)
            text = read.raw(name)
            if text is None:
                continue
            try:
                value = param.parse(text)
            except ParamError as exc:  # the default stays; the error stops the start
                valid = param.range_text()
                read.problem(name, str(exc) if valid in str(exc) else f"{exc} (valid: {valid})")
                continue
            out.setdefault(rule.id, {})[param.name] = value
    return out


def _business_hours(read: Reader) -> BusinessHours:
    zone_name = read.text("RISKWATCH_BUSINESS_TIMEZONE", "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a path too long, a folder
        read.problem("RISKWATCH_BUSINESS_TIMEZONE", f"{zone_name[:60]!r} is not an IANA zone")
        zone = ZoneInfo("UTC")
    start, end = time(8), time(18)
    hours = read.text("RISKWATCH_BUSINESS_HOURS", "08:00-18:00")
    try:
        start, end = parse_hours(hours)
    except ValueError as exc:
        read.problems.append(f"RISKWATCH_BUSINESS_HOURS: {hours[:40]!r}: {exc}")
    days = frozenset(range(5))
    text = read.text("RISKWATCH_BUSINESS_DAYS", "Mon-Fri")
    try:
        days = parse_days(text)
    except ValueError as exc:
        read.problems.append(f"RISKWATCH_BUSINESS_DAYS: {exc}")
    return BusinessHours(tz=zone, start=start, end=end, days=days)
