"""Parse a rule threshold from text, strictly: ASCII digits, finite numbers, inside its range.

Python's own ``int()`` and ``float()`` are too lenient for settings: they take ``1_000``,
Arabic-Indic digits, ``nan`` and ``inf``, and very long digit strings raise instead of
returning. Settings go through here instead.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from detections.errors import RiskwatchError

if TYPE_CHECKING:
    from detections.rule import Param, ParamValue

_INT = re.compile(r"[+-]?[0-9]{1,30}")
_FLOAT = re.compile(r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,4})?")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class ParamError(RiskwatchError, ValueError):
    """A threshold's text is not of its type or outside its range; the message says which."""


def parse_int(text: str) -> int:
    """A whole number in ASCII digits, at most 30 of them."""
    if not _INT.fullmatch(text):
        raise ParamError(f"{text[:40]!r} is not a whole number")
    return int(text)


def parse_float(text: str) -> float:
    """A finite decimal number (``nan``, ``inf`` and overflow are refused)."""
    if not _FLOAT.fullmatch(text):
        raise ParamError(f"{text[:40]!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise ParamError(f"{text[:40]!r} is not a finite number")
    return value


def check_range(value: float, low: float | None, high: float | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParamError(f"{show_number(value)} is outside {span(low, high)}")


def span(low: float | None, high: float | None) -> str:
    """``1-360`` (``any`` for a missing bound)."""
    first = "any" if low is None else show_number(low)
    last = "any" if high is None else show_number(high)
    return f"{first}-{last}"


def show_number(value: float) -> str:
    """Whole numbers in full (4294967295, not 4.29497e+09); others as ``%g``."""
    if isinstance(value, int) or value.is_integer():
        return str(int(value))
    return f"{value:g}"


def parse_param(param: Param, text: str) -> ParamValue:
    """``text`` (already stripped) as ``param``'s type, inside ``param``'s range."""
    default = param.default
    if isinstance(default, bool):
        if text.lower() not in _TRUE + _FALSE:
            raise ParamError(f"{text[:40]!r} is not true or false")
        return text.lower() in _TRUE
    if isinstance(default, int):
        number = parse_int(text)
        check_range(number, param.minimum, param.maximum)
        return number
    if isinstance(default, float):
        real = parse_float(text)
        check_range(real, param.minimum, param.maximum)
        return real
    if param.int_list:
        return _int_list(param, text)
    return text


def _int_list(param: Param, text: str) -> str:
    """A comma list of whole numbers (``none`` for an empty list), normalized."""
    if text.lower() == "none":
        return ""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ParamError("empty list (write 'none' for no items)")
    for position, item in enumerate(items, start=1):
        try:
            check_range(parse_int(item), param.minimum, param.maximum)
        except ParamError as exc:
            raise ParamError(f"item {position}: {exc}") from None
    return ",".join(str(int(item)) for item in items)
