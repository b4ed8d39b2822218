"""Property tests: no record, value or line makes the normalizer (or a rule) raise.

For every input shape (Graph sign-in, risk detection, risky user; a diagnostic record of
each category; a Log Analytics row as JSON, in the query API and as CSV), built on the
Microsoft Graph documentation samples: any JSON value at any field path, any byte string
as a line and any text in any string field give an Event or a Skip naming its line (and
its field when one field is to blame), never an exception; every Event encodes as UTF-8
JSON and passes through every rule without a failure.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from detections.engine import Engine
from detections.enrich import Enricher
from detections.model import Event
from detections.normalize import Skip, decode
from detections.normalize.lines import decode_line
from detections.registry import load_rules
from detections.timeparse import EARLIEST, LATEST
from tests.graph_server import GraphRecords, iso, risky_user
from tests.hostile_records import T0, set_path
from tests.strategies import strings

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "peer-corpus"
RECORDS = GraphRecords(CORPUS)
RULES = load_rules()
WHEN = T0 + timedelta(minutes=5)

SIGN_IN = RECORDS.sign_in(1, WHEN, riskLevelDuringSignIn="high", riskState="atRisk")
DETECTION = RECORDS.risk_detection(1, WHEN)
RISKY_USER = risky_user(1, WHEN)


def diagnostic(category: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"time": iso(WHEN), "resourceId": "/tenants/t-1/providers/Microsoft.aadiam",
            "operationName": "Sign-in activity", "category": category, "resultType": "0",
            "callerIpAddress": "203.0.113.5", "correlationId": "corr-1",
            "properties": properties}  # fmt: skip


def la_row(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """A Log Analytics row: the Graph fields in PascalCase, nested objects as JSON text."""
    row = {"TimeGenerated": iso(WHEN), "Type": table, "TenantId": "t-1"}
    for key, value in record.items():
        column = {"id": "Id", "ipAddress": "IPAddress", "location": "LocationDetails"}.get(
            key, key[:1].upper() + key[1:]
        )
        row[column] = json.dumps(value) if isinstance(value, dict | list) else value
    return row


BASES: dict[str, dict[str, Any]] = {
    "graph sign-in": SIGN_IN,
    "graph risk detection": DETECTION,
    "graph risky user": RISKY_USER,
    "diagnostic SignInLogs": diagnostic("SignInLogs", SIGN_IN),
    "diagnostic NonInteractiveUserSignInLogs": diagnostic("NonInteractiveUserSignInLogs", SIGN_IN),
    "diagnostic ServicePrincipalSignInLogs": diagnostic("ServicePrincipalSignInLogs", SIGN_IN),
    "diagnostic ManagedIdentitySignInLogs": diagnostic("ManagedIdentitySignInLogs", SIGN_IN),
    "diagnostic UserRiskEvents": diagnostic("UserRiskEvents", DETECTION),
    "diagnostic ServicePrincipalRiskEvents": diagnostic("ServicePrincipalRiskEvents", DETECTION),
    "diagnostic RiskyUsers": diagnostic("RiskyUsers", RISKY_USER),
    "loganalytics SigninLogs": la_row("SigninLogs", SIGN_IN),
    "loganalytics AADUserRiskEvents": la_row("AADUserRiskEvents", DETECTION),
    "loganalytics AADRiskyUsers": la_row("AADRiskyUsers", RISKY_USER),
}


def field_paths(record: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in record.items():
        yield prefix + key
        if isinstance(value, dict):
            yield from field_paths(value, f"{prefix}{key}.")


PATHS = sorted({(name, path) for name, base in BASES.items() for path in field_paths(base)}
               | {(name, "extra") for name in BASES})  # fmt: skip

def _get(record: dict[str, Any], path: str) -> object:
    value: object = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


STRING_PATHS = [(n, p) for n, p in PATHS if isinstance(_get(BASES[n], p), str)]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6,
)  # fmt: skip


def judged(items: list[Event | Skip], source: str) -> list[Event]:
    """The events of a decode, after checking every Skip names its input and line."""
    events = []
    for item in items:
        if isinstance(item, Skip):
            assert item.where.source == source and item.reason
            assert "malformed record" not in item.reason, item  # the safety net never fires
        else:
            events.append(item)
    return events


def assert_safe(events: list[Event]) -> None:
    """Every event encodes as UTF-8 JSON, lies in the time range and passes every rule."""
    for event in events:
        values = dataclasses.asdict(event)
        json.dumps(values, default=str, ensure_ascii=False).encode("utf-8")
        for value in values.values():
            if isinstance(value, datetime):
                assert value.tzinfo is UTC and EARLIEST <= value < LATEST
    engine = Engine(RULES, enricher=Enricher())
    for _, failures in engine.run(events):
        assert failures == [], failures


def scan_lines(lines: list[str], source: str = "in.jsonl") -> list[Event | Skip]:
    return list(decode(source, lines))


@given(case=st.sampled_from(PATHS), value=JSON_VALUES)
@example(case=("graph sign-in", "ipAddress"), value={"a": 1})
@example(case=("graph sign-in", "location.city"), value=[1])
@example(case=("graph sign-in", "userId"), value=True)
@example(case=("graph sign-in", "createdDateTime"), value="9999-12-31T23:00:00-05:00")
@example(case=("graph sign-in", "status.errorCode"), value=10**30)
@example(case=("graph sign-in", "signInEventTypes"), value=[{"a": 1}])
@example(case=("graph sign-in", "location.geoCoordinates.latitude"), value=float("inf"))
@example(case=("diagnostic SignInLogs", "category"), value=["x"])
@example(case=("loganalytics SigninLogs", "Status"), value="[" * 5000 + "]" * 5000)
@example(case=("graph risk detection", "additionalInfo"), value=[[{"Key": [[1]]}]])
def test_any_json_value_at_any_field_path(case: tuple[str, str], value: object) -> None:
    name, path = case
    record = set_path(BASES[name], path, value)
    items = scan_lines([json.dumps(record) + "\n"])
    assert len(items) == 1
    (item,) = items
    if isinstance(item, Skip):
        # One field changed: the skip names a field (not always that one: an id given as a
        # number is fine, and then the record may lack what another field would have said).
        assert item.where.line == 1 and item.where.field, item
        assert "malformed record" not in item.reason, item
    else:
        assert_safe([item])


@given(case=st.sampled_from(STRING_PATHS), text=strings())
@example(case=("graph sign-in", "userPrincipalName"), text="\ud800@contoso.com")
@example(case=("graph sign-in", "userAgent"), text="a\u2028b\x85c\fd\ve")
@example(case=("diagnostic SignInLogs", "properties.ipAddress"), text="\udfff")
def test_any_text_in_any_string_field(case: tuple[str, str], text: str) -> None:
    name, path = case
    record = set_path(BASES[name], path, text)
    events = judged(scan_lines([json.dumps(record) + "\n"]), "in.jsonl")
    assert_safe(events)


GOOD = json.dumps(SIGN_IN).encode()


@given(raw=st.binary(max_size=200))
@example(raw=b"\xff\xfe")
@example(raw=b"\xed\xa0\x80")  # a UTF-8-encoded surrogate: not valid UTF-8
@example(raw=b"[" * 5000)
@example(raw=b'{"value": 1}')
@example(raw=b'{"tables": [{"columns": 1, "rows": 2}]}')
@example(raw=b"\f\v\x1c\x1d\x1e")
def test_any_bytes_as_a_line_cost_at_most_that_line(raw: bytes) -> None:
    # The reader splits on \n only, so the hostile bytes may make several lines.
    physical = GOOD + b"\n" + raw + b"\n" + GOOD.replace(b'"si-', b'"si-2-') + b"\n"
    lines = [decode_line(part) for part in physical.split(b"\n")[:-1]]
    events = judged(scan_lines(lines), "in.jsonl")
    ids = {e.event_id for e in events}
    assert {"si-interactiveUser-00001", "si-2-interactiveUser-00001"} <= ids
    assert_safe(events)


CSV_COLUMNS = list(la_row("SigninLogs", SIGN_IN))


def to_csv(row: dict[str, Any]) -> list[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"{c} [UTC]" if c == "TimeGenerated" else c for c in CSV_COLUMNS])
    writer.writerow([row.get(c, "") for c in CSV_COLUMNS])
    return out.getvalue().splitlines(keepends=True)


@given(column=st.sampled_from(CSV_COLUMNS), text=strings())
@example(column="TimeGenerated", text="5/25/2023, 4:32:49.469 AM")
@example(column="Status", text="[" * 3000)
@example(column="TimeGenerated", text="1/1/0001, 12:00:00 AM")
def test_any_text_in_any_csv_cell(column: str, text: str) -> None:
    row = dict(la_row("SigninLogs", SIGN_IN), **{column: text})
    events = judged(list(decode("export.csv", to_csv(row))), "export.csv")
    assert_safe(events)


@given(tables=JSON_VALUES)
@example(tables={"a": 1})
@example(tables=[{"columns": [{"name": "Type"}], "rows": 5}])
@example(tables=[{"columns": [{"name": "Type"}, {"name": "Id"}], "rows": [["SigninLogs"]]}])
def test_any_tables_value_in_a_query_response(tables: object) -> None:
    events = judged(scan_lines([json.dumps({"tables": tables}) + "\n"]), "in.jsonl")
    assert_safe(events)
