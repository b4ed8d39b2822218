"""Where records go: Graph pages, Graph JSON lines, or the diagnostic export's layout.

Only Graph pages hold records (newest first, as Graph returns them); every other output
writes each line as it is generated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from synth.shapes import TENANT_ID, category_of, diagnostic, dumps

GRAPH_CONTEXT = {
    "signIn": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
    "riskDetection": "https://graph.microsoft.com/v1.0/$metadata#identityProtection/riskDetections",
    "riskyUser": "https://graph.microsoft.com/v1.0/$metadata#identityProtection/riskyUsers",
    "directoryAudit": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits",
}
GRAPH_NAME = {"signIn": "signIns", "riskDetection": "riskDetections", "riskyUser": "riskyUsers",
              "directoryAudit": "directoryAudits"}
# Graph's $top maxima (directoryAudits: the page the feed asks for)
PAGE_SIZE = {"signIn": 1000, "riskDetection": 500, "riskyUser": 500, "directoryAudit": 999}


class _Files:
    """Open files by path, one at a time per key; a path reopened later is appended to."""

    def __init__(self) -> None:
        self.open: dict[str, tuple[Path, IO[str]]] = {}
        self.created: set[Path] = set()

    def write(self, key: str, path: Path, line: str) -> None:
        current = self.open.get(key)
        if current is None or current[0] != path:
            if current is not None:
                current[1].close()
            path.parent.mkdir(parents=True, exist_ok=True)
            mode = "a" if path in self.created else "w"
            self.created.add(path)
            self.open[key] = (path, path.open(mode, encoding="utf-8", newline="\n"))
        self.open[key][1].write(line + "\n")

    def close(self) -> None:
        for _, handle in self.open.values():
            handle.close()
        self.open.clear()


def write(
    records: Iterable[tuple[str, dict[str, Any]]], out: Path, shape: str, stream: bool
) -> Counter[str]:
    """Write ``records`` under ``out``; returns how many of each kind."""
    counts: Counter[str] = Counter()
    files = _Files()
    held: dict[str, list[str]] = {kind: [] for kind in GRAPH_NAME}
    try:
        for kind, record in records:
            counts[kind] += 1
            if shape == "graph" and stream:
                files.write(kind, out / f"{GRAPH_NAME[kind]}.jsonl", dumps(record))
            elif shape == "graph":
                held[kind].append(dumps(record))
            elif stream:
                category = category_of(kind, record)
                files.write(category, out / f"{category}.jsonl", dumps(diagnostic(kind, record)))
            else:
                export = diagnostic(kind, record)
                files.write(export["category"], _blob_path(out, export), dumps(export))
    finally:
        files.close()
    for kind, lines in held.items():
        if lines:
            _pages(out, kind, lines)
    return counts


def _blob_path(out: Path, export: dict[str, Any]) -> Path:
    """insights-logs-<category>/tenantId=<id>/y=/m=/d=/h=/m=00/PT1H.json, as Azure writes it."""
    when = export["time"]
    y, mo, d, h = when[0:4], when[5:7], when[8:10], when[11:13]
    container = f"insights-logs-{export['category'].lower()}"
    return out / container / f"tenantId={TENANT_ID}" / f"y={y}" / f"m={mo}" / f"d={d}" / \
        f"h={h}" / "m=00" / "PT1H.json"  # fmt: skip


def _pages(out: Path, kind: str, lines: list[str]) -> None:
    """Graph pages, newest first, one record per line so diffs and line numbers stay useful."""
    lines.reverse()
    size = PAGE_SIZE[kind]
    name = GRAPH_NAME[kind]
    pages = [lines[i : i + size] for i in range(0, len(lines), size)]
    out.mkdir(parents=True, exist_ok=True)
    for number, page in enumerate(pages, start=1):
        head = f'{{"@odata.context":"{GRAPH_CONTEXT[kind]}",'
        if number < len(pages):
            base = GRAPH_CONTEXT[kind].replace("$metadata#", "")
            head += f'"@odata.nextLink":"{base}?$top={size}&$skiptoken=page{number + 1}",'
        body = head + '"value":[\n' + ",\n".join(page) + "\n]}\n"
        (out / f"{name}-{number:03d}.json").write_text(body, encoding="utf-8", newline="\n")
