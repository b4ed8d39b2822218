"""Shared coercions from raw JSON/CSV scalars to model values (nested ones: ``nested``).

Strict where a wrong value changes a verdict or breaks a rule: ids, times, error codes,
risk levels and every text field (an object or list where text is expected raises
FieldError, which becomes a Skip naming the field); lenient for enrichment numbers (a bad
latitude or ASN becomes None so the sign-in is still evaluated).

What a normalized event holds is always safe downstream: text is ``str`` (a number is
written as text) with lone surrogates (``"\\ud800"`` in the JSON) replaced by U+FFFD, so an
alert always encodes as UTF-8; times lie in [1970, 2200); numbers are finite and bounded.
Functions take the raw value and the field's path for messages.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from sys import intern as _intern
from typing import Any

from detections.errors import RiskwatchError
from detections.model import RISK_STATES
from detections.timeparse import EARLIEST, LATEST, parse_time

# A failed sign-in whose export only says "Failure": the real Entra code is unknown.
UNKNOWN_FAILURE_CODE = -1

_fromisoformat = datetime.fromisoformat
_RISK_STATE_BY_LOWER = {s.lower(): s for s in RISK_STATES}
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_SUCCESS_WORDS = frozenset({"success", "succeeded"})
_FAILURE_WORDS = frozenset({"failure", "failed"})
SURROGATE = re.compile("[\ud800-\udfff]")  # lone: json.loads already joined the pairs
MAX_ERROR_CODE = 2**31  # Entra codes have at most 7 digits; this bounds a hostile one
_MAX_ASN = 2**32 - 1
_CODE_TEXT = re.compile(r"[+-]?[0-9]{1,12}")
_ASN_TEXT = re.compile(r"[0-9]{1,10}")


class FieldError(RiskwatchError):
    """A record cannot be used because of one field; the reason is for people."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def common(value: Any) -> Any:
    """A text value that repeats across records (an app's name, a city, an OS) as one shared
    object, "" as None; anything else as given, for the caller's text check to judge. A
    scan holds thousands of decoded events to put them in order: their repeated texts
    were a copy each (json.loads makes every one anew)."""
    if type(value) is str:
        return _intern(value) if value else None
    return value or None


def string(value: object, field: str, prefix: str = "") -> str | None:
    """A text value; empty means absent, a number is written as text.

    An object, list or boolean raises FieldError naming ``prefix + field``. Lone
    surrogates become U+FFFD: the record is kept, and its text can always be encoded.
    """
    if type(value) is str:
        if value.isascii():  # O(1) in CPython: the common case costs one check
            return value or None
        return SURROGATE.sub("\ufffd", value)
    if value is None:
        return None
    if type(value) is int or type(value) is float:
        return str(value)
    if isinstance(value, str):  # a str subclass: keep the text, not the type
        return string(str(value), field, prefix)
    raise FieldError(prefix + field, f"expected text, got {json_type(value)}")


def required_string(value: object, field: str, what: str, prefix: str = "") -> str:
    result = string(value, field, prefix)
    if result is None:
        raise FieldError(prefix + field, f"missing {what}")
    return result


def json_type(value: object) -> str:
    """The JSON name of a value's type, for messages (never the value: it may be huge)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def brief(value: object) -> str:
    """A short, printable rendering of a scalar for messages; containers by type only."""
    if isinstance(value, dict | list | tuple):
        return json_type(value)
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def time(value: object, field: str) -> datetime:
    if type(value) is str:
        try:
            parsed = _fromisoformat(value)
            if parsed.tzinfo is UTC and EARLIEST <= parsed < LATEST:
                return parsed  # the common case: ISO 8601 with Z
        except ValueError:
            pass
    if value is None or value == "":
        raise FieldError(field, "missing time")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise FieldError(field, f"bad time: {exc}") from None


def optional_time(value: object, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    return time(value, field)


def level(value: object, field: str, prefix: str = "") -> str | None:
    """A risk level, lower-cased; ``hidden`` stays ``hidden`` (unknown, never none)."""
    if type(value) is not str:
        if value is None:
            return None
        if not isinstance(value, str):
            raise FieldError(prefix + field, f"expected a risk level, got {json_type(value)}")
        value = str(value)
    if not value:
        return None
    if not value.isascii():
        value = SURROGATE.sub("\ufffd", value)
    return value if value.islower() else value.lower()


def risk_state(value: object, field: str, prefix: str = "") -> str | None:
    """A riskState in Graph's spelling (``atrisk`` -> ``atRisk``); unknown values kept."""
    text = string(value, field, prefix)
    if text is None:
        return None
    return _RISK_STATE_BY_LOWER.get(text.lower(), text)


def error_code(value: object, field: str) -> int:
    """An Entra error code from errorCode/resultType (int or numeric string), bounded."""
    code: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        code = value
    elif isinstance(value, str):
        stripped = value.strip()
        if _CODE_TEXT.fullmatch(stripped):
            code = int(stripped)
        else:
            word = stripped.lower()
            if word in _SUCCESS_WORDS:
                return 0
            if word in _FAILURE_WORDS:
                return UNKNOWN_FAILURE_CODE
    elif isinstance(value, float) and value.is_integer():
        code = int(value)
    if code is None:
        raise FieldError(field, f"error code is not a number: {brief(value)}")
    if not -MAX_ERROR_CODE < code < MAX_ERROR_CODE:
        raise FieldError(field, f"error code out of range: {brief(value)}")
    return code


def boolean(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    if isinstance(value, int):
        return value != 0
    return None


def number(value: object, limit: float = 1e15) -> float | None:
    """A finite number with ``abs() <= limit``, else None (enrichment: lenient)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    result: float
    if isinstance(value, int | float):
        if isinstance(value, int) and not -limit <= value <= limit:
            return None  # float() of a huge int overflows
        result = float(value)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            result = float(value)
        except ValueError:
            return None
    else:
        return None
    return result if -limit <= result <= limit else None  # also rejects nan and inf


def asn(value: object) -> int | None:
    """An autonomous system number (0 .. 2**32 - 1), else None."""
    if type(value) is int:
        number_ = value
    elif isinstance(value, str) and _ASN_TEXT.fullmatch(value.strip()):
        number_ = int(value)
    else:
        return None
    return number_ if 0 <= number_ <= _MAX_ASN else None


