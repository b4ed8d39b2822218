"""Shared coercions from raw JSON/CSV values to model values.

Strict where a wrong value changes a verdict (ids, times, error codes: a bad one
raises FieldError, which becomes a Skip naming the field); lenient for enrichment
(a bad latitude or ASN becomes None so the sign-in is still evaluated).
Every function takes the raw value and the field's path for messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from detections.model import NO_LOCATION, RISK_STATES, Location
from detections.normalize.construct import fast_constructor
from detections.timeparse import parse_time

# A failed sign-in whose export only says "Failure": the real Entra code is unknown.
UNKNOWN_FAILURE_CODE = -1

_fromisoformat = datetime.fromisoformat
_RISK_STATE_BY_LOWER = {s.lower(): s for s in RISK_STATES}
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_SUCCESS_WORDS = frozenset({"success", "succeeded"})
_FAILURE_WORDS = frozenset({"failure", "failed"})


_new_location = fast_constructor(Location)


class FieldError(Exception):
    """A record cannot be used because of one field; the reason is for people."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def text(value: object) -> str | None:
    """A string value; empty means absent. Numbers are written as text."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return str(value)


def required_text(value: object, field: str, what: str) -> str:
    result = text(value)
    if result is None:
        raise FieldError(field, f"missing {what}")
    return result


def time(value: object, field: str) -> datetime:
    if type(value) is str:
        try:
            parsed = _fromisoformat(value)
            if parsed.tzinfo is UTC:
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


def level(value: object) -> str | None:
    """A risk level, lower-cased; ``hidden`` stays ``hidden`` (unknown, never none)."""
    if not value or not isinstance(value, str):
        return None
    return value if value.islower() else value.lower()


def risk_state(value: object) -> str | None:
    """A riskState in Graph's spelling (``atrisk`` -> ``atRisk``); unknown values kept."""
    if not value or not isinstance(value, str):
        return None
    return _RISK_STATE_BY_LOWER.get(value.lower(), value)


def error_code(value: object, field: str) -> int:
    """An Entra error code from errorCode/resultType (int or numeric string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        try:
            return int(stripped)
        except ValueError:
            word = stripped.lower()
            if word in _SUCCESS_WORDS:
                return 0
            if word in _FAILURE_WORDS:
                return UNKNOWN_FAILURE_CODE
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise FieldError(field, f"error code is not a number: {value!r}")


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


def number(value: object) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def integer(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def obj(value: object, field: str) -> Mapping[str, Any] | None:
    """A nested object, given as an object or (Log Analytics, CSV) as a JSON string."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise FieldError(field, f"not a JSON object: {value[:80]!r}") from None
        if parsed is None:
            return None
        if isinstance(parsed, Mapping):
            return parsed
    raise FieldError(field, f"expected an object, got {type(value).__name__}")


def str_list(value: object, field: str) -> tuple[str, ...]:
    """A list of strings: a JSON array, a JSON-array string or a comma list."""
    if not value:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if v not in (None, ""))
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                parsed = json.loads(stripped)
            except ValueError:
                raise FieldError(field, f"not a JSON array: {value[:80]!r}") from None
            return str_list(parsed, field)
        return tuple(part.strip() for part in stripped.split(",") if part.strip())
    raise FieldError(field, f"expected a list, got {type(value).__name__}")


def location(value: object, field: str) -> Location:
    """Graph ``signInLocation`` (city, state, countryOrRegion, geoCoordinates)."""
    loc = value if type(value) is dict else obj(value, field)
    if not loc:
        return NO_LOCATION
    geo = loc.get("geoCoordinates")
    if geo and type(geo) is not dict:
        geo = obj(geo, field + ".geoCoordinates")
    lat = lon = None
    if geo:
        lat = geo.get("latitude")
        if type(lat) is not float:
            lat = number(lat)
        lon = geo.get("longitude")
        if type(lon) is not float:
            lon = number(lon)
    g = loc.get
    return _new_location(
        city=g("city") or None,
        state=g("state") or None,
        country=g("countryOrRegion") or g("country") or None,
        latitude=lat,
        longitude=lon,
    )


def additional_info(value: object) -> tuple[tuple[str, str], ...]:
    """riskDetection ``additionalInfo``: a JSON string of [{"Key": k, "Value": v}].

    Text that is not that shape is kept whole under the key ``raw``, never dropped.
    """
    if not value:
        return ()
    parsed: object = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return (("raw", value),)
    if isinstance(parsed, Mapping):
        return tuple((str(k), _info_value(v)) for k, v in parsed.items())
    if isinstance(parsed, list):
        pairs: list[tuple[str, str]] = []
        for item in parsed:
            if not isinstance(item, Mapping):
                return (("raw", value if isinstance(value, str) else json.dumps(value)),)
            key = item.get("Key", item.get("key"))
            pairs.append((str(key), _info_value(item.get("Value", item.get("value")))))
        return tuple(pairs)
    return (("raw", str(value)),)


def _info_value(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))
