"""Evidence, then claim, then the Graph call, then the audit record: each attempt exactly once.

For one (incident, action), whoever asks (the policy in the timer, or a person's
``riskwatch respond``), in this order, each step leaving state the next run can finish:

1. the evidence bundle of the incident is found and verified (``EvidenceStore.latest`` +
   ``verify``): no verified bundle, no action (an audit record says so, once per revision);
2. a claim row is created (``service.state.response_claims``): a conflict means someone
   already owns this attempt, so it is finished, never started again;
3. the Graph call (``service.response.graph_actions``);
4. its outcome is merged into the claim (status ``called``);
5. the audit record is created under a key derived from the claim (a retry is a create
   conflict), then the claim is marked ``audited``.

A crash after 4 is finished from the claim (its audit record written with the recorded
outcome). A crash between 2 and 4 leaves the outcome unknown: the next run (once the
claim's lease ran out) reads whether the action is in effect (the risky user's state, the
account's ``accountEnabled``); if it is, the outcome is re-derived and nothing is called
again; if Graph cannot tell (revoke leaves nothing to read) it is called again, which is
idempotent, and the record says "outcome of the interrupted attempt unknown; retried
idempotently".

An audited ``done`` or ``user_gone`` ends the action for good: asked again, nothing is
called. A ``failed``, ``forbidden`` or ``rejected`` attempt (Graph down past the retries, a
permission not yet granted, an object id not yet known) may be followed by a new attempt
under a fresh claim: by the policy on a later run, at most ``MAX_POLICY_ATTEMPTS`` in all
and each after ``RETRY_AFTER`` has passed since the last; by a person's ``respond --yes``
at once. ``hook(point)`` runs at "action_evidence", "action_claim", "action_call",
"action_outcome" and "action_audit" so tests can crash exactly there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from detections.errors import RiskwatchError
from detections.incidents.model import Incident
from detections.response.policy import Action, Exclusions, Proposal, command_problem
from service.response.bundles import BundleRef, EvidenceStore
from service.response.graph_actions import ActionResult, GraphActions, Target
from service.state.audit import AuditLog, AuditRecord
from service.state.response_claims import LEASE, ActionClaim, ClaimStore
from service.state.tables import Tables

APP_ACTOR = "riskwatch (app identity)"
RETRIED = "outcome of the interrupted attempt unknown; retried idempotently"
REDERIVED = "outcome re-derived after an interrupted attempt: already in effect, not called again"
Hook = Callable[[str], None]
FINAL_OUTCOMES = frozenset({"done", "user_gone"})  # never attempted again
MAX_POLICY_ATTEMPTS = 3  # attempts the policy makes at one (incident, action)
# How long after attempt n the policy waits before attempt n + 1 (across runs).
RETRY_AFTER: tuple[timedelta, ...] = (timedelta(minutes=15), timedelta(hours=1))


def may_retry(claim: ActionClaim, now: datetime, *, by_person: bool) -> bool:
    """Whether a new attempt may follow ``claim``, the latest at its (incident, action)."""
    if claim.status != "audited" or (claim.outcome or "done") in FINAL_OUTCOMES:
        return False
    if by_person:
        return True  # a person saw the failure and asks again
    if claim.attempt >= MAX_POLICY_ATTEMPTS:
        return False
    wait = RETRY_AFTER[min(claim.attempt, len(RETRY_AFTER)) - 1]
    return now >= (claim.called_at or claim.claimed_at) + wait


def settled(claim: ActionClaim) -> bool:
    """Whether the policy will never attempt ``claim``'s action again (done, the user gone,
    or its attempts used up)."""
    if claim.status != "audited":
        return False
    return (claim.outcome or "done") in FINAL_OUTCOMES or claim.attempt >= MAX_POLICY_ATTEMPTS


class ResponseError(RiskwatchError):
    """An action that must not run: an excluded account, a non-user incident ..."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    incident: Incident
    target: Target
    action: Action
    actor: str
    reason: str
    policy_rule: str | None  # None: a person's command
    min_revision: int = 1  # the policy waits for the bundle of the revision it judged


@dataclass(frozen=True, slots=True)
class Done:
    outcome: str  # an audit outcome, or "in_progress" (another worker holds the claim)
    record: AuditRecord | None
    repeated: bool  # the action was claimed before: finished or reported, not redone


def _no_hook(point: str) -> None:
    del point


class Responder:
    def __init__(self, tables: Tables, evidence: EvidenceStore, graph: GraphActions | None,
                 exclusions: Exclusions, *, hook: Hook | None = None) -> None:
        self.audit = AuditLog(tables)
        self.claims = ClaimStore(tables)
        self.evidence = evidence
        self.graph = graph
        self.exclusions = exclusions
        self.hook = hook or _no_hook

    def propose(self, proposal: Proposal, target: Target, now: datetime) -> bool:
        """Plan mode: the proposal in the audit log, once per (incident, revision, action);
        nothing is called. True when this call wrote it."""
        ref = self._latest(proposal.incident_id)
        return self.audit.append(
            f"proposal:{proposal.revision:06d}:{proposal.action}",
            AuditRecord(time=now, actor=APP_ACTOR, action=proposal.action,
                        target=target.principal, target_id=target.user_id,
                        incident_id=proposal.incident_id, revision=proposal.revision,
                        evidence_prefix=ref.prefix if ref else None,
                        evidence_sha256=ref.manifest_sha256 if ref else None,
                        reason=proposal.reason, policy_rule=proposal.policy_rule,
                        graph_request_id=None, outcome="proposed", error=None))

    def execute(self, request: Request, now: datetime) -> Done:
        incident, target = request.incident, request.target
        problem = command_problem(incident, request.action, target.user_id, self.exclusions)
        if problem is not None:
            raise ResponseError(problem)
        if self.graph is None:
            raise ResponseError("no Graph client: actions run only with RISKWATCH_RESPONSE_MODE"
                                "=enforce or by riskwatch respond --yes")
        existing = self.claims.get(incident.incident_id, request.action)
        if existing is not None and not may_retry(existing, now,
                                                  by_person=request.policy_rule is None):
            return self._again(existing, now)
        ref, why = self._verified(incident.incident_id, request.min_revision)
        if ref is None:
            return self._no_evidence(request, why, now)
        self.hook("action_evidence")
        claim = self.claims.create(ActionClaim(
            incident_id=incident.incident_id, action=request.action,
            attempt=existing.attempt + 1 if existing is not None else 1, status="claimed",
            claimed_at=now, lease_until=now + LEASE, actor=request.actor,
            reason=request.reason, policy_rule=request.policy_rule,
            revision=incident.revision, principal=target.principal, user_id=target.user_id,
            privileged=target.privileged, evidence_prefix=ref.prefix,
            evidence_sha256=ref.manifest_sha256, attempts=1))
        if claim is None:  # another worker claimed it between our read and create
            again = self.claims.get(incident.incident_id, request.action)
            return self._again(again, now) if again else Done("in_progress", None, True)
        self.hook("action_claim")
        return self._call(claim, now, note=None)

    def recover(self, now: datetime, claims: list[ActionClaim] | None = None) -> list[Done]:
        """Finish every claim a crash left unfinished (see the module docstring), of
        ``claims`` when the caller read them already (None: read the table)."""
        found = self.claims.unfinished() if claims is None else (
            c for c in claims if c.status != "audited")
        return [self._again(claim, now) for claim in list(found)]

    def _again(self, claim: ActionClaim, now: datetime) -> Done:
        """The existing claim, finished if a crash left it unfinished; nothing new."""
        if claim.status == "audited":
            return Done(claim.outcome or "done", self._record(claim, claim.called_at or now),
                        repeated=True)
        if claim.status == "called":
            return self._audit(claim, claim.called_at or now, repeated=True)
        if self.graph is None:
            return Done("in_progress", None, True)
        leased = self.claims.take_over(claim, now)
        if leased is None:
            return Done("in_progress", None, True)  # another worker's lease still runs
        target = Target(leased.principal, leased.user_id, leased.privileged)
        if self.graph.state(leased.action, target) is True:  # type: ignore[arg-type]
            result = ActionResult("done", None, None, REDERIVED, 0)
            return self._outcome(leased, result, now, repeated=True)
        return self._call(leased, now, note=RETRIED, repeated=True)

    def _call(self, claim: ActionClaim, now: datetime, *, note: str | None,
              repeated: bool = False) -> Done:
        assert self.graph is not None  # noqa: S101 - checked by the callers
        target = Target(claim.principal, claim.user_id, claim.privileged)
        result = self.graph.call(claim.action, target)  # type: ignore[arg-type]
        self.hook("action_call")
        if note is not None:
            result = ActionResult(result.outcome, result.status, result.request_id,
                                  f"{note}; {result.error}" if result.error else note,
                                  result.attempts)
        return self._outcome(claim, result, now, repeated=repeated)

    def _outcome(self, claim: ActionClaim, result: ActionResult, now: datetime, *,
                 repeated: bool) -> Done:
        called = self.claims.called(claim, outcome=result.outcome, request_id=result.request_id,
                                    error=result.error, now=now)
        if called is None:  # moved under us: whoever moved it finishes it
            return Done("in_progress", None, True)
        self.hook("action_outcome")
        return self._audit(called, now, repeated=repeated)

    def _audit(self, claim: ActionClaim, when: datetime, *, repeated: bool) -> Done:
        record = self._record(claim, when)
        self.audit.append(claim.audit_key, record)  # False: written before a crash
        self.hook("action_audit")
        self.claims.audited(claim)
        return Done(record.outcome, record, repeated)

    def _record(self, claim: ActionClaim, when: datetime) -> AuditRecord:
        return AuditRecord(
            time=when, actor=claim.actor, action=claim.action, target=claim.principal,
            target_id=claim.user_id, incident_id=claim.incident_id, revision=claim.revision,
            evidence_prefix=claim.evidence_prefix, evidence_sha256=claim.evidence_sha256,
            reason=claim.reason, policy_rule=claim.policy_rule,
            graph_request_id=claim.request_id, outcome=claim.outcome or "done",
            error=claim.error)

    def _latest(self, incident_id: str) -> BundleRef | None:
        try:
            return self.evidence.latest(incident_id)
        except RiskwatchError:
            return None

    def _verified(self, incident_id: str, min_revision: int) -> tuple[BundleRef | None, str]:
        try:
            ref = self.evidence.latest(incident_id)
        except RiskwatchError as exc:
            return None, f"the evidence bundle cannot be read: {exc}"
        if ref is None:
            return None, "no evidence bundle: nothing is done before the evidence is preserved"
        if ref.revision < min_revision:
            return None, (f"the evidence bundle is of revision {ref.revision}, the incident "
                          f"is at {min_revision}: waiting for its bundle")
        problems = self.evidence.verify(ref)
        if problems:
            return None, "the evidence bundle does not verify: " + "; ".join(problems[:5])
        return ref, ""

    def _no_evidence(self, request: Request, why: str, now: datetime) -> Done:
        incident = request.incident
        record = AuditRecord(
            time=now, actor=request.actor, action=request.action,
            target=request.target.principal, target_id=request.target.user_id,
            incident_id=incident.incident_id, revision=incident.revision,
            evidence_prefix=None, evidence_sha256=None, reason=request.reason,
            policy_rule=request.policy_rule, graph_request_id=None, outcome="no_evidence",
            error=why)
        self.audit.append(f"refused:{incident.revision:06d}:{request.action}", record)
        return Done("no_evidence", record, False)
