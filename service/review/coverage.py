"""The review's coverage facts: every source with its digest and counts, the gaps, and the
rule versions, so the report says exactly what it was built from (an audit record)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from detections.rule import Rule

CHUNK = 1 << 20


def file_sha256(path: Path) -> str | None:
    """The file's digest; None when it cannot be read (the reader reports why)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


@dataclass(slots=True)
class SourceFacts:
    """One input: a file, or a Graph feed read again for the window."""

    name: str
    kind: str  # graph | file | export
    records: int = 0
    skipped: int = 0
    first: datetime | None = None
    last: datetime | None = None
    sha256: str | None = None
    first_skip: str | None = None

    def saw(self, moment: datetime) -> None:
        self.records += 1
        self.first = moment if self.first is None else min(self.first, moment)
        self.last = moment if self.last is None else max(self.last, moment)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "records": self.records,
                "skipped": self.skipped,
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None, "sha256": self.sha256}


GRAPH_READ = "Graph read"  # how the gap of a failed Graph read begins


def graph_read_failures(review: dict[str, Any]) -> list[dict[str, Any]]:
    """The review's gaps from a Graph read that did not complete (worth reading again)."""
    return [g for g in review["coverage"]["gaps"] if g["why"].startswith(GRAPH_READ)]


def gap(source: str, since: datetime | None, until: datetime | None, why: str) -> dict[str, Any]:
    return {"source": source, "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None, "why": why}


def skipped_gaps(sources: Iterable[SourceFacts]) -> list[dict[str, Any]]:
    """A source with skipped records is a gap: those records are in no count."""
    return [gap(s.name, s.first, s.last,
                f"{s.skipped} records skipped (first: {s.first_skip})" if s.first_skip
                else f"{s.skipped} records skipped")
            for s in sources if s.skipped]


def coverage(
    sources: Sequence[SourceFacts], gaps: list[dict[str, Any]], rules: Sequence[Rule],
    notes: list[str],
) -> dict[str, Any]:
    digests = sorted(s.sha256 for s in sources if s.sha256)
    return {
        "sources": [s.to_dict() for s in sources],
        "gaps": gaps + skipped_gaps(sources),
        "inputs_sha256": hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest(),
        "rule_versions": [{"rule_id": r.id, "version": r.version}
                          for r in sorted(rules, key=lambda r: r.id)],
        "notes": notes,
    }
