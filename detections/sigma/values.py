"""Sigma value semantics as matchers over a field's values (the specification's, not a SIEM's).

- Strings compare case-insensitively and match the whole value; ``*`` and ``?`` are
  wildcards (``contains``, ``startswith`` and ``endswith`` are wildcards pySigma added).
- A field with many values (every target of an audit record) matches when one value does.
- ``null`` matches a missing field; ``''`` matches an empty one (they differ).
- ``exists``, ``cidr`` (IPv4 and IPv6), ``gt``/``gte``/``lt``/``lte``, ``fieldref``,
  ``cased`` (case-sensitive) and ``re`` (flags ``i``, ``m``, ``s``).
- Regular expressions run on Google RE2 (a dependency of pySigma): matching time is linear
  in the input, so no pattern can backtrack catastrophically; a pattern RE2 cannot run
  (back-references, look-around) is refused when the rule is loaded. A regex searches the
  value (it is not anchored), as grep and most SIEMs do; values longer than
  ``MAX_REGEX_INPUT`` are cut first.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any, TypeAlias

import re2
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from detections.errors import RiskwatchError
from detections.sigma.fields import FieldValue

Values: TypeAlias = tuple[str, ...]
TextTest: TypeAlias = Callable[[str], bool]  # one value, as text in its own case
ValueTest: TypeAlias = Callable[[FieldValue], bool]  # a field's raw value (scalar or tuple)
MAX_REGEX_INPUT = 65_536


class UnsupportedSigma(RiskwatchError):
    """A rule uses something this matcher cannot evaluate faithfully; the message says what."""


def texts(value: FieldValue) -> Values:
    """A field's values as text: booleans ``true``/``false``, numbers in decimal."""
    if value is None:
        return ()
    if isinstance(value, tuple):
        return tuple(_text(v) for v in value if v is not None)
    return (_text(value),)


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def value_test(value: SigmaType) -> ValueTest:
    """A test of a field's raw value (what ``fields.GETTERS`` return) for one Sigma value."""
    if isinstance(value, SigmaNull):
        return lambda v: v is None or v == ()
    if isinstance(value, SigmaExists):
        wanted = bool(value)
        return lambda v: (v is not None and v != ()) is wanted
    return _on_values(_text_test(value))


def _on_values(test: TextTest) -> ValueTest:
    """``test`` on a scalar, or on any value of a tuple (the hot path: no tuple for scalars)."""

    def on_value(v: FieldValue) -> bool:
        if v is None:
            return False
        if type(v) is str:
            return test(v)
        if type(v) is tuple:
            return any(test(x) for x in texts(v))
        return test(_text(v))  # type: ignore[arg-type]  # int, float, bool

    return on_value


def _text_test(value: SigmaType) -> TextTest:
    if isinstance(value, SigmaCasedString):
        return _string_test(value, cased=True)
    if isinstance(value, SigmaString):
        return _string_test(value, cased=False)
    if isinstance(value, SigmaTimestampPart):
        raise UnsupportedSigma("timestamp part modifiers (minute, hour, day ...) are not "
                               "supported")
    if isinstance(value, SigmaNumber):
        return _equals(str(value.number).lower())
    if isinstance(value, SigmaBool):
        return _equals("true" if value.boolean else "false")
    if isinstance(value, SigmaRegularExpression):
        return _regex_test(value)
    if isinstance(value, SigmaCIDRExpression):
        return _cidr_test(value)
    if isinstance(value, SigmaCompareExpression):
        return _compare_test(value)
    raise UnsupportedSigma(f"value type {type(value).__name__} is not supported")


def _equals(target: str) -> TextTest:
    return lambda v: v.lower() == target


def _string_test(value: SigmaString, *, cased: bool) -> TextTest:
    parts = value.s
    if any(isinstance(p, Placeholder) for p in parts):
        raise UnsupportedSigma(f"placeholder in {value.original!r} (expand modifier) "
                               "is not supported")
    multi = SpecialChars.WILDCARD_MULTI
    fold: Callable[[str], str] = (lambda s: s) if cased else str.lower
    texts_only = [p for p in parts if isinstance(p, str)]
    if len(texts_only) == len(parts):  # no wildcard: the whole value
        target = fold("".join(texts_only))
        return lambda v: fold(v) == target
    if parts == [multi]:
        return lambda v: True
    if len(parts) == 3 and parts[0] == multi and parts[2] == multi and isinstance(parts[1], str):
        needle = fold(parts[1])
        return lambda v: needle in fold(v)
    if len(parts) == 2 and parts[1] == multi and isinstance(parts[0], str):
        prefix = fold(parts[0])
        return lambda v: fold(v).startswith(prefix)
    if len(parts) == 2 and parts[0] == multi and isinstance(parts[1], str):
        suffix = fold(parts[1])
        return lambda v: fold(v).endswith(suffix)
    pattern = "".join(
        re.escape(p) if isinstance(p, str) else (".*" if p == multi else ".") for p in parts
    )
    compiled = re2.compile(("" if cased else "(?i)") + "(?s)" + pattern)
    return lambda v: compiled.fullmatch(v) is not None


_FLAGS = {SigmaRegularExpressionFlag.IGNORECASE: "i", SigmaRegularExpressionFlag.MULTILINE: "m",
          SigmaRegularExpressionFlag.DOTALL: "s"}


def _regex_test(value: SigmaRegularExpression) -> TextTest:
    flags = "".join(sorted(_FLAGS[f] for f in value.flags))
    source = str(value.regexp)
    try:
        compiled = re2.compile((f"(?{flags})" if flags else "") + source)
    except re2.error as exc:
        raise UnsupportedSigma(f"regular expression {source[:80]!r} cannot run on RE2 "
                               f"(linear-time matching): {exc}") from exc
    return lambda v: compiled.search(v[:MAX_REGEX_INPUT]) is not None


def _cidr_test(value: SigmaCIDRExpression) -> TextTest:
    network = value.network

    def test(v: str) -> bool:
        try:
            return ipaddress.ip_address(v.strip()) in network
        except ValueError:
            return False

    return test


def _compare_test(value: SigmaCompareExpression) -> TextTest:
    bound = float(value.number.number)
    op = value.op
    checks: dict[CompareOperators, Callable[[float], bool]] = {
        CompareOperators.LT: lambda x: x < bound, CompareOperators.LTE: lambda x: x <= bound,
        CompareOperators.GT: lambda x: x > bound, CompareOperators.GTE: lambda x: x >= bound,
        CompareOperators.NEQ: lambda x: x != bound,
    }
    if op not in checks:
        raise UnsupportedSigma(f"comparison {op} is not supported")
    check = checks[op]

    def test(v: str) -> bool:
        try:
            return check(float(v))
        except ValueError:
            return False

    return test


def plain_text(value: SigmaType) -> str | None:
    """The lower-cased text a value must equal, when it is a plain (wildcard-free,
    case-insensitive) string, number or boolean; else None."""
    if isinstance(value, SigmaCasedString | SigmaTimestampPart):
        return None
    if isinstance(value, SigmaString):
        if all(isinstance(p, str) for p in value.s):
            return "".join(p for p in value.s if isinstance(p, str)).lower()
        return None
    if isinstance(value, SigmaBool):
        return "true" if value.boolean else "false"
    if isinstance(value, SigmaNumber):
        return str(value.number).lower()
    return None


def equals_any(get: Callable[[Any], FieldValue], targets: frozenset[str]) -> Callable[[Any], bool]:
    """Field equals one of ``targets`` (lower-cased), in one closure: the hot path of most
    SigmaHQ rules (``ResultType: 50053``, ``riskEventType: unlikelyTravel``)."""
    slow = _on_values(lambda v: v.lower() in targets)
    numbers = frozenset(int(t) for t in targets if re.fullmatch(r"-?[0-9]{1,18}", t))

    def test(event: Any) -> bool:
        v = get(event)
        if type(v) is str:
            return v.lower() in targets
        if type(v) is int:  # ResultType and other codes: no text needed
            return v in numbers
        if v is None:
            return False
        return slow(v)

    return test
