"""``service.ingest.textfiles``: lines split on ``\\n`` only, a bad line named on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detections.normalize import UndecodableLine
from detections.normalize.lines import decode_line
from service.ingest.textfiles import open_lines


def lines_of(path: Path) -> list[str]:
    with open_lines(path) as lines:
        return list(lines)


def each_line_alone(data: bytes) -> list[str]:
    """What the reader promises: the bytes cut after each ``\\n``, each line decoded alone."""
    parts = data.split(b"\n")
    raw = [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    return [decode_line(line) for line in raw]


def described(lines: list[str]) -> list[tuple[str, str, str | None]]:
    return [(type(s).__name__, str(s), getattr(s, "reason", None)) for s in lines]


def test_bad_bytes_cost_their_line_only(tmp_path: Path) -> None:
    data = (b"one\n\xef\xbb\xbfok\xc3\xa9\r\nbad\xff\xfeX\n\xed\xa0\x80surrogate\n"
            b"\x0cform\x0bfeed\x1cand\xc2\x85more\n\xe2\x82")  # fmt: skip
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(data)
    lines = lines_of(path)
    assert described(lines) == described(each_line_alone(data))
    assert len(lines) == 6
    assert lines[1] == "\ufeffok\u00e9\r\n"  # the mark stays for decode; \r is not a break
    assert isinstance(lines[2], UndecodableLine) and lines[2].reason.endswith("(byte 4)")
    assert isinstance(lines[3], UndecodableLine)  # an encoded surrogate is not UTF-8
    assert not isinstance(lines[4], UndecodableLine)  # form feed, NEL ...: one line
    assert isinstance(lines[5], UndecodableLine)  # cut in the middle of a character


@pytest.mark.parametrize("at", range(8186, 8196))
def test_characters_and_bad_bytes_across_the_readers_blocks(tmp_path: Path, at: int) -> None:
    # The file is decoded in blocks of 8 kB: what straddles one is read as a line alone.
    data = b"x" * at + b"\xf0\x9f\x99\x82 \xff\n" + b"y" * 20 + "\u00e9\n".encode()
    path = tmp_path / "long.jsonl"
    path.write_bytes(data)
    assert described(lines_of(path)) == described(each_line_alone(data))


# Bytes that make every case likely: ASCII, breaks of all kinds, valid and broken sequences.
pieces = st.sampled_from([b"a", b"{}", b"\n", b"\r", b"\r\n", b"\x0c", b"\xc2\x85", b"\xc3\xa9",
                          b"\xe2\x82\xac", b"\xf0\x9f\x99\x82", b"\xff", b"\xc3", b"\xed\xa0\x80",
                          b"\xef\xbb\xbf", b"\x00", b"\xe2\x80\xa8"])  # fmt: skip


@given(st.lists(pieces, max_size=40))
def test_any_bytes_read_as_each_line_decoded_alone(
    tmp_path_factory: pytest.TempPathFactory, data: list[bytes]
) -> None:
    joined = b"".join(data)
    path = tmp_path_factory.mktemp("lines") / "input.jsonl"
    path.write_bytes(joined)
    assert described(lines_of(path)) == described(each_line_alone(joined))
