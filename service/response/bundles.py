"""Evidence bundles: what an incident rests on, preserved before anyone is told or acts.

One bundle per (incident, revision) under ``<incident_id>/r<revision>/`` in the evidence
container: the raw records as received, the normalized events, the incident as it stood
(``service.response.manifest``), and ``manifest.json`` last. Parts are named by their
content's hash, so a retry after a crash never collides with the part an interrupted
attempt left; the manifest's name is fixed, created with ``If-None-Match: *``, so the first
complete bundle of a revision is the only one, never rewritten. Nothing is reported written
until every blob was read back and its hash matched; the manifest's own sha256 is kept in
its metadata and returned in the ``BundleRef`` (the response audit log records it too).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from detections.errors import RiskwatchError
from detections.incidents.model import VERDICT_RANK, Incident
from detections.model import Event
from service.response.manifest import (
    MANIFEST_FILE,
    PARTS,
    build_manifest,
    build_parts,
    check,
    sha256,
)
from service.response.raw import RawRecord
from service.state.evidence_blobs import EvidenceBlobs, bundle_prefix

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from service.settings import Settings

__all__ = ["BundleRef", "EvidenceError", "EvidenceStore", "RawRecord", "evidence_store",
           "incident_inputs", "needs_bundle"]

log = logging.getLogger("riskwatch.evidence")
INCIDENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # what a blob name prefix may hold


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleRef:
    incident_id: str
    revision: int
    prefix: str  # blob name prefix of the bundle in the `evidence` container
    manifest_sha256: str
    written_at: datetime


class EvidenceError(RiskwatchError):
    """A bundle could not be written and verified, or read."""


def needs_bundle(incident: Incident, min_verdict: str) -> bool:
    """An incident at or above ``RISKWATCH_EVIDENCE_MIN_VERDICT`` gets a bundle per revision."""
    return VERDICT_RANK.get(incident.verdict, -1) >= VERDICT_RANK[min_verdict]


def incident_inputs(
    incident: Incident, by_id: Mapping[str, Event], raw: Mapping[str, RawRecord]
) -> tuple[list[RawRecord], list[Event], list[str]]:
    """The raw records and events of ``incident`` this run holds, and the ids of its events
    it does not hold as raw records (read by an earlier run: in an earlier bundle)."""
    ids = dict.fromkeys(i for a in incident.alerts for i in a.event_ids)
    ids.update(dict.fromkeys(e.event_id for e in incident.evidence if e.event_id))
    records = [raw[i] for i in ids if i in raw]
    events = [by_id[i] for i in ids if i in by_id]
    return records, events, [i for i in ids if i not in raw]


def _riskwatch_version() -> str:
    from service.cli.parser import version

    return version()


def _rule_versions() -> dict[str, int]:
    from detections.registry import load_rules

    return {rule.id: rule.version for rule in load_rules()}


class EvidenceStore:
    def __init__(self, container: ContainerClient, *,
                 rule_versions: Mapping[str, int] | None = None) -> None:
        self.container = container
        self.blobs = EvidenceBlobs(container)
        self._rule_versions = rule_versions

    @property
    def rule_versions(self) -> Mapping[str, int]:
        if self._rule_versions is None:
            self._rule_versions = _rule_versions()
        return self._rule_versions

    def write(self, incident: Incident, raw: Sequence[RawRecord], events: Sequence[Event],
              now: datetime, *, without_raw: Sequence[str] = (),
              note: str | None = None) -> BundleRef:
        """The bundle of (incident, revision): written, read back and verified, or (when it
        exists) read back and verified. Raises EvidenceError when neither holds."""
        _check_id(incident.incident_id)
        prefix = bundle_prefix(incident.incident_id, incident.revision)
        try:
            existing = self._ref(incident.incident_id, incident.revision)
            if existing is not None:
                return self._verified(existing)
            parts = build_parts(incident, raw, events)
            names = {}
            for role, data in parts.data.items():
                file, content_type = PARTS[role]
                stem, ext = file.rsplit(".", 1)
                names[role] = f"{prefix}{stem}-{sha256(data)[:16]}.{ext}"
                self.blobs.create(names[role], data, content_type, {"sha256": sha256(data)})
                back = self.blobs.read(names[role])  # content-addressed: equal if it existed
                if back is None or sha256(back) != sha256(data):
                    raise EvidenceError(f"evidence {names[role]}: read back does not match "
                                        "what was written")
            manifest = build_manifest(
                incident, names, parts, now=now, version=_riskwatch_version(),
                rule_versions=self.rule_versions, without_raw=without_raw, note=note)
            digest = sha256(manifest)
            created = self.blobs.create(f"{prefix}{MANIFEST_FILE}", manifest, "application/json",
                                        {"sha256": digest, "written_at": now.isoformat()})
            ref = self._ref(incident.incident_id, incident.revision)
            if ref is None:
                raise EvidenceError(f"evidence {prefix}{MANIFEST_FILE}: not found after writing")
            if created and ref.manifest_sha256 != digest:
                raise EvidenceError(f"evidence {prefix}{MANIFEST_FILE}: read back does not "
                                    "match what was written")
            return self._verified(ref)  # another writer's bundle when it won the create
        except EvidenceError:
            raise
        except Exception as exc:  # the SDK's message may hold the account URL: type only
            raise EvidenceError(f"evidence {prefix}: {_storage_failure(exc)}") from exc

    def _verified(self, ref: BundleRef) -> BundleRef:
        problems = self.verify(ref)
        if problems:
            raise EvidenceError(f"evidence {ref.prefix} is not intact: " + "; ".join(problems))
        return ref

    def latest(self, incident_id: str) -> BundleRef | None:
        _check_id(incident_id)
        manifests = self.blobs.manifests(incident_id)
        if not manifests:
            return None
        last = manifests[-1]
        return self._from_metadata(incident_id, last.revision, last.metadata)

    def bundles(self, incident_id: str) -> list[BundleRef]:
        """Every bundle of an incident, oldest revision first."""
        _check_id(incident_id)
        return [self._from_metadata(incident_id, m.revision, m.metadata)
                for m in self.blobs.manifests(incident_id)]

    def _ref(self, incident_id: str, revision: int) -> BundleRef | None:
        prefix = bundle_prefix(incident_id, revision)
        metadata = self.blobs.metadata(f"{prefix}{MANIFEST_FILE}")
        return None if metadata is None else self._from_metadata(incident_id, revision, metadata)

    def _from_metadata(self, incident_id: str, revision: int,
                       metadata: Mapping[str, str]) -> BundleRef:
        written = metadata.get("written_at")
        unknown = datetime.min.replace(tzinfo=UTC)
        return BundleRef(
            incident_id=incident_id, revision=revision,
            prefix=bundle_prefix(incident_id, revision),
            manifest_sha256=metadata.get("sha256", ""),
            written_at=datetime.fromisoformat(written) if written else unknown,
        )

    def verify(self, ref: BundleRef) -> list[str]:
        """Every problem of the bundle, each naming its part; [] when it is intact."""
        return self._check(ref, {})

    def _check(self, ref: BundleRef, cache: dict[str, bytes | None]) -> list[str]:
        def read(name: str) -> bytes | None:
            if name not in cache:
                cache[name] = self.blobs.read(name)
            return cache[name]

        manifest = read(f"{ref.prefix}{MANIFEST_FILE}")
        if manifest is None:
            return [f"{MANIFEST_FILE} ({ref.prefix}{MANIFEST_FILE}): missing"]
        problems = [] if ref.manifest_sha256 else [
            f"{MANIFEST_FILE}: no sha256 was recorded when it was written"]
        return problems + check(manifest, ref.manifest_sha256 or None, ref.incident_id,
                                ref.revision, read)

    def fetch(self, incident_id: str, revision: int | None,
              out: Path) -> tuple[BundleRef, list[str]]:
        """Download a bundle (the latest when ``revision`` is None) into ``out`` and verify
        every hash; the files are written even when a part fails, for a person to look at."""
        _check_id(incident_id)
        ref = self.latest(incident_id) if revision is None else self._ref(incident_id, revision)
        if ref is None:
            which = "any revision" if revision is None else f"revision {revision}"
            raise EvidenceError(f"no evidence bundle for incident {incident_id} ({which})")
        cache: dict[str, bytes | None] = {}
        problems = self._check(ref, cache)
        out.mkdir(parents=True, exist_ok=True)
        manifest = cache.get(f"{ref.prefix}{MANIFEST_FILE}")
        if manifest is not None:
            (out / MANIFEST_FILE).write_bytes(manifest)
            try:
                listed = json.loads(manifest).get("parts", {})
            except (ValueError, AttributeError):
                listed = {}
            for role, (file, _) in PARTS.items():
                data = cache.get(str(listed.get(role, {}).get("blob")))
                if data is not None:
                    (out / file).write_bytes(data)
        return ref, problems


def _check_id(incident_id: str) -> None:
    if not INCIDENT_ID.match(incident_id):
        raise EvidenceError(f"{incident_id[:100]!r} is not an incident id (letters, digits, "
                            "'-' and '_')")


def _storage_failure(exc: Exception) -> str:
    code = getattr(exc, "error_code", None)
    if code == "ContainerNotFound":
        return ("the evidence container does not exist (the Bicep deployment creates it "
                "with its retention policy)")
    return f"Blob Storage failed ({type(exc).__name__}{f', {code}' if code else ''})"


def evidence_store(settings: Settings) -> EvidenceStore:
    """The store of the configured evidence container. Only with a development storage
    connection string (Azurite) is a missing container created here: in Azure the Bicep
    deployment creates it with its immutability policy, and a container without it must
    not appear by accident."""
    from service.state.storage import blob_service

    container = blob_service(settings.storage).get_container_client(settings.evidence.container)
    connection = settings.storage.connection_string
    if connection is not None and _development(connection.reveal()):
        EvidenceBlobs(container).ensure_container()
    return EvidenceStore(container)


def _development(connection: str) -> bool:
    text = connection.replace(" ", "")
    return ("UseDevelopmentStorage=true" in text or "BlobEndpoint=http://127.0.0.1" in text
            or "BlobEndpoint=http://localhost" in text)
