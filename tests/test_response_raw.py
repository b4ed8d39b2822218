"""Raw records as received: a Graph page's objects as their own bytes, files' lines and
document records byte for byte, canonical JSON (marked inexact) only when bytes are gone."""

from __future__ import annotations

import json
from pathlib import Path

from detections.normalize import Skip
from service.ingest.sources import SourceReport, file_batches
from service.response.raw import canonical, decoded_with_raw, element_spans, line_parts, page_bodies
from tests.test_cli import graph_sign_in

OBJECTS = [b'{"id" : "a", "city": "Z\\u00fcrich"}', b'{\n  "id": "b",\n  "x": [1, {"y": "]"}]\n}']
PAGE = (b'\xef\xbb\xbf{"@odata.context": "x", "value" : [ ' + OBJECTS[0] + b' ,\n' + OBJECTS[1]
        + b'], "@odata.nextLink": "https://graph.microsoft.com/next"}')


def test_a_graph_page_keeps_each_objects_own_bytes() -> None:
    records = json.loads(PAGE.decode("utf-8-sig"))["value"]
    assert page_bodies(PAGE, records) == [(OBJECTS[0], True), (OBJECTS[1], True)]


def test_a_page_that_is_not_utf8_is_kept_canonical_and_marked() -> None:
    broken = PAGE.replace(b"Z\\u00fcrich", b"Z\xfcrich")
    records = [{"id": "a", "city": "Z\ufffdrich"}, {"id": "b", "x": [1, {"y": "]"}]}]
    assert page_bodies(broken, records) == [(canonical(r), False) for r in records]


def test_spans_of_arrays_records_and_nothing_else() -> None:
    assert element_spans('[1, {"a": 2}]') == [(1, 2), (4, 12)]
    text = '{"records": [{"a": 1}], "other": {"value": 3}}'
    assert [text[s:e] for s, e in element_spans(text) or []] == ['{"a": 1}']
    assert element_spans('{"id": "x"}') is None
    assert element_spans('{"value": [1,') is None


def test_an_envelope_line_gives_each_record_its_own_bytes() -> None:
    line = b'{"records": [{"a": 1},  {"b": 2}]}\r\n'
    assert line_parts(line) == [b'{"a": 1}', b'{"b": 2}']
    assert line_parts(b'{"id": "x", "note": "no envelope"}\n') == [
        b'{"id": "x", "note": "no envelope"}']


def test_files_keep_lines_and_document_records_byte_for_byte(tmp_path: Path) -> None:
    one = json.dumps(graph_sign_in(1), separators=(" ,", " :"))
    two = json.dumps(graph_sign_in(2), indent=2)
    lines = tmp_path / "signins.jsonl"
    lines.write_bytes(b"\n" + one.encode() + b"\r\nnot json\n")
    document = tmp_path / "page.json"
    document.write_bytes(b'{"value": [\n' + two.encode() + b"\n]}\n")
    found = list(decoded_with_raw(lines)) + list(decoded_with_raw(document))
    raw = [r for item, r in found if not isinstance(item, Skip)]
    assert [r.body for r in raw if r] == [one.encode(), two.encode()]
    assert [r.source for r in raw if r] == [f"file:{lines}:2", f"file:{document}:2"]
    assert all(r is not None and r.exact for r in raw)
    assert sum(isinstance(item, Skip) for item, _ in found) == 1  # "not json", named


def test_file_batches_carry_the_raw_records_of_their_events(tmp_path: Path) -> None:
    path = tmp_path / "signins.jsonl"
    path.write_text("".join(json.dumps(graph_sign_in(n)) + "\n" for n in range(1, 4)))
    (batch,) = file_batches([path], SourceReport())
    assert set(batch.raw) == {e.event_id for e in batch.events}
    assert [batch.raw[e.event_id].body for e in batch.events] == [
        json.dumps(graph_sign_in(n)).encode() for n in range(1, 4)]
