"""What ``riskwatch scan`` shares with the app, so both raise the same alerts: the rules'
thresholds (``RISKWATCH_<RULE_ID>_<PARAM>``), the disabled rules, business hours and the
incident quiet period. ``load_settings`` reads the same names with the same parsers."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detections.enrich import BusinessHours
from detections.params import ParamError
from detections.registry import load_rules
from detections.rule import ParamValue, Rule
from service.settings.names import threshold_name, unknown_setting_problems
from service.settings.parsing import Reader, SettingsError, parse_days, parse_hours

INCIDENT_QUIET_DAYS_RANGE = (1, 90)


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
        rule_params=rule_params(read, all_rules),
        disabled_rules=disabled(read, all_rules),
        business_hours=business_hours(read),
        incident_quiet=incident_quiet(read),
    )
    read.problems += unknown_setting_problems(read.env, all_rules)
    if read.problems:
        raise SettingsError(read.problems)
    return result


def incident_quiet(read: Reader) -> timedelta:
    return timedelta(
        days=read.integer("RISKWATCH_INCIDENT_QUIET_DAYS", 7, *INCIDENT_QUIET_DAYS_RANGE)
    )


def disabled(read: Reader, rules: Sequence[Rule]) -> frozenset[str]:
    return frozenset(read.choices("RISKWATCH_DISABLED_RULES", (), tuple(r.id for r in rules)))


def rule_params(read: Reader, rules: Sequence[Rule]) -> dict[str, dict[str, ParamValue]]:
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


def business_hours(read: Reader) -> BusinessHours:
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
