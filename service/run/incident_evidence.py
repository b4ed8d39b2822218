"""What the deployed pipeline knows of a principal when its alerts join their incident.

The batch's own events of the principal (its user, its address, or the events a
tenant-wide alert fired on) and what the correlation history kept of it (a user's
recent successes and failures, an address's window), as incident evidence. Bounded:
at most ``MAX_BATCH_EVIDENCE`` events of a batch per principal, the alerted ones first;
the incident itself keeps at most ``timeline.MAX_KEPT`` entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from detections.correlation_history import History, success_record
from detections.failures import classify
from detections.history_records import EVENT_RETENTION, MAX_SUCCESSES, SuccessSeen, insert
from detections.incidents.evidence import (
    evidence_of,
    from_attempt,
    from_success,
    principal_key,
    user_key_of,
)
from detections.incidents.grouping import MAX_USERS, principal_of, signals_of
from detections.incidents.model import AlertFacts, Evidence, PrincipalType
from detections.model import Event, SignIn
from detections.predicates import is_interactive, is_user_sign_in
from detections.rule import JsonValue
from service.response.raw import RawRecord
from service.state.claim import Claim

MAX_BATCH_EVIDENCE = 1000  # events of one batch taken per principal
MAX_KNOWN_DEVICES = 20


def _texts(value: JsonValue) -> tuple[str, ...]:
    return tuple(str(v) for v in value[:MAX_USERS]) if isinstance(value, list) else ()


@dataclass(frozen=True, slots=True)
class ClaimedAlert:
    """An alert as its dedup claim holds it: its principal and the facts an incident keeps."""

    claim: Claim
    principal_type: PrincipalType
    principal: str
    facts: AlertFacts
    user_id: str | None  # for the portal's user-profile link


def claimed(claim: Claim) -> ClaimedAlert:
    """``claim``'s alert (the payload written when it opened, the counts as they stand)."""
    alert = json.loads(claim.payload)
    context = alert.get("context") if isinstance(alert.get("context"), dict) else {}
    kind, principal = principal_of(claim.rule_id, str(alert.get("principal", "")), context)
    facts = AlertFacts(
        alert_id=claim.alert_id, rule_id=claim.rule_id, severity=claim.severity.value,
        first_seen=claim.first_seen, last_seen=claim.last_seen, count=claim.count,
        event_ids=tuple(str(i) for i in alert.get("event_ids", [])),
        signals=signals_of(claim.rule_id, context, claim.severity.value),
        privileged_roles=_texts(context.get("privileged_roles")),
        users=_texts(context.get("users")),
    )
    user_id = context.get("user_id")
    return ClaimedAlert(claim, kind, principal, facts,
                        user_id if isinstance(user_id, str) else None)


@dataclass(slots=True)
class BatchEvidence:
    """One batch's events indexed by user principal, address and event id (built once)."""

    history: History | None = None
    by_user: dict[str, list[Event]] = field(default_factory=dict)
    by_ip: dict[str, list[Event]] = field(default_factory=dict)
    by_id: dict[str, Event] = field(default_factory=dict)
    user_keys: dict[str, str] = field(default_factory=dict)  # principal -> history key
    # event id -> its record as received (the source's Batch.raw), for evidence bundles
    raw: Mapping[str, RawRecord] = field(default_factory=dict)

    @classmethod
    def of(cls, batch: Iterable[Event], history: History | None) -> BatchEvidence:
        found = cls(history=history)
        for event in batch:
            key = principal_key(event)
            found.by_user.setdefault(key, []).append(event)
            found.user_keys.setdefault(key, user_key_of(event))
            if isinstance(event, SignIn) and event.ip_address:
                found.by_ip.setdefault(event.ip_address, []).append(event)
            found.by_id.setdefault(event.event_id, event)
        return found

    def for_principal(
        self, principal_type: PrincipalType, principal: str, alerts: Sequence[AlertFacts]
    ) -> tuple[list[Evidence], list[str]]:
        """The principal's evidence and the devices it used before its first alert."""
        alerted = {i for a in alerts for i in a.event_ids}
        events = [self.by_id[i] for i in sorted(alerted) if i in self.by_id]
        if principal_type in ("user", "app"):  # an app's events are keyed by its name too
            events += self.by_user.get(principal.lower(), ())
        elif principal_type == "ip":
            events += self.by_ip.get(principal, ())
        unique = {e.event_id: e for e in events[: MAX_BATCH_EVIDENCE * 2]}
        chosen = list(unique.values())[:MAX_BATCH_EVIDENCE]
        evidence = [evidence_of(e, alerted=e.event_id in alerted) for e in chosen]
        devices: list[str] = []
        remembered = self._remembered(principal_type, principal, alerts, devices)
        seen = {e.event_id for e in evidence}
        evidence += [replace(e, alerted=e.event_id in alerted) for e in remembered
                     if e.event_id not in seen]
        return evidence, devices

    def _remembered(
        self, principal_type: PrincipalType, principal: str, alerts: Sequence[AlertFacts],
        devices: list[str],
    ) -> list[Evidence]:
        if self.history is None:
            return []
        if principal_type == "ip":
            window = self.history.ip(principal)
            if window is None:
                return []
            return [from_attempt(r) for r in (*window.failures, *window.successes)]
        key = self.user_keys.get(principal) if principal_type == "user" else None
        state = self.history.user(key) if key else None
        if state is None:
            return []
        opened = min((a.first_seen for a in alerts), default=None)
        for success in self._successes_before(principal, state.successes, opened):
            device = success.device
            if (device and not success.risky and device not in devices
                    and len(devices) < MAX_KNOWN_DEVICES):
                devices.append(device)  # seen before the incident opened
        return [*(from_success(s, principal) for s in state.successes),
                *(from_attempt(r) for r in state.failures)]

    def _successes_before(
        self, principal: str, remembered: Sequence[SuccessSeen], opened: datetime | None
    ) -> list[SuccessSeen]:
        """The user's successes as the history held them when the incident opened, as
        ``scan`` sees them at its first match. The history is read after the whole batch,
        when its retention has already dropped the batch's older successes, so the batch's
        own are replayed into it (with the same retention and cap)."""
        batch = [success_record(e) for e in self.by_user.get(principal, ())
                 if isinstance(e, SignIn) and is_user_sign_in(e) and is_interactive(e)
                 and classify(e) == "none"]
        window: list[SuccessSeen] = []
        for success in sorted({s.event_id: s for s in (*remembered, *batch)}.values(),
                              key=lambda s: (s.time, s.event_id)):
            if opened is None or success.time < opened:
                insert(window, success, retention=EVENT_RETENTION, cap=MAX_SUCCESSES)
        return window
