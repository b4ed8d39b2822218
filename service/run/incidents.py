"""Alerts join their principal's open incident; a revision worth telling reaches the outbox.

With ``RISKWATCH_NOTIFY=incidents`` the pipeline hands this the claims a batch opened or
updated. Per principal, in one step: read the open incident (``service.state.incidents``),
revise it with the alerts and the batch's evidence (``detections.incidents.grouping``),
write it under its ETag, and only when the revision grew (it opened, its verdict rose, a
new rule joined) write the notification ``<incident_id>:<revision>`` to the outbox and
mark the row. A crash after the row write leaves ``outboxed`` false, and whoever reads the
row next (this principal's next join, or any run's ``recover``) writes that notification
first: no revision is lost, and the outbox's create conflict sends none twice.

An incident at or above ``RISKWATCH_EVIDENCE_MIN_VERDICT`` gets its evidence bundle
(``service.response.bundles``) between the two: after its revision is stored, before its
notification is written, from the batch's raw records. A run that finishes a revision a
crash left untold (``recover``) no longer holds that batch: it writes the bundle with the
incident and no raw records, and its manifest says why. A bundle that cannot be written is
logged and reported, and the notification still goes (evidence storage failing must not
silence an alert; no response action runs without a verified bundle).

``hook`` runs at "after_incident" (row written, notification not yet), "after_evidence"
and "after_incident_outbox", so tests can crash exactly there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from detections.errors import Where
from detections.incidents.grouping import assemble, close, joins, risk_closes
from detections.incidents.model import AlertFacts, Evidence, Incident, PrincipalType
from detections.model import CLOSED_RISK_STATES, RiskyUser
from service.delivery.render import portal_links
from service.response.bundles import (
    BundleRef,
    EvidenceError,
    EvidenceStore,
    incident_inputs,
    needs_bundle,
)
from service.run.incident_evidence import BatchEvidence, ClaimedAlert
from service.state.incidents import (
    MAX_TRIES,
    OUTBOX_PARTITION,
    SEVERITY_OF_VERDICT,
    IncidentStateError,
    IncidentStore,
    StoredIncident,
    encode_notification,
    notification,
    notification_id,
)
from service.state.outbox import Outbox
from service.state.tables import Tables

Hook = Callable[[str], None]
# The response policy's view of one revision and its user's object id (issue 17).
Proposals = Callable[[Incident, str | None], list[dict[str, Any]]]
log = logging.getLogger("riskwatch.incidents")
RECOVERED_NOTE = ("written when a later run finished this revision after an interruption: "
                  "the raw records of the run that raised it were no longer held")


@dataclass(frozen=True, slots=True)
class Joined:
    incident: Incident
    notified: bool  # this join wrote a new revision that must be told
    bundle: BundleRef | None = None  # its evidence bundle, when this join wrote one
    evidence_problem: str | None = None  # why its bundle could not be written


def _merge_evidence(old: Sequence[Evidence], new: Sequence[Evidence]) -> list[Evidence]:
    """Old and new evidence, each event once (a re-read event adds nothing), with an
    event's ``alerted`` mark kept once any alert fired on it. The old "omitted" markers
    are dropped: thinning the same events again then gives the same incident, so a
    repeat changes nothing (the breakdown counts the kept evidence, up to MAX_KEPT)."""
    merged: dict[tuple[str, str], Evidence] = {}
    for item in (*old, *new):
        if item.event_id is None:
            continue
        key = (item.kind, item.event_id)
        before = merged.get(key)
        if before is None or (item.alerted and not before.alerted):
            merged[key] = item
    return list(merged.values())


def _merge_alerts(old: Sequence[AlertFacts], new: Sequence[AlertFacts]) -> list[AlertFacts]:
    merged = {a.alert_id: a for a in old}
    for alert in new:
        before = merged.get(alert.alert_id)
        if before is None or alert.count >= before.count:  # a newer view of the same alert
            merged[alert.alert_id] = alert
    return list(merged.values())


class IncidentJoiner:
    def __init__(
        self, tables: Tables, outbox: Outbox, *, quiet: timedelta, portal_url: str,
        hook: Hook, evidence: EvidenceStore | None = None, evidence_min_verdict: str = "medium",
        proposals: Proposals | None = None,
    ) -> None:
        # What the response policy does about a revision, for its notification
        # (``service.response.policy_run.preview`` when RISKWATCH_RESPONSE_MODE is plan or
        # enforce; None: nothing shown).
        self.proposals = proposals
        self.store = IncidentStore(tables)
        self.outbox = outbox
        self.quiet = quiet
        self.portal_url = portal_url
        self.hook = hook
        self.evidence = evidence  # None: no bundles (scan, tests of the join alone)
        self.evidence_min_verdict = evidence_min_verdict

    def join_all(
        self, alerts: Sequence[ClaimedAlert], evidence: BatchEvidence, now: datetime
    ) -> list[Joined]:
        """Join ``alerts`` by principal, each principal's in one step."""
        by_principal: dict[tuple[PrincipalType, str], list[ClaimedAlert]] = {}
        for alert in sorted(alerts, key=lambda a: (a.facts.first_seen, a.facts.alert_id)):
            by_principal.setdefault((alert.principal_type, alert.principal), []).append(alert)
        joined = [self.join(kind, principal, found, evidence, now)
                  for (kind, principal), found in by_principal.items()]
        self.close_risk(evidence, now)
        return joined

    def close_risk(self, evidence: BatchEvidence, now: datetime) -> int:
        """Close each open user incident whose risk a risky-user record of the batch
        closed (remediated, dismissed, confirmedSafe: ``grouping.risk_closes``, as scan
        applies it); the principal's next alert then opens a new incident. Runs after the
        batch's joins, so an alert of the same batch joins the incident before it closes.
        A close is not notified (the revision stays); how many it closed."""
        closed = 0
        for events in evidence.by_user.values():
            for event in events:
                if isinstance(event, RiskyUser) and event.risk_state in CLOSED_RISK_STATES:
                    closed += self._close_one(event.principal.lower(), event, now)
        return closed

    def _close_one(self, principal: str, event: RiskyUser, now: datetime) -> bool:
        for _ in range(MAX_TRIES):
            stored = self.store.get("user", principal)
            if stored is None or stored.incident.closed is not None:
                return False
            incident = stored.incident
            if event.time < incident.first_seen or not risk_closes(
                    incident.rules, principal, event):  # fmt: skip
                return False
            if not stored.outboxed:
                self._tell_untold(stored, now)  # a revision not yet told goes first
                continue
            if self.store.put(stored, close(incident, "risk closed"), outboxed=True):
                return True
        raise IncidentStateError(Where(f"incident of user {principal[:100]!r}"), "kept changing")

    def join(
        self, principal_type: PrincipalType, principal: str, alerts: Sequence[ClaimedAlert],
        evidence: BatchEvidence, now: datetime,
    ) -> Joined:
        facts = [a.facts for a in alerts]
        items, devices = evidence.for_principal(principal_type, principal, facts)
        user_id = next((a.user_id for a in alerts if a.user_id), None)
        at = min(f.first_seen for f in facts)
        for _ in range(MAX_TRIES):
            stored = self.store.get(principal_type, principal)
            if stored is not None and not stored.outboxed:
                self._tell_untold(stored, now)  # a revision not yet told goes first
                continue
            current = stored.incident if stored is not None and joins(
                stored.incident, at, self.quiet) else None  # fmt: skip
            if stored is not None and current is None:
                # An alert the closed incident already holds (its claim still open, more of
                # the same) stays with it, as in scan: only another alert opens a new one.
                # Without this, the new incident would repeat the old id and revision 1.
                held = {a.alert_id for a in stored.incident.alerts}
                facts = [f for f in facts if f.alert_id not in held]
                if not facts:
                    return Joined(stored.incident, notified=False)
                at = min(f.first_seen for f in facts)
            incident = self._revised(current, principal_type, principal, facts, items, devices)
            if current is not None and incident.to_state() == current.to_state():
                return Joined(current, notified=False)  # nothing new (a re-read, a repeat)
            notify = current is None or incident.revision > current.revision
            written = self.store.put(stored, incident, outboxed=not notify)
            if written is None:
                continue  # another worker moved first: re-read
            bundle, problem = None, None
            if notify:
                self.hook("after_incident")
                bundle, problem = self.preserve(incident, evidence, now)
                self._notify(written, now, user_id)
            return Joined(incident, notified=notify, bundle=bundle, evidence_problem=problem)
        raise IncidentStateError(Where(f"incident of {principal_type} {principal[:100]!r}"),
                                 "kept changing")

    def _revised(
        self, current: Incident | None, principal_type: PrincipalType, principal: str,
        facts: Sequence[AlertFacts], items: Sequence[Evidence], devices: Sequence[str],
    ) -> Incident:
        if current is None:
            return assemble(None, principal_type, principal, facts, items,
                            known_devices=devices)
        return assemble(current, principal_type, principal, _merge_alerts(current.alerts, facts),
                        _merge_evidence(current.evidence, items),
                        known_devices=current.known_devices, related=current.related)

    def _tell_untold(self, stored: StoredIncident, now: datetime) -> None:
        self.preserve(stored.incident, None, now)  # written already: read back, verified
        self._notify(stored, now, None)

    def recover(self, now: datetime) -> int:
        """Tell every revision a crash left untold; how many rows it finished."""
        finished = 0
        for stored in list(self.store.unoutboxed()):
            self._tell_untold(stored, now)
            finished += 1
        return finished

    def preserve(self, incident: Incident, evidence: BatchEvidence | None,
                 now: datetime) -> tuple[BundleRef | None, str | None]:
        """The revision's evidence bundle, when it needs one: (its ref, None), or (None,
        why it could not be written). ``evidence`` None: a recovery, no raw records."""
        if self.evidence is None or not needs_bundle(incident, self.evidence_min_verdict):
            return None, None
        raw, events, missing = incident_inputs(
            incident, evidence.by_id if evidence else {}, evidence.raw if evidence else {})
        try:
            ref = self.evidence.write(incident, raw, events, now, without_raw=missing,
                                      note=None if evidence else RECOVERED_NOTE)
        except EvidenceError as exc:
            log.error("evidence bundle of incident %s revision %d not written: %s",
                      incident.incident_id, incident.revision, exc)
            return None, str(exc)
        self.hook("after_evidence")
        return ref, None

    def _notify(self, stored: StoredIncident, now: datetime, user_id: str | None) -> None:
        incident = stored.incident
        context = {"user_id": user_id} if user_id else {}
        links = [{"title": link.title, "url": link.url}
                 for link in portal_links(self.portal_url, context)]
        told = notification(incident, links)
        if self.proposals is not None:  # the response policy's verdict (issue 17), shown
            told["incident"]["response"] = self.proposals(incident, user_id)
        payload = encode_notification(told)
        self.outbox.write(OUTBOX_PARTITION, notification_id(incident), payload,
                          SEVERITY_OF_VERDICT[incident.verdict], now)
        self.hook("after_incident_outbox")
        self.store.mark_outboxed(stored)
