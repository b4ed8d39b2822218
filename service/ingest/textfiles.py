"""Input files as lines of text, each decoded on its own.

Files are split on ``\\n`` only (never on form feed, vertical tab or the other breaks
``str.splitlines`` knows), so line numbers match what an editor or ``grep -n`` shows; a
line that is not UTF-8 reaches ``decode`` as an ``UndecodableLine`` and is skipped by
name, where decoding the whole file at once would refuse all of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from detections.normalize.lines import decode_line

# What ``surrogateescape`` makes of a byte that is not UTF-8. Valid UTF-8 never decodes to
# a lone surrogate (the codec refuses encoded surrogates), so only a bad line holds one.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


@contextmanager
def open_lines(path: Path) -> Iterator[Iterator[str]]:
    """The lines of ``path`` as text (a byte order mark stays for ``decode`` to drop)."""
    # Decoded by the text layer in large blocks (about twice as fast as decoding each line
    # of a binary read); ``newline="\n"`` splits on ``\n`` alone and translates nothing.
    with path.open(encoding="utf-8", errors="surrogateescape", newline="\n") as handle:
        yield _lines(handle)


def _lines(handle: TextIO) -> Iterator[str]:
    search = _ESCAPED_BYTE.search
    for line in handle:
        if line.isascii() or search(line) is None:  # isascii: O(1), the common case
            yield line
        else:  # the rare bad line: its own bytes again, named with its first bad byte
            yield decode_line(line.encode("utf-8", "surrogateescape"))
