"""Input records exactly as received, kept beside their events for the evidence bundles.

A Graph page keeps each object's own bytes: the page text is walked once more with
``json.JSONDecoder.raw_decode`` (C speed), which gives every ``value`` element's span, so
the bytes are the page's bytes, not a re-serialisation. Export lines and JSON-lines files
keep their line's bytes. Where spans cannot be found (a page that was not valid UTF-8, a
nesting too deep to parse, a document shape without records), a record is kept as its
canonical re-serialisation and marked ``exact=False``, and the manifest says so.

Memory follows the batch: a source keeps the records of the batch it yields, never more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detections.model import Event, EventKind
from detections.normalize import Format, Skip, decode
from detections.normalize.lines import decode_line

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
RECORD_KEYS = ("value", "records")  # the envelopes whose elements are records (decode's order)


@dataclass(frozen=True, slots=True, kw_only=True)
class RawRecord:
    """One input record exactly as received."""

    event_id: str
    source: str  # "graph:signIns", "export:<blob name>", "file:<path>:<line>"
    body: bytes  # the Graph JSON object / export line, byte for byte
    exact: bool = True  # False: a canonical re-serialisation (the bytes were not kept)


def canonical(record: Any) -> bytes:
    """A record's JSON without the input's spacing: what is kept when its bytes were not."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def element_spans(text: str) -> list[tuple[int, int]] | None:
    """The (start, end) of every record of a JSON document: a top-level array's elements,
    else the elements of its ``value`` list (a Graph page), else of ``records``; None when
    the text holds no such list or cannot be walked (the caller falls back to canonical)."""
    try:
        i = _WS.match(text).end()  # type: ignore[union-attr]  # [ \t\n\r]* always matches
        if text.startswith("[", i):
            return _array(text, i)[0]
        if not text.startswith("{", i):
            return None
        found: dict[str, list[tuple[int, int]]] = {}
        i = _skip(text, i + 1)
        while not text.startswith("}", i):
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if not text.startswith(":", i):
                return None
            i = _skip(text, i + 1)
            if key in RECORD_KEYS and text.startswith("[", i):
                found[key], i = _array(text, i)
            else:
                _, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if text.startswith(",", i):
                i = _skip(text, i + 1)
            elif not text.startswith("}", i):
                return None
    except (ValueError, RecursionError):
        return None
    return next((found[k] for k in RECORD_KEYS if k in found), None)


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()  # type: ignore[union-attr]


def _array(text: str, i: int) -> tuple[list[tuple[int, int]], int]:
    spans: list[tuple[int, int]] = []
    i = _skip(text, i + 1)
    while not text.startswith("]", i):
        _, end = _DECODER.raw_decode(text, i)
        spans.append((i, end))
        i = _skip(text, end)
        if text.startswith(",", i):
            i = _skip(text, i + 1)
        elif not text.startswith("]", i):
            raise ValueError("not a JSON array")
    return spans, i + 1


def page_bodies(content: bytes | None, records: Sequence[Any]) -> list[tuple[bytes, bool]]:
    """Each record of a Graph page as (bytes, exact): the page's own bytes of the object
    when the page was UTF-8 and its spans match the parsed records, else canonical."""
    spans = None
    text = ""
    if content:
        try:
            text = content.decode("utf-8-sig")
            spans = element_spans(text)
        except UnicodeDecodeError:
            spans = None
    if spans is not None and len(spans) == len(records):
        return [(text[s:e].encode("utf-8"), True) for s, e in spans]
    return [(_canonical_or_empty(r), False) for r in records]


def _canonical_or_empty(record: Any) -> bytes:
    try:
        return canonical(record)
    except (TypeError, ValueError, RecursionError):  # TooDeep and the like: skipped anyway
        return b""


def line_parts(line: bytes) -> list[bytes]:
    """The records of one line: the elements of a ``value`` / ``records`` envelope line
    (each its own bytes), else the whole line (without its line break)."""
    line = line.rstrip(b"\n").rstrip(b"\r")
    if b'"value"' in line or b'"records"' in line or line.lstrip().startswith(b"["):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return [line]
        spans = element_spans(text)
        if spans:
            return [text[s:e].encode("utf-8") for s, e in spans]
    return [line]


class _Lines:
    """A file's lines as text for ``decode``, remembering the bytes of the newest one."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.number = 0
        self.last = b""
        self.exhausted = False

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.number += 1
            self.last = raw
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                yield decode_line(raw)
        self.exhausted = True


def decoded_with_raw(
    path: Path, fmt: Format = "auto", kind: EventKind | None = None
) -> Iterator[tuple[Event | Skip, RawRecord | None]]:
    """``input_files.decoded`` with each event's raw record: its line for JSON lines (and a
    CSV row's last line), its span for a document read whole (decode gives one item per
    record, in order, which lines the items up with the spans)."""
    source = str(path)
    with path.open("rb") as handle:
        lines = _Lines(handle)
        spans: list[tuple[int, int]] | None = None
        text = ""
        document: bool | None = None
        index = line_no = within = 0
        parts: list[bytes] = []
        for item in decode(source, lines, fmt=fmt, kind=kind):
            if document is None:  # decode read the whole file before its first record
                document = lines.exhausted and lines.number > 1
                if document:
                    text = path.read_bytes().decode("utf-8-sig")
                    spans = element_spans(text)
            index += 1
            if isinstance(item, Skip):
                yield item, None
                continue
            if not document:
                if lines.number != line_no:  # the first record of a new line
                    line_no, within = lines.number, 0
                    parts = line_parts(lines.last)
                body = parts[within] if within < len(parts) else parts[-1]
                within += 1
                yield item, RawRecord(event_id=item.event_id, body=body,
                                      source=f"file:{source}:{line_no}")
            elif spans is not None and index <= len(spans):
                start, end = spans[index - 1]
                line = text.count("\n", 0, start) + 1
                yield item, RawRecord(event_id=item.event_id, source=f"file:{source}:{line}",
                                      body=text[start:end].encode("utf-8"))
            else:
                yield item, None  # a query response's rows: no record bytes to keep
