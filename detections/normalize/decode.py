"""Text lines -> records -> events: JSON lines, JSON documents and CSV exports.

The shape of the input is decided from its first non-blank line:
- ``[``: a JSON document (a bare array), parsed whole;
- ``{`` and the line parses on its own: JSON lines, streamed one line at a time
  (a line may itself be a ``{"value": [...]}`` page or a ``{"records": [...]}`` envelope);
- ``{`` otherwise: a pretty-printed JSON document, parsed whole (unless the next line
  parses on its own: then it is JSON lines whose first line is broken);
- anything else: a Log Analytics CSV export, streamed with the csv module.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from typing import Any

from detections.errors import InputError, Where
from detections.model import Event, EventKind
from detections.normalize.graph import kind_from_context
from detections.normalize.loganalytics import MARKERS
from detections.normalize.record import FORMATS, Format, Skip, normalize_hinted


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
    for raw in it:
        lineno += 1
        first = raw[1:] if lineno == 1 and raw.startswith("\ufeff") else raw
        if first.strip():
            break
    else:
        raise InputError(Where(source), "empty input: no records")

    head = first.lstrip()
    if head.startswith("["):
        yield from _document(source, first, it, lineno, fmt, kind)
        return
    if not head.startswith("{"):
        if fmt not in ("auto", "loganalytics"):
            raise InputError(Where(source, lineno), f"not JSON, but the {fmt} format is JSON")
        yield from _csv(source, first, it, lineno, kind)
        return
    try:
        record = json.loads(first)
    except ValueError as exc:
        peeked: list[str] = []
        for raw in it:
            peeked.append(raw)
            if raw.strip():
                break
        if peeked and _parses_alone(peeked[-1]):
            yield Skip(Where(source, lineno), f"invalid JSON line: {_json_reason(exc)}")
            yield from _json_lines(source, chain(peeked, it), lineno, fmt, kind)
        else:
            yield from _document(source, first, chain(peeked, it), lineno, fmt, kind)
        return
    yield from _records(record, source, lineno, fmt, kind, in_document=False)
    yield from _json_lines(source, it, lineno, fmt, kind)


def _json_lines(
    source: str, lines: Iterable[str], before: int, fmt: Format, kind: EventKind | None
) -> Iterator[Event | Skip]:
    """The hot path: one json.loads and one normalize per line, nothing kept."""
    loads = json.loads
    lineno = before
    for raw in lines:
        lineno += 1
        try:
            record = loads(raw)
        except ValueError as exc:
            if raw.strip():
                yield Skip(Where(source, lineno), f"invalid JSON line: {_json_reason(exc)}")
            continue
        if type(record) is dict and ("value" in record or "records" in record):
            yield from _records(record, source, lineno, fmt, kind, in_document=False)
        else:
            yield normalize_hinted(record, source, lineno, fmt, kind, None)


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
    elif isinstance(doc, Mapping) and isinstance(doc.get("tables"), list):
        items = list(_query_rows(doc["tables"]))  # Log Analytics query API response
        fmt = "loganalytics" if fmt == "auto" else fmt
        where = "tables"
    else:
        yield normalize_hinted(doc, source, line, fmt, kind, None)
        return
    for i, item in enumerate(items, 1):
        label = f"{where}[{i - 1}]: " if in_document or len(items) > 1 else ""
        yield normalize_hinted(item, source, line, fmt, kind, kind_hint, label)


def _query_rows(tables: list[Any]) -> Iterator[dict[str, Any]]:
    for table in tables:
        if not isinstance(table, Mapping):
            continue
        names = [str(c.get("name")) for c in table.get("columns", []) if isinstance(c, Mapping)]
        for row in table.get("rows", []):
            yield dict(zip(names, row, strict=False))


def _document(
    source: str,
    first: str,
    rest: Iterable[str],
    lineno: int,
    fmt: Format,
    kind: EventKind | None,
) -> Iterator[Event | Skip]:
    parts = [first, *rest]
    text = "".join(parts) if first.endswith("\n") else "\n".join(parts)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        line, reason = _locate(text, exc)
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


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (column {exc.colno})"
    return str(exc)


def _parses_alone(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _csv(
    source: str, first: str, rest: Iterator[str], lineno: int, kind: EventKind | None
) -> Iterator[Event | Skip]:
    reader = csv.reader(chain([first], rest))
    # Portal exports write "TimeGenerated [UTC]"; the column is TimeGenerated.
    header = [h.split(" [", 1)[0].strip().lstrip("\ufeff") for h in next(reader)]
    if MARKERS.isdisjoint(header):
        raise InputError(
            Where(source, lineno),
            "neither JSON nor a Log Analytics CSV export (no TimeGenerated, Id, Type ... column)",
        )
    offset = lineno - 1
    done = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Skip(Where(source, offset + reader.line_num), f"bad CSV row: {exc}")
            done = reader.line_num
            continue
        start, done = offset + done + 1, reader.line_num
        if not row:
            continue
        if len(row) != len(header):
            yield Skip(
                Where(source, start), f"row has {len(row)} columns, the header has {len(header)}"
            )
            continue
        yield normalize_hinted(
            dict(zip(header, row, strict=True)), source, start, "loganalytics", kind, None
        )
