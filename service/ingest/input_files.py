"""The one file reader of ``riskwatch scan`` and of the job's ``--input`` files.

Each file is decoded record by record (``detections.normalize.decode``) from lines
split on ``\\n`` (``service.ingest.textfiles``); one bad line is a ``Skip`` naming its file and
line, and a whole file that cannot be used is one reason (``unreadable``), not a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from detections.errors import InputError
from detections.model import Event, EventKind
from detections.normalize import Format, Skip, decode
from service.ingest.textfiles import open_lines

Unreadable = (InputError, OSError)  # what reading a whole file may raise


def decoded(
    path: Path, fmt: Format = "auto", kind: EventKind | None = None
) -> Iterator[Event | Skip]:
    """The events and skips of one file; raises one of ``Unreadable``."""
    with open_lines(path) as lines:
        yield from decode(str(path), lines, fmt=fmt, kind=kind)


def unreadable(path: Path, exc: InputError | OSError) -> str:
    """Why ``path`` could not be read, in one line naming it."""
    if isinstance(exc, InputError):
        return str(exc)
    return f"{path}: {exc.strerror or exc}"
