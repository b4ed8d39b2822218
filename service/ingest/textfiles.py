"""Input files as lines of text, each decoded on its own.

Files are read as bytes and split on ``\\n`` only (never on form feed, vertical tab or
the other breaks ``str.splitlines`` knows), so line numbers match what an editor or
``grep -n`` shows; a line that is not UTF-8 reaches ``decode`` as an ``UndecodableLine``
and is skipped by name, where decoding the whole file at once would refuse all of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from detections.normalize.lines import decode_line


@contextmanager
def open_lines(path: Path) -> Iterator[Iterator[str]]:
    """The lines of ``path`` as text (a byte order mark stays for ``decode`` to drop)."""
    with path.open("rb") as handle:
        yield _lines(handle)


def _lines(handle: BinaryIO) -> Iterator[str]:
    for raw in handle:
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield decode_line(raw)  # the rare bad line: named, with its first bad byte
