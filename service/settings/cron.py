"""Check a six-field NCRONTAB expression the way the Functions timer (NCrontab) reads it.

The timer trigger refuses a bad schedule only when the host starts, and then no function
in the app runs; checking it here turns that into one line naming RISKWATCH_SCHEDULE.
Each field is a comma list of ``*``, ``N``, ``N-M`` or a name, each with an optional
``/STEP``; values and steps must be inside the field's range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from detections.errors import RiskwatchError

_NUMBER = re.compile(r"[0-9]{1,3}")  # no field goes past 59: longer is out of range anyway
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 6, _DAYS),  # NCrontab: Sunday is 0, and 7 is refused
)


class CronError(RiskwatchError, ValueError):
    """A field of an NCRONTAB schedule that the Functions host would refuse."""


def ncrontab_problem(expression: str) -> str | None:
    """Why ``expression`` is not a valid six-field NCRONTAB schedule, or None."""
    parts = expression.split()
    if len(parts) != len(FIELDS):
        return (f"has {len(parts)} fields, needs 6 "
                "(second minute hour day month day-of-week)")
    for field, text in zip(FIELDS, parts, strict=True):
        try:
            _check_field(field, text)
        except CronError as exc:
            return f"{field.name} field {text[:20]!r}: {exc}"
    return None


def _check_field(field: _Field, text: str) -> None:
    for item in text.split(","):
        if not item:
            raise CronError("empty list item")
        _check_item(field, item)


def _check_item(field: _Field, item: str) -> None:
    base, slash, step_text = item.partition("/")
    if slash:
        if not _NUMBER.fullmatch(step_text):
            raise CronError(f"step {step_text[:10]!r} is not a number")
        step = int(step_text)
        if not 1 <= step <= field.high - field.low + 1:
            raise CronError(f"step {step} is outside 1-{field.high - field.low + 1}")
    if base == "*":
        return
    first_text, dash, last_text = base.partition("-")
    first = _value(field, first_text)
    if dash:
        last = _value(field, last_text)
        if last < first:
            raise CronError(f"range {first}-{last} runs backwards")


def _value(field: _Field, text: str) -> int:
    if _NUMBER.fullmatch(text):
        value = int(text)
    else:
        # NCrontab takes a name by prefix (``Mon``, ``January``); three letters at least here.
        lowered = text.lower()
        matches = [i for i, n in enumerate(field.names) if len(lowered) >= 3
                   and n.startswith(lowered)]
        if not matches:
            known = f" or a name like {field.names[0][:3].title()}" if field.names else ""
            raise CronError(f"{text[:10]!r} is not a number{known}")
        value = matches[0] + field.low
    if not field.low <= value <= field.high:
        raise CronError(f"{value} is outside {field.low}-{field.high}")
    return value
