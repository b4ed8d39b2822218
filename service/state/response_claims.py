"""One claim row per attempt at an (incident, action), written before the Graph call.

Table ``responseclaims``: PartitionKey = incident id, RowKey = ``<action>:<attempt>``
(attempt 1, 2, ...). The row walks ``claimed`` (written with ``create_entity`` before the
call: a conflict means another run owns or did it) → ``called`` (the outcome, request id
and error, merged under the row's ETag right after the answer) → ``audited`` (the audit
record exists). A crash leaves the row at ``claimed`` or ``called``;
``service.response.executor`` finishes it on the next run. A ``claimed`` row also carries a
lease, so two workers never recover it at once. An attempt that ended ``failed``,
``forbidden`` or ``rejected`` may be followed by a new one under the next RowKey (the
executor decides when); ``done`` and ``user_gone`` end the action for good.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from service.state.tables import Tables, cap_text

TABLE = "responseclaims"
LEASE = timedelta(minutes=5)
Status = Literal["claimed", "called", "audited"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionClaim:
    incident_id: str
    action: str
    status: Status
    claimed_at: datetime
    lease_until: datetime
    actor: str
    reason: str
    policy_rule: str | None
    revision: int
    principal: str
    user_id: str | None
    privileged: bool
    evidence_prefix: str
    evidence_sha256: str
    attempt: int = 1  # which attempt at (incident, action) this claim is (RowKey)
    attempts: int = 0  # Graph calls made under this claim (a takeover after a crash adds one)
    outcome: str | None = None
    request_id: str | None = None
    error: str | None = None
    called_at: datetime | None = None
    etag: str = ""

    @property
    def row_key(self) -> str:
        return claim_key(self.action, self.attempt)

    @property
    def audit_key(self) -> str:
        return (f"action:{self.action}:{self.claimed_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}:"
                f"{self.attempt}")


def claim_key(action: str, attempt: int) -> str:
    return f"{action}:{attempt}"


class ClaimStore:
    def __init__(self, tables: Tables) -> None:
        self.table = tables.table(TABLE)

    def create(self, claim: ActionClaim) -> ActionClaim | None:
        """Claim this attempt at (incident, action); None when another worker claimed it
        first (see ``get``)."""
        try:
            self.table.create_entity(_entity(claim))
        except ResourceExistsError:
            return None
        return self._get(claim.incident_id, claim.row_key)

    def get(self, incident_id: str, action: str) -> ActionClaim | None:
        """The latest attempt at (incident, action), or None: never attempted."""
        rows = self.table.query_entities("PartitionKey eq @id", parameters={"id": incident_id})
        found = [c for c in map(_claim, rows) if c.action == action]
        return max(found, key=lambda c: c.attempt, default=None)

    def all(self) -> list[ActionClaim]:
        """Every claim: one read of the table per policy run (``service.response.policy_run``)."""
        return [_claim(row) for row in self.table.list_entities()]

    def unfinished(self) -> Iterator[ActionClaim]:
        for row in self.table.query_entities("status ne 'audited'"):
            yield _claim(row)

    def _get(self, incident_id: str, row_key: str) -> ActionClaim | None:
        try:
            return _claim(self.table.get_entity(incident_id, row_key))
        except ResourceNotFoundError:
            return None

    def take_over(self, claim: ActionClaim, now: datetime) -> ActionClaim | None:
        """Lease a stale ``claimed`` row for one more attempt; None when another worker
        holds it (its lease runs) or moved it."""
        if claim.status != "claimed" or claim.lease_until > now:
            return None
        return self._merge(claim, {"lease_until": now + LEASE, "attempts": claim.attempts + 1})

    def called(self, claim: ActionClaim, *, outcome: str, request_id: str | None,
               error: str | None, now: datetime) -> ActionClaim | None:
        return self._merge(claim, {
            "status": "called", "outcome": outcome, "request_id": request_id or "",
            "error": cap_text(error, 2_000) if error else "", "called_at": now})

    def audited(self, claim: ActionClaim) -> ActionClaim | None:
        return self._merge(claim, {"status": "audited"})

    def _merge(self, claim: ActionClaim, patch: Mapping[str, Any]) -> ActionClaim | None:
        entity = {"PartitionKey": claim.incident_id, "RowKey": claim.row_key, **patch}
        try:
            self.table.update_entity(entity, mode=UpdateMode.MERGE, etag=claim.etag,
                                     match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return None
        return self._get(claim.incident_id, claim.row_key)


def _entity(claim: ActionClaim) -> dict[str, Any]:
    return {
        "PartitionKey": claim.incident_id, "RowKey": claim.row_key, "action": claim.action,
        "attempt": claim.attempt, "status": claim.status,
        "claimed_at": claim.claimed_at, "lease_until": claim.lease_until,
        "actor": cap_text(claim.actor, 200), "reason": cap_text(claim.reason, 2_000),
        "policy_rule": claim.policy_rule or "", "revision": claim.revision,
        "principal": cap_text(claim.principal, 1_000), "user_id": claim.user_id or "",
        "privileged": claim.privileged, "evidence_prefix": claim.evidence_prefix,
        "evidence_sha256": claim.evidence_sha256, "attempts": claim.attempts,
        "outcome": "", "request_id": "", "error": "",
    }


def _aware(value: Any) -> datetime:
    when: datetime = value
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _claim(row: Mapping[str, Any]) -> ActionClaim:
    def text(name: str) -> str | None:
        value = row.get(name)
        return str(value) if value not in (None, "") else None

    called = row.get("called_at")
    return ActionClaim(
        incident_id=str(row["PartitionKey"]), action=str(row["action"]),
        attempt=int(row.get("attempt", 1)), status=row["status"],
        claimed_at=_aware(row["claimed_at"]), lease_until=_aware(row["lease_until"]),
        actor=str(row.get("actor", "")),
        reason=str(row.get("reason", "")), policy_rule=text("policy_rule"),
        revision=int(row.get("revision", 0)), principal=str(row.get("principal", "")),
        user_id=text("user_id"), privileged=bool(row.get("privileged", False)),
        evidence_prefix=str(row.get("evidence_prefix", "")),
        evidence_sha256=str(row.get("evidence_sha256", "")),
        attempts=int(row.get("attempts", 0)), outcome=text("outcome"),
        request_id=text("request_id"), error=text("error"),
        called_at=_aware(called) if isinstance(called, datetime) else None,
        etag=getattr(row, "metadata", {}).get("etag", ""),
    )
