"""One record -> one Event, or a Skip saying where and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from detections.errors import Where
from detections.model import Event, EventKind
from detections.normalize.diagnostic import normalize_diagnostic
from detections.normalize.fields import FieldError
from detections.normalize.graph import normalize_graph
from detections.normalize.loganalytics import MARKERS, normalize_loganalytics

Format: TypeAlias = Literal["auto", "graph", "diagnostic", "loganalytics"]
FORMATS: tuple[Format, ...] = ("auto", "graph", "diagnostic", "loganalytics")


@dataclass(frozen=True, slots=True)
class Skip:
    """A record that could not be used: where it is and why, for the skip report."""

    where: Where
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def detect_format(record: Mapping[str, Any]) -> Format:
    """Which shape one record has, from its keys alone."""
    if "properties" in record:
        return "diagnostic"
    if not record.keys().isdisjoint(MARKERS):
        return "loganalytics"
    if "category" in record or "operationName" in record or "operationname" in record:
        return "diagnostic"  # an export record without properties: skipped with its category
    return "graph"


def normalize_record(
    record: Mapping[str, Any],
    *,
    source: str = "<record>",
    line: int | None = None,
    fmt: Format = "auto",
    kind: EventKind | None = None,
) -> Event | Skip:
    """Normalize one decoded record; ``fmt`` and ``kind`` override detection."""
    return normalize_hinted(record, source, line, fmt, kind, None)


def normalize_hinted(
    record: object,
    source: str,
    line: int | None,
    fmt: Format,
    kind: EventKind | None,
    kind_hint: EventKind | None,
    label: str = "",
) -> Event | Skip:
    """normalize_record plus the decoder's page-level kind hint and a record label."""
    if type(record) is not dict and not isinstance(record, Mapping):
        return Skip(Where(source, line), f"{label}not a JSON object: {type(record).__name__}")
    try:
        shape = detect_format(record) if fmt == "auto" else fmt
        if shape == "graph":
            return normalize_graph(record, kind, kind_hint)
        if shape == "diagnostic":
            return normalize_diagnostic(record, kind)
        if shape == "loganalytics":
            return normalize_loganalytics(record, kind)
        return Skip(Where(source, line), f"unknown format {shape!r}")
    except FieldError as exc:
        return Skip(Where(source, line, exc.field), label + exc.reason)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        # A field of an unexpected type deep inside: skip the record, never stop the batch.
        return Skip(Where(source, line), f"{label}malformed record: {exc}")
