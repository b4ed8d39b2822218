"""Text lines -> records -> events: JSON lines, JSON documents and CSV exports.

The shape of the input is decided from its first non-blank line:
- ``[``: a JSON document (a bare array), parsed whole;
- ``{`` and the line parses on its own: JSON lines, streamed one line at a time
  (a line may itself be a ``{"value": [...]}`` page, a ``{"records": [...]}`` envelope
  or a ``{"tables": [...]}`` query response);
- ``{`` otherwise: a pretty-printed JSON document, parsed whole (unless the next line
  parses on its own: then it is JSON lines whose first line is broken);
- anything else: a Log Analytics CSV export, streamed with the csv module.

Lines are split on ``\\n`` only (the reader's job); form feed, vertical tab and the other
characters ``str.splitlines`` breaks on are whitespace between the records of a line. A
line that is not UTF-8 (``UndecodableLine``), too deep to parse or not JSON is one Skip
naming its line; the rest of the input goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from typing import Any

from detections.errors import InputError, Where
from detections.model import Event, EventKind
from detections.normalize.csvexport import decode_csv
from detections.normalize.graph import kind_from_context
from detections.normalize.jsontext import ENVELOPE_KEYS, BadJSON, line_values, loads_tolerant
from detections.normalize.lines import UndecodableLine
from detections.normalize.queryapi import RowProblem, query_rows
from detections.normalize.record import FORMATS, Format, Skip, normalize_hinted

_CONTROL_BREAKS = str.maketrans("\f\v\x1c\x1d\x1e", "     ")


def decode(
    source: str, lines: Iterable[str], *, fmt: Format = "auto", kind: EventKind | None = None
) -> Iterator[Event | Skip]:
    """Yield one Event or Skip per record; raise InputError if the input is unreadable.

    ``source`` names the input in messages; ``fmt`` and ``kind`` override detection.
    """
    if fmt not in FORMATS:
        raise InputError(Where(source), f"unknown format {fmt!r}; expected one of {FORMATS}")
    it = iter(lines)
    lineno = 0
    undecodable = False
    for raw in it:
        lineno += 1
        if isinstance(raw, UndecodableLine):
            undecodable = True
            yield Skip(Where(source, lineno), raw.reason)
            continue
        first = raw[1:] if lineno == 1 and raw.startswith("\ufeff") else raw
        if first.strip():
            break
    else:
        if undecodable:
            return  # only undecodable lines: each was named
        raise InputError(Where(source), "empty input: no records")

    head = first.lstrip()
    if head.startswith("["):
        yield from _document(source, first, it, lineno, fmt, kind)
        return
    if not head.startswith("{"):
        if fmt not in ("auto", "loganalytics"):
            raise InputError(Where(source, lineno), f"not JSON, but the {fmt} format is JSON")
        yield from decode_csv(source, first, it, lineno, kind)
        return
    values = _first_line_values(first)
    if values is None:
        peeked: list[str] = []
        for raw in it:
            peeked.append(raw)
            if raw.strip():
                break
        if peeked and _parses_alone(peeked[-1]):
            reason = _json_reason(first)
            yield Skip(Where(source, lineno), f"invalid JSON line: {reason}")
            yield from _json_lines(source, chain(peeked, it), lineno, fmt, kind)
        else:
            yield from _document(source, first, chain(peeked, it), lineno, fmt, kind)
        return
    for value in values:
        yield from _line_item(value, source, lineno, fmt, kind)
    yield from _json_lines(source, it, lineno, fmt, kind)


def decode_json_line(
    source: str, line: int, text: str, *, fmt: Format = "auto", kind: EventKind | None = None
) -> Iterator[Event | Skip]:
    """The records of one JSON line (an export blob's line): Events and Skips, never raising."""
    return _json_lines(source, (text,), line - 1, fmt, kind)


def _json_lines(
    source: str, lines: Iterable[str], before: int, fmt: Format, kind: EventKind | None
) -> Iterator[Event | Skip]:
    """The hot path: one json.loads and one normalize per line, nothing kept."""
    loads = json.loads
    lineno = before
    for raw in lines:
        lineno += 1
        if type(raw) is not str and isinstance(raw, UndecodableLine):
            yield Skip(Where(source, lineno), raw.reason)
            continue
        try:
            record = loads(raw)
        except (ValueError, RecursionError):
            if raw.strip():  # a blank line is no record
                for value in line_values(raw):
                    yield from _line_item(value, source, lineno, fmt, kind)
            continue
        if type(record) is dict and not record.keys().isdisjoint(ENVELOPE_KEYS):
            yield from _records(record, source, lineno, fmt, kind, in_document=False)
        else:
            yield normalize_hinted(record, source, lineno, fmt, kind, None)


def _line_item(
    value: object, source: str, lineno: int, fmt: Format, kind: EventKind | None
) -> Iterator[Event | Skip]:
    """One value of a JSON line (slow path): a record, an envelope or the unparsable rest."""
    if isinstance(value, BadJSON):
        yield Skip(Where(source, lineno), f"invalid JSON line: {value.reason}")
    elif isinstance(value, Mapping) and not value.keys().isdisjoint(ENVELOPE_KEYS):
        yield from _records(value, source, lineno, fmt, kind, in_document=False)
    else:
        yield normalize_hinted(value, source, lineno, fmt, kind, None)


def _records(
    doc: object,
    source: str,
    line: int | None,
    fmt: Format,
    kind: EventKind | None,
    *,
    in_document: bool,
) -> Iterator[Event | Skip]:
    """The records of one parsed value: a page, an envelope, an array or one record."""
    kind_hint: EventKind | None = None
    items: list[Any]
    where = "the array"
    if isinstance(doc, list):
        items = doc
    elif isinstance(doc, Mapping) and isinstance(doc.get("value"), list):
        items = doc["value"]  # Graph page
        kind_hint = kind_from_context(doc.get("@odata.context"))
        fmt = "graph" if fmt == "auto" else fmt
        where = "value"
    elif isinstance(doc, Mapping) and isinstance(doc.get("records"), list):
        items = doc["records"]  # diagnostic-settings envelope (PT1H.json, Event Hub)
        fmt = "diagnostic" if fmt == "auto" else fmt
        where = "records"
    elif isinstance(doc, Mapping) and "tables" in doc and _is_query_response(doc):
        # Log Analytics query API response: rows are numbered by their path.
        fmt = "loganalytics" if fmt == "auto" else fmt
        for path, row in query_rows(doc["tables"]):
            if isinstance(row, RowProblem):
                yield Skip(Where(source, line, row.path), row.reason)
            else:
                yield normalize_hinted(row, source, line, fmt, kind, None, f"{path}: ")
        return
    else:
        yield normalize_hinted(doc, source, line, fmt, kind, None)
        return
    for i, item in enumerate(items, 1):
        label = f"{where}[{i - 1}]: " if in_document or len(items) > 1 else ""
        yield normalize_hinted(item, source, line, fmt, kind, kind_hint, label)


def _is_query_response(doc: Mapping[str, Any]) -> bool:
    # {"tables": ...} with nothing of a record beside it (a record may have a "tables" field).
    return all(key in ("tables", "@odata.context", "statistics", "render") for key in doc)


def _document(
    source: str,
    first: str,
    rest: Iterable[str],
    lineno: int,
    fmt: Format,
    kind: EventKind | None,
) -> Iterator[Event | Skip]:
    parts: list[str] = [first]
    for number, raw in enumerate(rest, lineno + 1):
        if isinstance(raw, UndecodableLine):
            raise InputError(Where(source, number), f"invalid JSON document: {raw.reason}")
        parts.append(raw)
    text = "".join(parts) if first.endswith("\n") else "\n".join(parts)
    try:
        doc = loads_tolerant(text)
    except json.JSONDecodeError as exc:
        line, reason = _locate(text, exc)
        try:
            # Form feed, vertical tab, \x1c-\x1e between values are whitespace; inside a
            # string they are invalid JSON either way, so blanking them changes nothing valid.
            doc = loads_tolerant(text.translate(_CONTROL_BREAKS))
        except ValueError:
            raise InputError(Where(source, lineno - 1 + line), reason) from None
    yield from _records(doc, source, None, fmt, kind, in_document=True)


def _locate(text: str, exc: json.JSONDecodeError) -> tuple[int, str]:
    """The line of a JSON error; a trailing comma is named as such, on its own line."""
    pos = exc.pos - 1
    while pos >= 0 and text[pos] in " \t\r\n":
        pos -= 1
    if pos >= 0 and text[pos] == "," and text[exc.pos : exc.pos + 1] in ("]", "}"):
        line = text.count("\n", 0, pos) + 1
        return line, f"invalid JSON document: trailing comma before {text[exc.pos]!r}"
    return exc.lineno, f"invalid JSON document: {exc.msg} (column {exc.colno})"


def _first_line_values(line: str) -> list[Any] | None:
    """The values of a first line that holds whole JSON values, else None (a document)."""
    try:
        return [json.loads(line)]
    except (ValueError, RecursionError):
        pass
    values = line_values(line)  # several records on one line (form-feed separated)
    if not values or any(isinstance(v, BadJSON) for v in values):
        return None  # "{...}," is a line of a pretty-printed document, not a JSON line
    return values


def _json_reason(line: str) -> str:
    try:
        json.loads(line)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} (column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__
    return "invalid"


def _parses_alone(line: str) -> bool:
    values = _first_line_values(line)
    return values is not None and isinstance(values[0], dict)
