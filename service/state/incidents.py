"""Open incidents in Table Storage: one row per principal, changed only under its ETag.

Row: PartitionKey = principal type (``user``, ``ip``, ``tenant``), RowKey = sha256 of the
principal (a UPN or address may hold characters keys must not); ``incident_id``,
``revision``, ``verdict``, ``last_seen``, ``closed``, ``outboxed`` and the incident's
``to_state()`` JSON split over ``d0..dN`` (each under the 64 KiB property limit).

``outboxed`` is false from the write of a revision that must be notified until its
outbox row exists, exactly like a dedup claim's: whoever finds it false (the next join
of that principal, or any run's recovery) writes the outbox row first (a create
conflict means it is there) and then marks it. Every write is a create (fails if the
row is there) or an ETag-conditional replace or merge, so two workers never both turn
the same revision into different incidents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import UpdateMode

from detections.errors import RiskwatchError, Where
from detections.incidents.model import Incident
from detections.model import Severity
from service.state.history_store import pack, unpack
from service.state.tables import MAX_STRING_UNITS, Tables, cap_text, row_key_hash

TABLE = "incidents"
OUTBOX_PARTITION = "incident"  # the outbox PartitionKey of incident notifications
INCIDENT_SCHEMA = "riskwatch.incident.v1"
MAX_TRIES = 50
SEVERITY_OF_VERDICT = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH}
# What a too-big notification gives up, in turn, to fit one string property.
_TRIMS: tuple[tuple[str, int], ...] = (
    ("related", 20), ("timeline", 15), ("alerts", 50), ("related", 0), ("timeline", 5),
    ("alerts", 10),
)
_ESSENTIALS = ("incident_id", "revision", "principal", "principal_type", "verdict", "score",
               "rules", "first_seen", "last_seen", "privileged")


class IncidentStateError(RiskwatchError):
    """An incident row that cannot be read, or kept changing under us."""

    def __init__(self, where: Where, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where


@dataclass(frozen=True, slots=True)
class StoredIncident:
    incident: Incident
    outboxed: bool
    etag: str


def notification_id(incident: Incident) -> str:
    """The outbox RowKey and Idempotency-Key of one revision: ``<incident_id>:<revision>``."""
    return f"{incident.incident_id}:{incident.revision}"


def notification(incident: Incident, links: list[dict[str, str]]) -> dict[str, Any]:
    """The webhook body of one revision without ``sent_at`` (added when it is sent)."""
    return {"schema": INCIDENT_SCHEMA, "id": notification_id(incident),
            "incident": incident.to_dict(), "links": links}


def encode_notification(payload: Mapping[str, Any], limit: int = MAX_STRING_UNITS) -> str:
    """``payload`` as ASCII JSON of at most ``limit`` characters: long lists are cut
    (the incident says how many it left out in ``truncated``), then long texts."""
    text = json.dumps(payload, default=str)
    if len(text) <= limit:
        return text
    cut = dict(payload)
    incident = dict(cut["incident"])
    left_out: dict[str, int] = {}
    for name, keep in _TRIMS:
        items = list(incident.get(name, []))
        if len(items) > keep:
            left_out[name] = left_out.get(name, 0) + len(items) - keep
            incident[name] = items[:keep]
        incident["truncated"] = dict(left_out)
        cut["incident"] = incident
        text = json.dumps(cut, default=str)
        if len(text) <= limit:
            return text
    # Still too big: only attacker-sized texts are left. Keep the essentials, capped, and
    # cap harder until the ASCII JSON fits (\uXXXX escapes make non-ASCII text up to 12 times
    # longer); at the floor the texts are gone and the ids, verdict and rules remain.
    for principal_cap, reason_cap, reasons in ((1_000, 500, 10), (200, 100, 5), (0, 0, 0)):
        essentials = {k: incident[k] for k in _ESSENTIALS if k in incident}
        essentials["principal"] = cap_text(str(essentials.get("principal", "")), principal_cap)
        essentials["reasons"] = [{"text": cap_text(str(r.get("text", "")), reason_cap),
                                  "effect": r.get("effect"), "rule_id": r.get("rule_id"),
                                  "event_ids": []} for r in incident.get("reasons", [])[:reasons]]
        essentials["truncated"] = {**left_out, "breakdown": 1}
        text = json.dumps({**cut, "incident": essentials}, default=str)
        if len(text) <= limit:
            break
    return text


class IncidentStore:
    """The open incident of each principal (see the module docstring for the layout)."""

    def __init__(self, tables: Tables) -> None:
        self.table = tables.table(TABLE)

    def get(self, principal_type: str, principal: str) -> StoredIncident | None:
        try:
            entity = self.table.get_entity(principal_type, row_key_hash(principal))
        except ResourceNotFoundError:
            return None
        return _stored(entity)

    def unoutboxed(self) -> Iterator[StoredIncident]:
        """Rows whose revision's notification may not be in the outbox yet."""
        for entity in self.table.query_entities("outboxed eq false"):
            yield _stored(entity)

    def put(
        self, previous: StoredIncident | None, incident: Incident, *, outboxed: bool
    ) -> StoredIncident | None:
        """Write ``incident`` over ``previous`` (as read; None: no row yet); None when
        another worker moved first (re-read and try again)."""
        entity = _entity(incident, outboxed)
        try:
            if previous is None:
                self.table.create_entity(entity)
            else:
                self.table.update_entity(entity, mode=UpdateMode.REPLACE, etag=previous.etag,
                                         match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            return None
        return self.get(incident.principal_type, incident.principal)

    def mark_outboxed(self, stored: StoredIncident) -> None:
        """Record that ``stored``'s revision is in the outbox (a no-op if the row moved on)."""
        mine = stored.incident
        for _ in range(MAX_TRIES):
            current = self.get(mine.principal_type, mine.principal)
            if (current is None or current.outboxed
                    or notification_id(current.incident) != notification_id(mine)):
                return
            patch = {"PartitionKey": mine.principal_type,
                     "RowKey": row_key_hash(mine.principal), "outboxed": True}
            try:
                self.table.update_entity(patch, mode=UpdateMode.MERGE, etag=current.etag,
                                         match_condition=MatchConditions.IfNotModified)
                return
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
        raise IncidentStateError(Where(f"incident {mine.incident_id}"), "kept changing")


def _entity(incident: Incident, outboxed: bool) -> dict[str, Any]:
    return {
        "PartitionKey": incident.principal_type,
        "RowKey": row_key_hash(incident.principal),
        "principal": cap_text(incident.principal, 1_000),
        "incident_id": incident.incident_id,
        "revision": incident.revision,
        "verdict": incident.verdict,
        "last_seen": incident.last_seen,
        "closed": incident.closed or "",
        "outboxed": outboxed,
        **pack(incident.to_state()),
    }


def read_incident(entity: Mapping[str, Any]) -> Incident:
    """The incident of one row as listed; ``IncidentStateError`` (naming the row) when a
    row cannot be read."""
    return _stored(entity).incident


def _stored(entity: Mapping[str, Any]) -> StoredIncident:
    where = Where(f"{TABLE}/{entity.get('PartitionKey')}/{entity.get('RowKey')}")
    try:
        incident = Incident.from_state(unpack(entity))
    except (KeyError, TypeError, ValueError) as exc:  # a row no version of ours wrote
        raise IncidentStateError(where, f"unreadable incident state ({exc})") from exc
    etag = getattr(entity, "metadata", {}).get("etag", "")
    return StoredIncident(incident, bool(entity.get("outboxed", False)), etag)
