"""Nested raw values -> model values: objects, lists, locations, ``additionalInfo``.

Log Analytics and CSV exports give nested objects as JSON text; text nested too deeply
to parse (RecursionError) is a FieldError naming the field, like any other bad value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from detections.model import NO_LOCATION, Location
from detections.normalize.construct import fast_constructor
from detections.normalize.fields import (
    SURROGATE,
    FieldError,
    brief,
    common,
    json_type,
    number,
    string,
)
from detections.normalize.jsontext import NESTED_TOO_DEEPLY
from detections.normalize.texts import TextFields

_new_location = fast_constructor(Location)
_LOCATION_TEXTS = TextFields({"city": "city", "state": "state", "country": "countryOrRegion"})


def parse_json_text(text: str, field: str, what: str) -> Any:
    """JSON given as text inside a field; FieldError when it is not JSON or too deep."""
    try:
        return json.loads(text)
    except RecursionError:
        raise FieldError(field, NESTED_TOO_DEEPLY) from None
    except ValueError:
        raise FieldError(field, f"not a JSON {what}: {brief(text)}") from None


def obj(value: object, field: str) -> Mapping[str, Any] | None:
    """A nested object, given as an object or (Log Analytics, CSV) as a JSON string."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        parsed = parse_json_text(value, field, "object")
        if parsed is None:
            return None
        if isinstance(parsed, Mapping):
            return parsed
    raise FieldError(field, f"expected an object, got {json_type(value)}")


def str_list(value: object, field: str) -> tuple[str, ...]:
    """A list of strings: a JSON array, a JSON-array string or a comma list."""
    if not value:
        return ()
    if isinstance(value, list | tuple):
        try:
            joined = "".join(value)  # TypeError unless every item is text
        except TypeError:
            pass
        else:
            if joined.isascii() or SURROGATE.search(joined) is None:
                return tuple(filter(None, value))
        items = (string(v, f"{field}[{i}]") for i, v in enumerate(value))
        return tuple(item for item in items if item is not None)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            return str_list(parse_json_text(stripped, field, "array"), field)
        parts = (string(part.strip(), field) for part in stripped.split(","))
        return tuple(part for part in parts if part)
    raise FieldError(field, f"expected a list, got {json_type(value)}")


def location(value: object, field: str, *, checked: bool = True) -> Location:
    """Graph ``signInLocation`` (city, state, countryOrRegion, geoCoordinates).

    ``checked=False``: the caller checks the text fields itself (the sign-in, in one pass).
    """
    loc = value if type(value) is dict else obj(value, field)
    if not loc:
        return NO_LOCATION
    geo = loc.get("geoCoordinates")
    if geo and type(geo) is not dict:
        geo = obj(geo, field + ".geoCoordinates")
    lat = lon = None
    if geo:
        lat = geo.get("latitude")
        if type(lat) is not float or not -90.0 <= lat <= 90.0:
            lat = number(lat, 90.0)
        lon = geo.get("longitude")
        if type(lon) is not float or not -180.0 <= lon <= 180.0:
            lon = number(lon, 180.0)
    g = loc.get
    built = _new_location(
        city=common(g("city")),
        state=common(g("state")),
        country=common(g("countryOrRegion") or g("country")),
        latitude=lat,
        longitude=lon,
    )
    return _LOCATION_TEXTS.checked(built, field + ".") if checked else built


def additional_info(value: object, field: str) -> tuple[tuple[str, str], ...]:
    """riskDetection ``additionalInfo``: a JSON string of [{"Key": k, "Value": v}].

    Text that is not that shape is kept whole under the key ``raw``, never dropped.
    """
    if not value:
        return ()
    parsed: object = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except RecursionError:
            raise FieldError(field, NESTED_TOO_DEEPLY) from None
        except ValueError:
            return (("raw", _text(value, field)),)
    if isinstance(parsed, Mapping):
        return tuple((_text(k, field), _info_value(v, field)) for k, v in parsed.items())
    if isinstance(parsed, list):
        pairs: list[tuple[str, str]] = []
        for item in parsed:
            if not isinstance(item, Mapping):
                return (("raw", _info_value(value, field)),)
            key = item.get("Key", item.get("key"))
            value_ = item.get("Value", item.get("value"))
            pairs.append((_info_key(key, field), _info_value(value_, field)))
        return tuple(pairs)
    return (("raw", _info_value(value, field)),)


def _text(value: str, field: str) -> str:
    return string(value, field) or ""


def _info_key(key: object, field: str) -> str:
    if key is None or isinstance(key, bool | int | float):
        return str(key)
    return _info_value(key, field)


def _info_value(value: object, field: str) -> str:
    if isinstance(value, str):
        return _text(value, field)
    try:
        return json.dumps(value, separators=(",", ":"))  # ASCII: surrogates come out escaped
    except RecursionError:
        raise FieldError(field, NESTED_TOO_DEEPLY) from None
