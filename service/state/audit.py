"""The response audit log: append-only in Table Storage, one row per proposal or action.

Table ``audit``: PartitionKey = incident id, RowKey = a key the writer derives from what
it records (``action:<action>:<claim time>:<attempt>`` for an attempt at an action,
``proposal:<revision>:<action>`` for a plan-mode proposal), so writing the same record again
after a crash is a create conflict, never a second row. Rows are only ever created: nothing
updates or deletes them (the sweep leaves this table alone). Every text is kept as data,
capped, never interpreted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError

from service.state.tables import Tables, cap_text

TABLE = "audit"
# The fields of `riskwatch audit`, in order (README, Response).
FIELDS = ("time", "actor", "action", "target", "incident_id", "revision", "evidence",
          "reason", "policy_rule", "graph_request_id", "outcome", "error")
OUTCOMES = ("proposed", "done", "user_gone", "forbidden", "rejected", "failed", "no_evidence")
MAX_TEXT = 2_000


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    time: datetime
    actor: str  # the app's identity ("riskwatch (app)") or a person's --by
    action: str
    target: str  # the user's UPN
    target_id: str | None
    incident_id: str
    revision: int
    evidence_prefix: str | None
    evidence_sha256: str | None
    reason: str
    policy_rule: str | None  # None: a person's command
    graph_request_id: str | None
    outcome: str
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """Exactly the fields of ``riskwatch audit`` (``FIELDS``)."""
        evidence = None
        if self.evidence_prefix is not None:
            evidence = {"prefix": self.evidence_prefix, "manifest_sha256": self.evidence_sha256}
        return {
            "time": self.time.astimezone(UTC).isoformat(), "actor": self.actor,
            "action": self.action, "target": self.target, "incident_id": self.incident_id,
            "revision": self.revision, "evidence": evidence, "reason": self.reason,
            "policy_rule": self.policy_rule, "graph_request_id": self.graph_request_id,
            "outcome": self.outcome, "error": self.error,
        }


class AuditLog:
    def __init__(self, tables: Tables) -> None:
        self.table = tables.table(TABLE)

    def append(self, key: str, record: AuditRecord) -> bool:
        """Create the row ``key`` of ``record.incident_id``; False when it is already there
        (the same record, written before a crash)."""
        entity = {
            "PartitionKey": record.incident_id, "RowKey": key,
            "time": record.time.astimezone(UTC), "actor": cap_text(record.actor, 200),
            "action": record.action, "target": cap_text(record.target, 1_000),
            "target_id": record.target_id or "", "revision": record.revision,
            "evidence_prefix": record.evidence_prefix or "",
            "evidence_sha256": record.evidence_sha256 or "",
            "reason": cap_text(record.reason, MAX_TEXT), "policy_rule": record.policy_rule or "",
            "graph_request_id": record.graph_request_id or "", "outcome": record.outcome,
            "error": cap_text(record.error, MAX_TEXT) if record.error else "",
        }
        try:
            self.table.create_entity(entity)
        except ResourceExistsError:
            return False
        return True

    def records(self, since: datetime | None = None,
                until: datetime | None = None) -> list[AuditRecord]:
        """Every record in ``[since, until)``, oldest first."""
        clauses, params = [], {}
        if since is not None:
            clauses.append("time ge @since")
            params["since"] = since.astimezone(UTC)
        if until is not None:
            clauses.append("time lt @until")
            params["until"] = until.astimezone(UTC)
        rows: Iterator[Mapping[str, Any]]
        if clauses:
            rows = iter(self.table.query_entities(" and ".join(clauses), parameters=params))
        else:
            rows = iter(self.table.list_entities())
        found = [_record(row) for row in rows]
        return sorted(found, key=lambda r: (r.time, r.incident_id, r.action))

    def of_incident(self, incident_id: str) -> list[AuditRecord]:
        rows = self.table.query_entities("PartitionKey eq @id", parameters={"id": incident_id})
        return sorted((_record(r) for r in rows), key=lambda r: r.time)


def _record(row: Mapping[str, Any]) -> AuditRecord:
    when = row["time"]
    if isinstance(when, datetime) and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)

    def text(name: str) -> str | None:
        value = row.get(name)
        return str(value) if value not in (None, "") else None

    return AuditRecord(
        time=when, actor=str(row.get("actor", "")), action=str(row.get("action", "")),
        target=str(row.get("target", "")), target_id=text("target_id"),
        incident_id=str(row["PartitionKey"]), revision=int(row.get("revision", 0)),
        evidence_prefix=text("evidence_prefix"), evidence_sha256=text("evidence_sha256"),
        reason=str(row.get("reason", "")), policy_rule=text("policy_rule"),
        graph_request_id=text("graph_request_id"), outcome=str(row.get("outcome", "")),
        error=text("error"),
    )
