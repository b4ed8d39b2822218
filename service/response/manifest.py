"""An evidence bundle's parts and its manifest, as bytes, and the check of one against the other.

Parts: the raw records (each body followed by a newline, located by offset and length in
the manifest, so a record's own bytes, newlines included, are never changed), the
normalized events (JSON), and the incident as it stood (``Incident.to_state()``). The
manifest holds the sha256 of each part and of each raw record, which raw records are the
exact bytes received, the Riskwatch and rule versions, and the time. No I/O here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from detections.incidents.model import Incident
from detections.model import Event
from service.response.raw import RawRecord

FORMAT = "riskwatch-evidence/1"
# role -> the file name ``riskwatch evidence`` writes it under, and its content type
PARTS: dict[str, tuple[str, str]] = {
    "raw": ("raw-records.dat", "application/octet-stream"),
    "events": ("events.json", "application/json"),
    "incident": ("incident.json", "application/json"),
}
MANIFEST_FILE = "manifest.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list | frozenset | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def event_json(event: Event) -> dict[str, Any]:
    """A normalized event as JSON values: its type, its id, every field."""
    return {"type": type(event).__name__, "event_id": event.event_id, **_plain(event)}


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


@dataclasses.dataclass(frozen=True, slots=True)
class BuiltParts:
    data: dict[str, bytes]  # role -> bytes
    raw_index: list[dict[str, Any]]


def build_parts(incident: Incident, raw: Sequence[RawRecord],
                events: Sequence[Event]) -> BuiltParts:
    chunks: list[bytes] = []
    index: list[dict[str, Any]] = []
    offset = 0
    for record in raw:
        index.append({"event_id": record.event_id, "source": record.source, "offset": offset,
                      "length": len(record.body), "sha256": sha256(record.body),
                      "exact": record.exact})
        chunks += (record.body, b"\n")
        offset += len(record.body) + 1
    data = {
        "raw": b"".join(chunks),
        "events": _json_bytes([event_json(e) for e in events]),
        "incident": _json_bytes(incident.to_state()),
    }
    return BuiltParts(data, index)


def build_manifest(
    incident: Incident, blobs: Mapping[str, str], parts: BuiltParts, *, now: datetime,
    version: str, rule_versions: Mapping[str, int], without_raw: Sequence[str],
    note: str | None,
) -> bytes:
    """The manifest's bytes; ``blobs`` maps each role to the blob name it is stored under."""
    rules = sorted({a.rule_id for a in incident.alerts})
    exact = sum(1 for r in parts.raw_index if r["exact"])
    manifest = {
        "format": FORMAT,
        "incident_id": incident.incident_id,
        "revision": incident.revision,
        "verdict": incident.verdict,
        "principal_type": incident.principal_type,
        "principal": incident.principal,
        "written_at": now.isoformat(),
        "riskwatch_version": version,
        "rule_versions": {r: rule_versions.get(r) for r in rules},
        "parts": {role: {"blob": blobs[role], "file": PARTS[role][0],
                         "sha256": sha256(data), "bytes": len(data)}
                  for role, data in parts.data.items()},
        "raw_records": parts.raw_index,
        # Exact: the bytes as received; otherwise a canonical re-serialisation of the record.
        "raw_exact": {"exact": exact, "canonical": len(parts.raw_index) - exact},
        "events_without_raw": list(without_raw),
        "note": note,
    }
    return _json_bytes(manifest)


Read = Callable[[str], bytes | None]  # blob name -> its bytes, None when it is missing


def check(manifest_bytes: bytes, expected_sha256: str | None, incident_id: str, revision: int,
          read: Read) -> list[str]:
    """Every problem of a bundle, each naming its part; [] when it is intact."""
    problems: list[str] = []
    actual = sha256(manifest_bytes)
    if expected_sha256 is not None and actual != expected_sha256:
        problems.append(f"{MANIFEST_FILE}: sha256 is {actual}, the bundle was written with "
                        f"{expected_sha256} (the manifest was changed)")
    try:
        manifest = json.loads(manifest_bytes)
        parts = manifest["parts"]
        records = manifest["raw_records"]
    except (ValueError, KeyError, TypeError):
        return [*problems, f"{MANIFEST_FILE}: not a Riskwatch evidence manifest"]
    if (manifest.get("incident_id"), manifest.get("revision")) != (incident_id, revision):
        problems.append(f"{MANIFEST_FILE}: names incident {manifest.get('incident_id')!r} "
                        f"revision {manifest.get('revision')!r}, not {incident_id} {revision}")
    for role, (file, _) in PARTS.items():
        part = parts.get(role) if isinstance(parts, dict) else None
        if not isinstance(part, dict):
            problems.append(f"{file}: not listed in the manifest")
            continue
        data = read(str(part.get("blob")))
        if data is None:
            problems.append(f"{file} ({part.get('blob')}): missing")
            continue
        if sha256(data) != part.get("sha256"):
            problems.append(f"{file} ({part.get('blob')}): sha256 is {sha256(data)}, the "
                            f"manifest says {part.get('sha256')} (the part was changed)")
        if role == "raw":
            problems += _check_records(data, records)
    return problems


def _check_records(data: bytes, records: Any) -> list[str]:
    problems = []
    for record in records if isinstance(records, list) else []:
        try:
            start, length = int(record["offset"]), int(record["length"])
            body = data[start:start + length]
            if len(body) != length or sha256(body) != record["sha256"]:
                problems.append(f"{PARTS['raw'][0]}: raw record of event "
                                f"{str(record.get('event_id'))[:100]!r} was changed")
        except (KeyError, TypeError, ValueError):
            problems.append(f"{MANIFEST_FILE}: a raw record entry is malformed")
    return problems
