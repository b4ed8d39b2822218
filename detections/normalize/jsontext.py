"""JSON text that ``json.loads`` alone cannot take: too deep, several values on one line.

``json.loads`` raises RecursionError on nesting deeper than the interpreter's recursion
limit (about 1,000 levels): one hostile line or field must not stop a batch. These helpers
run only after the fast parse failed, so the hot path pays nothing:

- ``loads_tolerant(text)``: a document or line whose records are parsed one by one; a
  record too deep to parse becomes ``TooDeep(path)``, which the normalizer skips, naming
  the field (path within the record) where the nesting goes too deep. Envelopes
  (``value``, ``records``, ``tables``) are split, records never are.
- ``line_values(text)``: every JSON value of one line, separated by JSON whitespace or the
  characters ``str.splitlines`` treats as line breaks (form feed, vertical tab, ``\\x1c``-
  ``\\x1e``, ``\\x85``, ``\\u2028``, ``\\u2029``): records are lines split on ``\\n`` only,
  and those separators are whitespace between records.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

NESTED_TOO_DEEPLY = "nested too deeply to parse (more than about 1,000 levels)"
ENVELOPE_KEYS = ("value", "records", "tables")
# JSON whitespace plus what str.splitlines() would break on.
_SEPARATORS = " \t\n\r\f\v\x1c\x1d\x1e\x85\u2028\u2029"
# The structural tokens of JSON; a string is one symbol, so brackets inside it do not count.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]', re.DOTALL)
_PATH_PARTS = 3  # a deep path is named by its first components: "extra[0][0]..."


@dataclass(frozen=True, slots=True)
class TooDeep:
    """A record that could not be parsed because it nests too deeply; ``path`` is where."""

    path: str


@dataclass(frozen=True, slots=True)
class BadJSON:
    """The unparsable rest of a line that held other values; ``reason`` is for people."""

    reason: str


def loads_tolerant(text: str) -> Any:
    """``json.loads``, with records too deep to parse replaced by ``TooDeep``.

    Raises ValueError (json.JSONDecodeError) when the text is not JSON at all.
    """
    try:
        return json.loads(text)
    except RecursionError:
        pass
    start = _skip(text, 0)
    opener = text[start : start + 1]
    if opener == "[":
        return [_record(text, s, e) for _, s, e in _members(text, start)]
    if opener != "{":
        return TooDeep("")
    members = _members(text, start)
    if not any(key in ENVELOPE_KEYS for key, _, _ in members):
        return TooDeep(deep_path(text))  # one record: never split
    doc: dict[str, Any] = {}
    for key, s, e in members:
        first = _skip(text, s)
        if key in ENVELOPE_KEYS and text[first : first + 1] == "[":
            doc[str(key)] = [_record(text, s2, e2) for _, s2, e2 in _members(text, first)]
        else:
            doc[str(key)] = _record(text, s, e)
    return doc


def line_values(text: str) -> list[Any]:
    """Every JSON value on one line; an unparsable rest becomes a trailing ``BadJSON``."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = _skip(text, 0)
    while pos < len(text):
        try:
            value, pos = decoder.raw_decode(text, pos)
        except RecursionError:
            end = _value_end(text, pos)
            part = text[pos:end]
            # An envelope keeps its good records; anything else is one record, too deep.
            value = loads_tolerant(part) if part.startswith("{") else TooDeep(deep_path(part))
            pos = end
        except json.JSONDecodeError as exc:
            values.append(BadJSON(f"{exc.msg} (column {exc.colno})"))
            break
        except ValueError as exc:  # an integer of more than 4,300 digits
            values.append(BadJSON(str(exc).split(";", 1)[0]))
            break
        values.append(value)
        pos = _skip(text, pos)
    return values


def deep_path(text: str) -> str:
    """The path (``extra[0][0]...``) of the deepest nesting in ``text``, found without recursion.

    ``text`` is one record; the path is relative to it.
    """
    stack: list[list[Any]] = []  # per open container: [is_object, key or index]
    deepest, path, branch = 0, "", ""
    expecting_key = False
    for match in _TOKEN.finditer(text):
        symbol = match.group()
        if symbol in "[{":
            stack.append([symbol == "{", None if symbol == "{" else 0])
            expecting_key = symbol == "{"
            depth = len(stack)
            if depth <= _PATH_PARTS + 2:  # deeper levels only add "...": keep it cheap
                branch = _path(stack[:-1])
            if depth > deepest:
                deepest, path = depth, branch
        elif symbol in "]}":
            if stack:
                stack.pop()
            expecting_key = False
        elif symbol == ",":
            if stack:
                top = stack[-1]
                if top[0]:
                    expecting_key = True
                else:
                    top[1] += 1
        elif symbol == ":":
            expecting_key = False
        elif expecting_key and stack:
            stack[-1][1] = _key(symbol)
    return path


def _path(stack: list[list[Any]]) -> str:
    parts: list[str] = []
    for is_object, at in stack[: _PATH_PARTS + 1]:
        if is_object:
            parts.append(f".{at}" if parts else str(at))
        else:
            parts.append(f"[{at}]")
    shown = "".join(parts[:_PATH_PARTS])
    return shown + "..." if len(parts) > _PATH_PARTS else shown


def _key(symbol: str) -> str:
    try:
        key = json.loads(symbol)
    except ValueError:
        return symbol.strip('"')
    return key if isinstance(key, str) else symbol


def _record(text: str, start: int, end: int) -> Any:
    """One record of an envelope or array; TooDeep (path within the record) if too deep."""
    part = text[start:end]
    try:
        return json.loads(part)
    except RecursionError:
        return TooDeep(deep_path(part))


def _members(text: str, start: int) -> list[tuple[str | None, int, int]]:
    """The (key, start, end) of each member of the container opening at ``start``."""
    members: list[tuple[str | None, int, int]] = []
    depth = 0
    begin = start + 1
    key: str | None = None
    for match in _TOKEN.finditer(text, start):
        symbol = match.group()
        if symbol in "[{":
            depth += 1
        elif symbol in "]}":
            depth -= 1
            if depth == 0:
                _add(members, text, key, begin, match.start())
                break
        elif depth == 1 and symbol == ",":
            _add(members, text, key, begin, match.start())
            begin, key = match.end(), None
        elif depth == 1 and symbol == ":":
            key = _key(text[begin : match.start()].strip(_SEPARATORS))
            begin = match.end()
    return members


def _add(
    members: list[tuple[str | None, int, int]], text: str, key: str | None, start: int, end: int
) -> None:
    if text[start:end].strip(_SEPARATORS):
        members.append((key, start, end))


def _value_end(text: str, start: int) -> int:
    """Where the container opening at ``start`` closes (its end if it never does)."""
    depth = 0
    for match in _TOKEN.finditer(text, start):
        symbol = match.group()
        if symbol in "[{":
            depth += 1
        elif symbol in "]}":
            depth -= 1
            if depth == 0:
                return match.end()
    return len(text)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SEPARATORS:
        pos += 1
    return pos
