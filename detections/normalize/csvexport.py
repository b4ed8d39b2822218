"""The Log Analytics portal's CSV export, streamed with the csv module."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import chain

from detections.errors import InputError, Where
from detections.model import Event, EventKind
from detections.normalize.lines import UndecodableLine
from detections.normalize.loganalytics import MARKERS
from detections.normalize.record import Skip, normalize_hinted


class _Numbered:
    """The lines fed to csv.reader, remembering which physical lines were not UTF-8."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = lines
        self.bad: dict[int, str] = {}  # physical line (1-based) -> reason

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self.lines, 1):
            if isinstance(raw, UndecodableLine):
                self.bad[number] = raw.reason
            yield raw

    def problem(self, first: int, last: int) -> str | None:
        """The reason of a bad line within [first, last]; forgets lines up to ``last``."""
        if not self.bad:
            return None
        found = next((self.bad[n] for n in sorted(self.bad) if first <= n <= last), None)
        for n in [n for n in self.bad if n <= last]:
            del self.bad[n]
        return found


def decode_csv(
    source: str, first: str, rest: Iterator[str], lineno: int, kind: EventKind | None
) -> Iterator[Event | Skip]:
    numbered = _Numbered(chain([first], rest))
    reader = csv.reader(numbered)
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
            numbered.problem(done + 1, reader.line_num)
            done = reader.line_num
            continue
        start, done = offset + done + 1, reader.line_num
        problem = numbered.problem(start - offset, done)
        if problem is not None:
            yield Skip(Where(source, start), problem)
            continue
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
