"""decode(): format detection per file and per record, streaming, skips and errors."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from detections.errors import InputError
from detections.model import Device, Location, RiskDetection, RiskyUser, SignIn
from detections.normalize import Skip, construct, decode, detect_format, normalize_record
from detections.normalize.construct import fast_constructor
from detections.testing import risk_detection, risky_user, sign_in

GRAPH_SIGN_IN = {
    "id": "g-1",
    "createdDateTime": "2026-11-02T09:00:00Z",
    "userPrincipalName": "alice@contoso.com",
    "appId": "app-1",
    "status": {"errorCode": 0},
}
EXPORT_DETECTION = {
    "time": "8/22/2022 6:07:16 PM",
    "category": "UserRiskEvents",
    "properties": {"id": "d-1", "riskEventType": "passwordSpray", "riskLevel": "high"},
}
LA_RISKY_USER = {
    "Type": "AADRiskyUsers",
    "TimeGenerated": "2026-11-02T09:00:00Z",
    "Id": "u-1",
    "RiskLevel": "high",
}


def jsonl(*records: Any) -> list[str]:
    return [json.dumps(r) + "\n" for r in records]


def test_detect_format_per_record() -> None:
    assert detect_format(GRAPH_SIGN_IN) == "graph"
    assert detect_format(EXPORT_DETECTION) == "diagnostic"
    assert detect_format(LA_RISKY_USER) == "loganalytics"


def test_mixed_json_lines_file_is_detected_record_by_record() -> None:
    events = list(decode("mixed.jsonl", jsonl(GRAPH_SIGN_IN, EXPORT_DETECTION, LA_RISKY_USER)))
    assert [type(e) for e in events] == [SignIn, RiskDetection, RiskyUser]


def test_bare_array_document_and_single_object_document() -> None:
    text = json.dumps([GRAPH_SIGN_IN, EXPORT_DETECTION], indent=2)
    events = list(decode("array.json", text.splitlines(keepends=True)))
    assert [type(e) for e in events] == [SignIn, RiskDetection]
    single = json.dumps(GRAPH_SIGN_IN, indent=2).splitlines()  # lines without newlines
    assert [type(e) for e in decode("one.json", single)] == [SignIn]


def test_one_broken_line_yields_one_skip_and_the_rest_come_through() -> None:
    lines = jsonl(GRAPH_SIGN_IN, GRAPH_SIGN_IN)
    lines.insert(1, '{"id": "broken", \n')
    lines.insert(3, "\n")
    events = list(decode("stream.jsonl", lines))
    skips = [e for e in events if isinstance(e, Skip)]
    assert len(skips) == 1
    assert skips[0].where.line == 2 and "invalid JSON" in skips[0].reason
    assert sum(isinstance(e, SignIn) for e in events) == 2


def test_broken_first_line_of_json_lines_is_one_skip_not_a_rejected_file() -> None:
    events = list(decode("stream.jsonl", ['{"id": \n', *jsonl(GRAPH_SIGN_IN)]))
    assert isinstance(events[0], Skip) and events[0].where.line == 1
    assert isinstance(events[1], SignIn)


def test_record_skips_name_file_line_and_field() -> None:
    bad = dict(GRAPH_SIGN_IN, status={"errorCode": "NaN-ish"})
    events = list(decode("in.jsonl", jsonl(GRAPH_SIGN_IN, bad, 42)))
    assert isinstance(events[1], Skip)
    assert str(events[1].where) == "in.jsonl:2: field 'status.errorCode'"
    assert isinstance(events[2], Skip) and "not a JSON object" in events[2].reason


def test_json_lines_are_streamed_not_read_whole() -> None:
    consumed = 0

    def endless() -> Iterator[str]:
        nonlocal consumed
        while True:
            consumed += 1
            yield json.dumps(GRAPH_SIGN_IN) + "\n"

    stream = decode("endless.jsonl", endless())
    first_three = [next(stream) for _ in range(3)]
    assert all(isinstance(e, SignIn) for e in first_three)
    assert consumed <= 4


def test_format_override_and_kind_override() -> None:
    # Forced to graph, an export record is not a Graph object: skipped, not guessed.
    forced = list(decode("x.jsonl", jsonl(EXPORT_DETECTION), fmt="graph"))
    assert isinstance(forced[0], Skip)
    # A Graph record without tell-tale fields, read as a sign-in because the caller says so.
    bare = {"id": "b-1", "createdDateTime": "2026-11-02T09:00:00Z"}
    assert isinstance(normalize_record(bare), Skip)
    event = normalize_record(bare, fmt="graph", kind="signIn")
    assert isinstance(event, SignIn) and event.id == "b-1"


def test_unreadable_inputs_raise_input_error_naming_the_line() -> None:
    with pytest.raises(InputError, match="empty"):
        list(decode("empty.json", ["\n", "  \n"]))
    with pytest.raises(InputError) as caught:
        list(decode("doc.json", ["[\n", '  {"id": 1},\n', '  {"id": 2\n', "]\n"]))
    assert caught.value.where.line == 4
    with pytest.raises(InputError, match="neither JSON nor"):
        list(decode("notes.txt", ["hello world\n", "second line\n"]))
    with pytest.raises(InputError, match="not JSON"):
        list(decode("x.csv", ["TimeGenerated,Id\n"], fmt="graph"))


def test_byte_order_mark_and_leading_blank_lines_keep_line_numbers() -> None:
    lines = ["\ufeff\n", "\n", *jsonl(GRAPH_SIGN_IN), "{oops}\n"]
    events = list(decode("bom.jsonl", lines))
    assert isinstance(events[0], SignIn)
    assert isinstance(events[1], Skip) and events[1].where.line == 4


def test_records_inside_a_document_are_labelled() -> None:
    page = {"value": [GRAPH_SIGN_IN, dict(GRAPH_SIGN_IN, createdDateTime="never")]}
    events = list(decode("page.json", json.dumps(page, indent=2).splitlines(keepends=True)))
    assert isinstance(events[1], Skip)
    assert events[1].reason.startswith("value[1]: ")
    assert events[1].where.field == "createdDateTime"


@pytest.mark.parametrize(
    ("cls", "example"),
    [
        (SignIn, sign_in()),
        (RiskDetection, risk_detection()),
        (RiskyUser, risky_user()),
        (Location, sign_in().location),
        (Device, sign_in().device),
    ],
)
def test_fast_constructor_builds_equal_objects(cls: Any, example: Any) -> None:
    make = fast_constructor(cls)
    values = {f.name: getattr(example, f.name) for f in dataclasses.fields(cls)}
    built = make(**values)
    assert type(built) is cls
    assert built == example and hash(built) == hash(example)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, dataclasses.fields(cls)[0].name, None)  # still frozen
    required = {
        f.name: values[f.name] for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
    }
    assert make(**required) == cls(**required)  # defaults match the dataclass


def test_fast_constructor_without_a_twin_class_sets_the_slots_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fallback for a class Python will not let an instance of a twin become.
    monkeypatch.setattr(construct, "_twin", lambda cls: None)
    make = fast_constructor(Location)
    built = make(city="Oslo", country="NO", latitude=59.9)
    assert type(built) is Location
    assert built == Location(city="Oslo", country="NO", latitude=59.9)
