"""JSON text json.loads alone cannot take: too deep, several values a line, bad bytes."""

from __future__ import annotations

import json

from detections.model import SignIn
from detections.normalize import Skip, UndecodableLine, decode, decode_json_line
from detections.normalize.jsontext import BadJSON, TooDeep, deep_path, line_values, loads_tolerant
from detections.normalize.lines import decode_line

RECORD = {"id": "s-1", "createdDateTime": "2026-11-02T09:00:00Z", "appId": "app-1"}
DEEP = "[" * 50_000 + "]" * 50_000


def test_deep_path_names_the_deep_branch_not_the_first_nested_field() -> None:
    text = json.dumps({"location": {"geo": {"a": {"b": 1}}}})[:-1] + f', "extra": {DEEP}}}'
    assert deep_path(text) == "extra[0][0]..."
    assert deep_path('{"a": [1, {"b": [[[[[[]]]]]]}]}') == "a[1].b..."


def test_loads_tolerant_keeps_the_good_records_of_an_envelope() -> None:
    text = f'{{"value": [{json.dumps(RECORD)}, {{"x": {DEEP}}}], "@odata.context": "c"}}'
    doc = loads_tolerant(text)
    assert doc["value"][0] == RECORD and doc["@odata.context"] == "c"
    assert doc["value"][1] == TooDeep("x[0][0]...")
    assert loads_tolerant(json.dumps(RECORD)[:-1] + f', "y": {DEEP}}}') == TooDeep("y[0][0]...")


def test_line_values_splits_on_line_breaks_that_are_not_newlines() -> None:
    one = json.dumps(RECORD)
    assert line_values(f"\f{one}\v{one}\x1c{one}\u2028{one}\x85") == [RECORD] * 4
    good, rest = line_values(f"{one} junk")
    assert good == RECORD and rest == BadJSON(f"Expecting value (column {len(one) + 2})")


def test_undecodable_lines_are_named_skips_in_json_lines_and_csv() -> None:
    bad = decode_line(b'{"id": "\xff"}\n')
    assert isinstance(bad, UndecodableLine) and bad.reason == "not valid UTF-8 (byte 9)"
    items = list(decode("in.jsonl", [json.dumps(RECORD) + "\n", bad, json.dumps(RECORD)]))
    assert [type(i) for i in items] == [SignIn, Skip, SignIn]
    assert str(items[1]) == "in.jsonl:2: not valid UTF-8 (byte 9)"
    csv_lines = ["TimeGenerated,Type,Id,AppId\n", "2026-11-02T09:00:00Z,SigninLogs,a,x\n",
                 decode_line(b"2026-11-02T09:00:00Z,SigninLogs,\xfe,x\n"),
                 "2026-11-02T09:00:00Z,SigninLogs,c,x\n"]  # fmt: skip
    items = list(decode("export.csv", csv_lines))
    assert [getattr(i, "id", None) for i in items] == ["a", None, "c"]
    assert isinstance(items[1], Skip) and items[1].where.line == 3


def test_a_file_of_only_undecodable_lines_is_named_not_refused() -> None:
    items = list(decode("bad.jsonl", [decode_line(b"\xff\n"), decode_line(b"\xfe")]))
    assert [i.where.line for i in items if isinstance(i, Skip)] == [1, 2]


def test_decode_json_line_never_raises() -> None:
    assert [type(i) for i in decode_json_line("blob", 7, DEEP)] == [Skip]
    (skip,) = decode_json_line("blob", 7, "{oops")
    assert isinstance(skip, Skip) and skip.where.line == 7
    (event,) = decode_json_line("blob", 8, json.dumps(RECORD), fmt="graph")
    assert isinstance(event, SignIn)
