"""The response policy over Table Storage: which incidents it looks at, and what it does.

The job calls ``run_policy`` once per run, after every batch's incidents were joined and
their evidence written (``service.run.job``; the Event Hubs trigger once per invocation).
It looks at the incidents of the principals the run's alerts joined (``Touched``, read by
their row key) and every incident whose latest analyst label is a false positive (the
labels read once; one whose dismissal is settled is skipped unread), asks the pure policy
(``detections.response.policy``) what they warrant, and then, by ``RISKWATCH_RESPONSE_MODE``:
``plan`` writes each proposal to the audit log (once per revision) and calls nothing;
``enforce`` runs each through the ``Responder`` (evidence, claim, call, audit; exactly once).
``off`` does nothing at all. The incident notification shows the same proposals
(``proposals_for``), computed from the same policy when the revision is told. An incident
row that cannot be read is reported and the others go on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from detections.incidents.model import Incident
from detections.response.policy import ACTION_TEXT, Exclusions, Mode, Proposal, propose
from detections.review.labels import IncidentLabel, latest_labels
from service.response.executor import APP_ACTOR, Request, Responder, settled
from service.response.graph_actions import Target
from service.run.incident_evidence import claimed
from service.state.claim import Claim
from service.state.dedup import TABLE as DEDUP_TABLE
from service.state.incidents import IncidentStateError, IncidentStore
from service.state.labels import LabelStore, find_incident
from service.state.response_claims import ActionClaim
from service.state.tables import Tables

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger("riskwatch.response")


@dataclass(slots=True)
class PolicyReport:
    proposed: int = 0  # plan mode: proposals written this run
    done: int = 0  # enforce mode: actions that succeeded this run
    failed: list[str] = field(default_factory=list)  # one line per action that did not


def user_id_of(tables: Tables, incident: Incident) -> str | None:
    """The user's object id, from the alert payloads of the incident's dedup claims."""
    table = tables.table(DEDUP_TABLE)
    for alert in incident.alerts:
        rows = table.query_entities("PartitionKey eq @rule and alert_id eq @id",
                                    parameters={"rule": alert.rule_id, "id": alert.alert_id})
        for row in rows:
            try:
                context = json.loads(row.get("payload", "{}")).get("context", {})
            except (ValueError, AttributeError):
                continue
            user_id = context.get("user_id") if isinstance(context, dict) else None
            if isinstance(user_id, str) and user_id:
                return user_id
    return None


def target_of(incident: Incident, user_id: str | None) -> Target:
    return Target(incident.principal, user_id, incident.privileged)


def proposals_for(incident: Incident, user_id: str | None, label: str | None,
                  exclusions: Exclusions, mode: Mode) -> list[dict[str, Any]]:
    """What the notification shows of the policy's verdict on this revision."""
    if mode == "off":
        return []
    return [{"action": p.action, "text": ACTION_TEXT[p.action], "reason": p.reason,
             "policy_rule": p.policy_rule, "mode": mode}
            for p in propose(incident, user_id=user_id, label=label, exclusions=exclusions)]


def labels_by_incident(tables: Tables) -> dict[str, str]:
    """The latest analyst label of each incident."""
    return {incident_id: label.label
            for incident_id, label in latest_labels(LabelStore(tables).all()).items()}


@dataclass(slots=True)
class Touched:
    """The principals whose incidents a run's alerts joined, and their users' object ids:
    what the run's one ``run_policy`` looks at (collected batch by batch)."""

    principals: dict[tuple[str, str], None] = field(default_factory=dict)  # (type, principal)
    user_ids: dict[str, str] = field(default_factory=dict)  # principal -> object id

    def add(self, claims: Iterable[Claim]) -> None:
        for claim in claims:
            alert = claimed(claim)
            self.principals.setdefault((alert.principal_type, alert.principal), None)
            if alert.principal_type == "user" and alert.user_id:
                self.user_ids.setdefault(alert.principal, alert.user_id)


# (principal type, principal, the incident id a label names, or None: the open one)
_Lookup = tuple[str, str | None, str | None]


def run_policy(
    tables: Tables, responder: Responder, mode: Mode, principals: Iterable[tuple[str, str]],
    now: datetime, *, user_ids: Mapping[str, str] | None = None,
) -> PolicyReport:
    """Propose or take the policy's actions for the incidents of ``principals`` (principal
    type, principal) and every fp-labelled one."""
    report = PolicyReport()
    if mode == "off":
        return report
    claims: list[ActionClaim] = []
    if mode == "enforce":
        claims = responder.claims.all()  # read once: recovery and the settled dismissals
        for done in responder.recover(now, claims):  # crashed attempts of earlier runs first
            report.done += done.outcome == "done" and not done.repeated
    latest = latest_labels(LabelStore(tables).all())
    dismissed = {c.incident_id for c in claims if c.action == "dismiss" and settled(c)}
    lookups: list[_Lookup] = [(kind, principal, None) for kind, principal in principals]
    lookups += [_labelled(label) for incident_id, label in latest.items()
                if label.label == "fp" and incident_id not in dismissed]
    rows = _Rows(tables)
    seen: set[str] = set()
    for lookup in dict.fromkeys(lookups):
        try:
            incident = rows.incident(lookup)
        except IncidentStateError as exc:  # one broken row never stops the others
            report.failed.append(f"response policy: {exc}")
            log.error("%s", report.failed[-1])
            continue
        if incident is None or incident.incident_id in seen:
            continue  # swept, broken, or replaced by a newer incident of the principal
        seen.add(incident.incident_id)
        known = (user_ids or {}).get(incident.principal) or user_id_of(tables, incident)
        label = latest.get(incident.incident_id)
        for proposal in propose(incident, user_id=known, label=label.label if label else None,
                                exclusions=responder.exclusions):
            _one(responder, mode, proposal, incident, now, report)
    return report


def _labelled(label: IncidentLabel) -> _Lookup:
    # Only a user incident has an account to dismiss; the label keeps its principal.
    return ("user", label.principal, label.incident_id)


class _Rows:
    """The incident rows of one policy run, each read once by its key."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.store = IncidentStore(tables)
        self.read: dict[tuple[str, str], Incident | None] = {}  # None: no row, or broken

    def incident(self, lookup: _Lookup) -> Incident | None:
        """The incident ``lookup`` names, or None; ``IncidentStateError`` the first time
        a row cannot be read."""
        kind, principal, incident_id = lookup
        if principal is None:  # a label written without its principal: by id (a table scan)
            return find_incident(self.tables, incident_id) if incident_id else None
        key = (kind, principal)
        if key not in self.read:
            self.read[key] = None  # a broken row is reported once
            stored = self.store.get(kind, principal)
            self.read[key] = stored.incident if stored is not None else None
        incident = self.read[key]
        if incident is None or incident_id not in (None, incident.incident_id):
            return None
        return incident


def _one(responder: Responder, mode: Mode, proposal: Proposal, incident: Incident,
         now: datetime, report: PolicyReport) -> None:
    target = target_of(incident, proposal.user_id)
    if mode == "plan":
        report.proposed += responder.propose(proposal, target, now)
        return
    done = responder.execute(Request(
        incident=incident, target=target, action=proposal.action, actor=APP_ACTOR,
        reason=proposal.reason, policy_rule=proposal.policy_rule,
        min_revision=proposal.revision), now)
    if done.outcome == "done":
        report.done += not done.repeated
    elif done.outcome != "in_progress" and not done.repeated:
        why = done.record.error if done.record is not None else done.outcome
        report.failed.append(f"response {proposal.action} on incident "
                             f"{proposal.incident_id}: {done.outcome}: {why}")
        log.error("%s", report.failed[-1])


def preview(tables: Tables, exclusions: Exclusions, mode: Mode,
            ) -> Callable[[Incident, str | None], list[dict[str, Any]]]:
    """The notification's view of the policy (``IncidentJoiner.proposals``)."""
    store = LabelStore(tables)

    def shown(incident: Incident, user_id: str | None) -> list[dict[str, Any]]:
        history = store.history(incident.incident_id)
        label = history[-1].label if history else None
        return proposals_for(incident, user_id, label, exclusions, mode)

    return shown


def build_responder(settings: Settings, tables: Tables) -> Responder | None:
    """The run's responder: None when the policy is off; Graph only in ``enforce``."""
    from service.ingest.graph.auth import make_token_provider, parse_auth_mode
    from service.response.bundles import evidence_store
    from service.response.graph_actions import GraphActions

    response = settings.response
    if response.mode == "off":
        return None
    graph = None
    if response.mode == "enforce":
        token = make_token_provider(parse_auth_mode(settings.graph_auth),
                                    settings.graph_base_url, settings.azure_client_id)
        graph = GraphActions(settings.graph_base_url, token)
    return Responder(tables, evidence_store(settings), graph, response.exclusions)
