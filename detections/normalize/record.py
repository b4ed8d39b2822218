"""One record -> one Event, or a Skip saying where and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from detections.errors import Where
from detections.model import Event, EventKind
from detections.normalize.audit import looks_like_audit
from detections.normalize.diagnostic import normalize_diagnostic
from detections.normalize.fields import FieldError, brief
from detections.normalize.graph import kind_from_fields, normalize_graph
from detections.normalize.jsontext import NESTED_TOO_DEEPLY, TooDeep
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


# Top-level keys of a diagnostic-settings record, matched in any casing (``Properties``).
_DIAGNOSTIC_KEYS = frozenset({"properties", "category", "operationname"})


def detect_format(record: Mapping[str, Any]) -> Format:
    """Which shape one record has, from its keys alone (diagnostic keys in any casing)."""
    return _detect(record)[0]


def _detect(record: Mapping[str, Any]) -> tuple[Format, EventKind | None]:
    """The format, and for a Graph object told by its fields alone, its kind (so that the
    Graph normalizer does not ask the fields again)."""
    if "properties" in record:
        return "diagnostic", None
    if not record.keys().isdisjoint(MARKERS):
        # A capitalised export record (Time, Category, Properties, TenantId) shares TenantId.
        shape: Format = "diagnostic" if _has_key_any_case(record, "properties") else "loganalytics"
        return shape, None
    if "activityDateTime" in record and looks_like_audit(record):
        return "graph", None  # a Graph directoryAudit has a category of its own (RoleManagement)
    if "category" in record or "operationName" in record or "operationname" in record:
        return "diagnostic", None  # an export record without properties: skipped with its category
    if "@odata.type" in record:
        return "graph", None
    kind = kind_from_fields(record)
    if kind is not None:
        return "graph", kind  # the hot path: a Graph object never needs the key scan below
    if any(type(k) is str and k.lower() in _DIAGNOSTIC_KEYS for k in record):
        return "diagnostic", None
    return "graph", None


def _has_key_any_case(record: Mapping[str, Any], wanted: str) -> bool:
    return any(type(k) is str and k.lower() == wanted for k in record)


def normalize_record(
    record: object,
    *,
    source: str = "<record>",
    line: int | None = None,
    fmt: Format = "auto",
    kind: EventKind | None = None,
) -> Event | Skip:
    """Normalize one decoded record; ``fmt`` and ``kind`` override detection.

    Anything that is not a JSON object (a Graph page's stray value, TooDeep) is a Skip.
    """
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
        if isinstance(record, TooDeep):
            return Skip(Where(source, line, record.path or None), label + NESTED_TOO_DEEPLY)
        return Skip(Where(source, line), f"{label}not a JSON object: {type(record).__name__}")
    try:
        if fmt == "auto":
            shape, by_fields = _detect(record)
            # What the fields say is what the Graph normalizer would find without a hint.
            kind_hint = kind_hint or by_fields
        else:
            shape = fmt
        if shape == "graph":
            return normalize_graph(record, kind, kind_hint)
        if shape == "diagnostic":
            return normalize_diagnostic(record, kind)
        if shape == "loganalytics":
            return normalize_loganalytics(record, kind)
        return Skip(Where(source, line), f"unknown format {shape!r}")
    except FieldError as exc:
        return Skip(Where(source, line, exc.field), label + exc.reason)
    except RecursionError:
        # A value parsed, but too deep to walk or print (json.dumps, repr): skip it.
        return Skip(Where(source, line), label + NESTED_TOO_DEEPLY)
    except (AttributeError, TypeError, ValueError, KeyError, OverflowError) as exc:
        # A field of an unexpected type deep inside: skip the record, never stop the batch.
        reason = f"{type(exc).__name__}: {brief(str(exc))}"
        return Skip(Where(source, line), f"{label}malformed record: {reason}")
