"""Tail registered export blobs: ranged reads from the saved offset, whole lines only.

PT1H.json grows all hour by appends that raise no event, so every timer run reads each
registered blob from its offset. A half-written last line stays for the next run; the
offset moves only after the caller has handled the lines (``commit`` called after
``chunks`` yielded them, or ``handle`` returned), and a blob is retired once its hour
is over and read to the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from detections.normalize.lines import decode_line
from service.ingest.export.cursors import BlobCursor, BlobCursorStore, OffsetError
from service.ingest.export.paths import blob_row_key

log = logging.getLogger("riskwatch.export")

DEFAULT_GRACE = timedelta(minutes=15)  # late appends after the hour, before retiring
DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # per ranged read; bounds memory per chunk


@dataclass(frozen=True, slots=True)
class ExportLine:
    """One JSON line of an export blob; ``number`` is 1-based within the blob.

    ``text`` is an ``UndecodableLine`` when the bytes are not UTF-8 (decode skips it).
    """

    container: str
    blob_name: str
    number: int
    text: str
    raw: bytes = b""  # the line's bytes as stored (without its "\n"), for evidence bundles

    @property
    def where(self) -> str:
        return f"{self.container}/{self.blob_name}:{self.number}"


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole lines read from ``cursor.offset`` up to ``end_offset`` (not yet committed)."""

    cursor: BlobCursor
    lines: list[ExportLine]
    end_offset: int
    lines_consumed: int  # physical lines, blank ones included (for numbering)
    blob_size: int
    missing: bool = False

    @property
    def at_end(self) -> bool:
        return self.end_offset >= self.blob_size


@dataclass(slots=True)
class TailReport:
    blobs: int = 0
    lines: int = 0
    retired: int = 0
    waiting_bytes: int = 0  # half-written tails left for the next run
    failures: list[str] = field(default_factory=list)


class ExportTailer:
    def __init__(
        self,
        blobs: BlobServiceClient,
        store: BlobCursorStore,
        grace: timedelta = DEFAULT_GRACE,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.blobs = blobs
        self.store = store
        self.grace = grace
        self.max_bytes = max_bytes
        # This tailer's own last write of each blob's cursor: a chunk read ahead continues
        # exactly where it left, so it commits with that write's etag (``commit``).
        self._written: dict[tuple[str, str], BlobCursor] = {}

    def hour_over(self, cursor: BlobCursor, now: datetime) -> bool:
        return now > cursor.hour + timedelta(hours=1) + self.grace

    def read(self, cursor: BlobCursor, now: datetime) -> Chunk:
        """Read new whole lines from the cursor's offset (step one of two)."""
        client = self.blobs.get_blob_client(cursor.container, cursor.blob_name)
        try:
            size = int(client.get_blob_properties().size)
        except ResourceNotFoundError:
            return Chunk(cursor, [], cursor.offset, 0, cursor.offset, missing=True)
        if size <= cursor.offset:
            return Chunk(cursor, [], cursor.offset, 0, size)
        # After the hour (and grace) nothing more is appended: a last line without a
        # newline is complete. Before that it may be half-written: wait for it.
        final = self.hour_over(cursor, now)
        length = min(size - cursor.offset, self.max_bytes)
        while True:
            data = client.download_blob(offset=cursor.offset, length=length).readall()
            reached_end = cursor.offset + len(data) >= size
            cut = len(data) if final and reached_end else data.rfind(b"\n") + 1
            if cut > 0 or cursor.offset + length >= size:
                break
            length = min(size - cursor.offset, length * 2)  # one line longer than a read
        lines, consumed = _split(data[:cut], cursor)
        return Chunk(cursor, lines, cursor.offset + cut, consumed, size)

    def commit(self, chunk: Chunk) -> BlobCursor:
        """Record that the chunk's lines are handled (step two): the offset moves."""
        cursor = chunk.cursor
        key = (cursor.container, cursor.blob_name)
        last = self._written.get(key)
        if last is not None and (last.offset, last.lines) == (cursor.offset, cursor.lines):
            cursor = last  # read ahead of the previous chunk's commit: continue from it
        elif last is not None and cursor.offset > last.offset:
            # The chunk before it was not committed (its judgement failed): moving the offset
            # past it would lose its lines. They all come again next run.
            raise OffsetError(f"{cursor.source}: a chunk read ahead of one not committed")
        if chunk.end_offset == cursor.offset:
            return cursor
        written = self.store.advance(cursor, chunk.end_offset, cursor.lines + chunk.lines_consumed)
        self._written[key] = written
        return written

    def chunks(
        self, now: datetime, report: TailReport, *, read_ahead: bool = False
    ) -> Iterator[Chunk]:
        """Every active blob's new whole lines, a chunk at a time, for the caller to judge
        and then ``commit``; finished hours are retired. A blob's next chunk is read from
        its stored offset, so a chunk the caller did not commit ends that blob's turn
        (its lines come again next run) and never blocks the other blobs.

        ``read_ahead``: the caller judges several chunks before committing any (the job's
        one judgement per run) and commits them in the order given. A blob's next chunk
        then starts where the last ended, nothing is committed or retired here (a chunk of
        blank lines too is the caller's to commit), and a chunk whose predecessor was not
        committed is refused by ``commit`` (its blob's lines all come again next run)."""
        for cursor in self.store.active():
            report.blobs += 1
            try:
                yield from self._chunks_of(cursor, now, report, read_ahead)
            except ResourceModifiedError:
                report.failures.append(f"{cursor.source}: cursor moved by another run; skipped")
            except Exception as exc:  # one failing blob never blocks the others
                report.failures.append(f"{cursor.source}: {type(exc).__name__}: {exc}")
                log.exception("export blob %s failed; offset kept", cursor.source)

    def tail(self, handle: Callable[[Chunk], None], now: datetime) -> TailReport:
        """Read, hand over and commit every active blob; retire finished hours."""
        report = TailReport()
        for chunk in self.chunks(now, report):
            try:
                handle(chunk)  # raises: offset stays, the lines come again next run
                self.commit(chunk)
            except ResourceModifiedError:
                report.failures.append(
                    f"{chunk.cursor.source}: cursor moved by another run; skipped")
            except Exception as exc:  # one failing blob never blocks the others
                report.failures.append(f"{chunk.cursor.source}: {type(exc).__name__}: {exc}")
                log.exception("export blob %s failed; offset kept", chunk.cursor.source)
        return report

    def _chunks_of(
        self, cursor: BlobCursor, now: datetime, report: TailReport, read_ahead: bool
    ) -> Iterator[Chunk]:
        pending = False  # a chunk yielded that may not be committed yet (read ahead)
        self._written[(cursor.container, cursor.blob_name)] = cursor  # as stored
        while True:
            chunk = self.read(cursor, now)
            if chunk.missing:
                if self.hour_over(cursor, now) and not pending:
                    self.store.retire(cursor, "blob not found after its hour")
                    report.retired += 1
                return
            if read_ahead and chunk.end_offset > chunk.cursor.offset:
                yield chunk
                pending = True
                report.lines += len(chunk.lines)
                cursor = replace(cursor, offset=chunk.end_offset,
                                 lines=cursor.lines + chunk.lines_consumed)
            elif chunk.lines:
                yield chunk
                cursor = self.store.get(cursor.container, blob_row_key(cursor.blob_name))
                if cursor.offset < chunk.end_offset:
                    return  # not committed: the caller failed on it; the offset stays
                report.lines += len(chunk.lines)
            elif not read_ahead:
                cursor = self.commit(chunk)  # blank lines only: nothing to judge
            if chunk.end_offset == chunk.cursor.offset or chunk.at_end:
                break
        if pending:
            report.waiting_bytes += chunk.blob_size - cursor.offset
            return  # retired by a later run, once its offset is committed at the end
        if cursor.offset >= chunk.blob_size and self.hour_over(cursor, now):
            self.store.retire(cursor, "hour over and read to the end")
            report.retired += 1
        else:
            report.waiting_bytes += chunk.blob_size - cursor.offset


def _split(data: bytes, cursor: BlobCursor) -> tuple[list[ExportLine], int]:
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # data ends with a newline: no partial line
    lines = []
    for index, raw in enumerate(raw_lines, start=cursor.lines + 1):
        # Each line decoded alone: invalid UTF-8 is that line's Skip, never a guessed record.
        text = decode_line(raw.rstrip(b"\r"))
        if text.strip():
            lines.append(ExportLine(cursor.container, cursor.blob_name, index, text, raw))
    return lines, len(raw_lines)
