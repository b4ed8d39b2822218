"""Lines a reader could not decode: named and skipped by ``decode``, never fatal.

A file is read as bytes and split on ``\\n`` only; each line is decoded on its own, so one
line of invalid UTF-8 costs that line, not the file. The reader (service/) hands such a
line to ``decode`` as an ``UndecodableLine``: its text is the line with U+FFFD for the
bad bytes (for the CSV reader's bookkeeping), and ``reason`` says which byte was bad.
"""

from __future__ import annotations


class UndecodableLine(str):
    """A line that is not valid UTF-8; ``decode`` skips it, naming its line number."""

    reason: str

    def __new__(cls, text: str, reason: str) -> UndecodableLine:
        line = super().__new__(cls, text)
        line.reason = reason
        return line


def decode_line(raw: bytes) -> str:
    """One line of bytes as text, or an UndecodableLine naming the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return UndecodableLine(
            raw.decode("utf-8", errors="replace"), f"not valid UTF-8 (byte {exc.start + 1})"
        )
