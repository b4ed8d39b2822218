"""Pieces the directory-audit rules share: who acted, on whom, and what they had been flagged
for before (``correlation.recent_flag``: a risky sign-in or an alert fired on the user)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from detections.correlation import flag_context, recent_flag
from detections.correlation_history import key_of
from detections.history_records import Flag
from detections.model import AuditActor, AuditTarget, DirectoryAudit, Event
from detections.rule import Context, JsonValue

MAX_TARGETS_LISTED = 10
# Context keys naming an audit's initiator: incidents group an alert about a non-user
# initiator under that application (detections.incidents.grouping.principal_of).
ACTOR, ACTOR_TYPE = "actor", "actor_type"


@dataclass(frozen=True, slots=True)
class AuditUser:
    """A user a directory audit names (its actor or a target), by UPN and object id."""

    upn: str | None
    user_id: str | None
    display_name: str | None = None

    @property
    def name(self) -> str:
        return self.upn or self.display_name or self.user_id or "unknown"

    @property
    def keys(self) -> tuple[str, ...]:
        return key_of(self.user_id, self.upn)


def audit_of(event: Event) -> DirectoryAudit | None:
    """The event as a successful directory audit, else None (failures change nothing)."""
    return event if isinstance(event, DirectoryAudit) and event.succeeded else None


def activity(event: DirectoryAudit) -> str:
    """The activity name lower-cased, with the en dash some names use read as a hyphen."""
    return event.activity_display_name.lower().replace("\u2013", "-").strip()


def actor_kind(actor: AuditActor) -> str:
    """``user``, ``app`` (an application or service principal) or ``unknown`` (none named)."""
    if actor.is_user:
        return "user"
    if actor.app_id or actor.app_display_name or actor.service_principal_id \
            or actor.service_principal_name:  # fmt: skip
        return "app"
    return "unknown"


def actor_context(event: DirectoryAudit) -> dict[str, JsonValue]:
    """Who initiated the audit, as every audit alert's context names it."""
    return {ACTOR: event.initiated_by.describe(), ACTOR_TYPE: actor_kind(event.initiated_by)}


def actor_user(actor: AuditActor) -> AuditUser | None:
    if not actor.is_user:
        return None
    return AuditUser(actor.user_principal_name, actor.user_id, actor.user_display_name)


def target_users(event: DirectoryAudit) -> tuple[AuditUser, ...]:
    return tuple(AuditUser(t.user_principal_name, t.id, t.display_name)
                 for t in event.targets_of("User"))


def flag_of(ctx: Context, user: AuditUser | None, event: DirectoryAudit,
            horizon: timedelta) -> Flag | None:
    """The user's newest flag within ``horizon`` before the audit (never the audit itself)."""
    if user is None or not user.keys:
        return None
    return recent_flag(ctx, user.keys, event.time, horizon, exclude_event=event.id)


def unquoted(value: str | None) -> str | None:
    """A logged property value without its JSON quotes (``"\\"Global Administrator\\""``)."""
    if value is None:
        return None
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    return text.strip('"') or None


def target_text(target: AuditTarget) -> dict[str, JsonValue]:
    return {"type": target.type, "id": target.id, "name": target.user_principal_name
            or target.display_name}


def audit_context(event: DirectoryAudit, flag: Flag | None = None,
                  flagged_user: AuditUser | None = None) -> dict[str, JsonValue]:
    """The alert context of an audit: the activity, actor, targets and the flag found."""
    actor = event.initiated_by
    return {
        "activity": event.activity_display_name,
        "category": event.category,
        "logged_by_service": event.logged_by_service,
        "result": event.result,
        "result_reason": event.result_reason,
        **actor_context(event),
        "actor_user_id": actor.user_id,
        "actor_app_id": actor.app_id,
        "ip_address": actor.ip_address,
        "targets": [target_text(t) for t in event.targets[:MAX_TARGETS_LISTED]],
        "correlation_id": event.correlation_id,
        "flagged_user": flagged_user.name if flagged_user else None,
        **flag_context(flag),
    }
