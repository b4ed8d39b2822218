"""The pipeline the job (``service.run.job``) hands each batch: rules → dedup claim → outbox,
then delivery and sweep when the job asks, exactly once.

It judges a batch and returns what it did (``RunReport``); the job moves the batch's
cursors only after ``judge`` returned, so its alerts are in the outbox by then.
Every step leaves state that a later run (or another worker) can finish:

1. a claim and the ledger rows of the events it counts commit in one transaction;
2. the worker that opened a claim writes the outbox row and marks the claim outboxed;
   any worker that finds a claim not outboxed writes the row again (a create
   conflict means it is there), so a crash between 1 and 2 loses nothing;
3. delivery leases each sink of each outbox row, posts, and records the outcome.

Before step 1, the changed correlation-history rows are locked for the batch's
judgement (``service.state.history_store``, which explains the order): a row another
worker changed since the load means reloading and judging again, with nothing claimed
yet, so every claim comes from the judgement whose state is committed after step 2.

The only duplicate is a crash between a receiver's 2xx and step 3's mark: the
alert is posted again with the same alert_id, which receivers use to discard it.
``hook(point)`` runs at "after_claim", "after_outbox" and "after_send" so tests
can crash the pipeline exactly there.

With ``notify="incidents"`` (``RISKWATCH_NOTIFY``, the default of the deployed app) step 2
is different: once every alert of the batch is claimed, the claims it opened or updated
join their principal's incident (``service.run.incidents``), one step per principal,
and only a new revision reaches the outbox. A claim's ``outboxed`` mark then means "joined
its incident", set after the join, so a crash before it is finished by the next
``deliver``, the same way.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from detections.alerts import OVERFLOW_RULE_ID, overflow_summary
from detections.correlation_history import History
from detections.engine import Engine, Match, RuleFailure
from detections.enrich import Enricher
from detections.errors import Where
from detections.model import Event
from detections.registry import load_rules
from detections.rule import ParamValue, Rule
from service.delivery.base import Sink
from service.delivery.deliverer import Deliverer, DeliveryReport, RetryPolicy
from service.delivery.render import DEFAULT_PORTAL_URL
from service.response.bundles import EvidenceStore, RawRecord, evidence_store
from service.run.incident_evidence import BatchEvidence, claimed
from service.run.incidents import IncidentJoiner, Proposals
from service.settings import Settings
from service.state.dedup import Budget, Claim, ContentionError, DedupStore
from service.state.history_store import (
    HistoryStore,
    InMemoryHistoryStore,
    SharedHistoryStore,
    TableHistoryStore,
    TenantLockingStore,
)
from service.state.outbox import Outbox
from service.state.storage import table_service
from service.state.sweep import SweepReport, sweep
from service.state.tables import Tables

Hook = Callable[[str], None]
Clock = Callable[[], float]  # seconds, monotonic
MAX_JUDGEMENTS = 50  # judgements of one batch refused by other workers' changes before giving up


def _no_hook(point: str) -> None:
    del point


@dataclass(slots=True)
class RunReport:
    events: int = 0
    matches: int = 0
    alerts_raised: int = 0
    duplicates_skipped: int = 0
    suppressed: int = 0  # matches over the per-run cap, summarised in one overflow alert
    rule_failures: int = 0
    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    failures: list[RuleFailure] = field(default_factory=list)
    # alert id -> its claim as this run left it: the alerts it opened or updated.
    touched: dict[str, Claim] = field(default_factory=dict)
    # incident id -> its revision after this run's joins (notify=incidents only)
    incidents: dict[str, int] = field(default_factory=dict)
    notifications: int = 0  # incident revisions this run wrote to the outbox
    evidence_bundles: int = 0  # evidence bundles this run wrote (or found) and verified
    evidence_failures: list[str] = field(default_factory=list)  # bundles not written: why
    history_conflicts: int = 0  # judgements redone: another worker changed or held a row


class Pipeline:
    def __init__(
        self,
        tables: Tables,
        sinks: Sequence[Sink] = (),
        *,
        rules: Sequence[Rule] | None = None,
        params: Mapping[str, Mapping[str, ParamValue]] | None = None,
        disabled_rules: Iterable[str] = (),
        history_store: HistoryStore | None = None,
        max_alerts_per_run: int = 1000,
        lookback: timedelta = timedelta(hours=48),
        outbox_retention: timedelta = timedelta(days=7),
        lease_for: timedelta = timedelta(minutes=5),
        retry_policy: RetryPolicy | None = None,
        worker_id: str | None = None,
        hook: Hook | None = None,
        enricher: Enricher | None = None,
        notify: str = "alerts",
        incident_quiet: timedelta = timedelta(days=7),
        portal_url: str = DEFAULT_PORTAL_URL,
        evidence: EvidenceStore | None = None,
        evidence_min_verdict: str = "medium",
        proposals: Proposals | None = None,
    ) -> None:
        disabled = set(disabled_rules)
        # Privileged roles and business hours; the job builds one pipeline per run with the
        # directory's privileged map of that run.
        self.enricher = enricher or Enricher()
        self.rules = tuple(r for r in (rules or load_rules()) if r.id not in disabled)
        self.params = params or {}
        self.tables = tables
        self.sinks = tuple(sinks)
        self.history_store = history_store or InMemoryHistoryStore()
        self.max_alerts_per_run = max_alerts_per_run
        self.outbox_retention = outbox_retention
        self.hook = hook or _no_hook
        # Re-reads reach back one look-back behind a watermark that may itself lag by one.
        self.dedup = DedupStore(tables, ledger_retention=2 * lookback + timedelta(days=1))
        self.outbox = Outbox(tables, self.sinks)
        self.deliverer = Deliverer(
            self.outbox,
            self.sinks,
            owner=worker_id or uuid.uuid4().hex,
            lease_for=lease_for,
            policy=retry_policy or RetryPolicy(),
            hook=self.hook,
        )
        # None: every alert goes to the sinks (RISKWATCH_NOTIFY=alerts).
        self.incidents = IncidentJoiner(
            tables, self.outbox, quiet=incident_quiet, portal_url=portal_url, hook=self.hook,
            evidence=evidence, evidence_min_verdict=evidence_min_verdict, proposals=proposals,
        ) if notify == "incidents" else None  # fmt: skip

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sinks: Sequence[Sink] = (),
        *,
        history_store: HistoryStore | None = None,
        hook: Hook | None = None,
        tables: Tables | None = None,
        enricher: Enricher | None = None,
        rules: Sequence[Rule] | None = None,
        proposals: Proposals | None = None,
    ) -> Pipeline:
        """The pipeline as configured; the job passes its run's ``tables`` and ``enricher``
        (and ``rules`` with the Sigma ones; None: the built-in rules; ``proposals``: the
        response policy's view for the incident notifications)."""
        if tables is None:
            tables = Tables(table_service(settings.storage), settings.table_prefix)
        return cls(
            tables,
            sinks,
            rules=rules,
            params=settings.rule_params,
            disabled_rules=settings.disabled_rules,
            history_store=history_store or TableHistoryStore(tables),
            enricher=enricher or Enricher(hours=settings.business_hours),
            max_alerts_per_run=settings.max_alerts_per_run,
            lookback=settings.lookback,
            retry_policy=RetryPolicy(budget=settings.delivery_retry_budget),
            hook=hook,
            notify=settings.notify,
            incident_quiet=settings.incident_quiet,
            portal_url=settings.portal_url,
            # Bundles go with incidents (RISKWATCH_EVIDENCE_MIN_VERDICT): none per alert.
            evidence=evidence_store(settings) if settings.notify == "incidents" else None,
            evidence_min_verdict=settings.evidence.min_verdict,
            proposals=proposals,
        )

    def process(self, events: Iterable[Event], now: datetime, *, deliver: bool = True) -> RunReport:
        """``judge`` the events, then deliver (tests and the bench; the job calls the two)."""
        report = self.judge(events, now)
        if deliver:
            delivery = self.deliver(now)
            report.delivered = delivery.delivered
            report.retried = delivery.retried
            report.dead_lettered = delivery.dead_lettered
        return report

    def judge(self, events: Iterable[Event], now: datetime,
              raw: Mapping[str, RawRecord] | None = None) -> RunReport:
        """Run the rules over ``events`` and put every new alert in the outbox; ``raw`` (the
        batch's records as received) feeds the evidence bundles of its incidents."""
        batch = list(events)
        store = self.history_store
        shared = store if isinstance(store, SharedHistoryStore) else None
        conflicts = 0
        while True:
            # Judged on a snapshot; kept only once its changed rows are locked (see
            # service.state.history_store): another worker's change means judging again.
            report, history, by_key = self._evaluate(batch, now)
            if shared is None or shared.reserve(history, now):
                break
            conflicts += 1
            if conflicts >= MAX_JUDGEMENTS:
                raise ContentionError(Where("history"), f"changed under {conflicts} judgements")
            time.sleep(random.uniform(0, min(1.0, 0.01 * 2**conflicts)))  # noqa: S311
        report.history_conflicts = conflicts
        try:
            self._claim(batch, history, by_key, report, now, raw or {})
        except Exception:
            if shared is not None:
                shared.release(history)  # a live failure gives its locks back at once
            raise
        # Only now that every alert is in the outbox: a crash before this line leaves the
        # events unseen, so the next run judges them again and the ledger drops repeats.
        store.save(history)
        return report

    def _evaluate(
        self, batch: list[Event], now: datetime
    ) -> tuple[RunReport, History, dict[tuple[str, str], list[Match]]]:
        report = RunReport(events=len(batch))
        store = self.history_store
        # A shared store takes the tenant window first when the batch will change it.
        history = (store.load_locked(batch, now) if isinstance(store, TenantLockingStore)
                   else store.load(batch))
        engine = Engine(self.rules, history=history, params=self.params, enricher=self.enricher)
        by_key: dict[tuple[str, str], list[Match]] = {}
        for matches, failures in engine.run(batch):
            report.failures += failures
            for match in matches:
                by_key.setdefault((match.rule.id, match.dedup_hash), []).append(match)
                report.matches += 1
        report.rule_failures = len(report.failures)
        return report, history, by_key

    def _claim(
        self, batch: list[Event], history: History, by_key: dict[tuple[str, str], list[Match]],
        report: RunReport, now: datetime, raw: Mapping[str, RawRecord],
    ) -> None:
        """The judgement's matches through the dedup claims into the outbox (or incidents)."""
        budget = Budget(self.max_alerts_per_run)
        suppressed: list[Match] = []
        joining: list[Claim] = []  # opened claims that join their incidents below
        evidence = BatchEvidence.of(batch, history) if self.incidents is not None else None
        if evidence is not None:
            evidence.raw = raw
        for key_matches in sorted(by_key.values(), key=lambda ms: min(m.time for m in ms)):
            suppressed += self._record(key_matches, now, budget, report, joining, evidence)
        if suppressed:
            report.suppressed = len(suppressed)
            self._raise_overflow(suppressed, now, joining)
        if evidence is not None:  # one join per principal: its alerts of the batch together
            self._join([*joining, *report.touched.values()], joining, report, evidence, now)

    def _record(
        self, matches: list[Match], now: datetime, budget: Budget, report: RunReport,
        joining: list[Claim], evidence: BatchEvidence | None,
    ) -> list[Match]:
        """Count one key's matches, one claim transaction at a time; each alert a step
        opens (or is about to replace) goes to the outbox before the next step."""
        pending, held = self.dedup.uncounted(matches)
        report.duplicates_skipped += held
        while pending:
            step = self.dedup.record(pending, now, budget)
            report.duplicates_skipped += step.duplicates
            if step.handover is not None and evidence is not None:
                # The old window's alert joins now: its claim is about to be replaced.
                handover = step.handover
                joining[:] = [c for c in joining if c.alert_id != handover.alert_id]
                self._join([handover], [handover], report, evidence, now)
            elif step.handover is not None:
                self._to_outbox(step.handover, now)
            report.alerts_raised += step.raised
            if step.opened is not None:
                self._opened(step.opened, now, joining)
            if step.touched is not None:
                report.touched[step.touched.alert_id] = step.touched
            if step.suppressed:
                return step.suppressed
            pending = step.rest
        return []

    def deliver(
        self, now: datetime, deadline: float | None = None, clock: Clock = time.monotonic
    ) -> DeliveryReport:
        """Finish interrupted outbox writes, then deliver every due alert to every sink
        (until ``clock()`` reaches ``deadline``, when one is given)."""
        if self.incidents is not None:
            self.incidents.recover(now)
            stranded = list(self.dedup.unoutboxed())
            if stranded:  # claimed, then a crash before their join: join without evidence
                self._join(stranded, stranded, RunReport(), BatchEvidence(), now)
        else:
            for claim in self.dedup.unoutboxed():
                self._to_outbox(claim, now)
        return self.deliverer.run(now, deadline, clock=clock)

    def sweep(self, now: datetime) -> SweepReport:
        quiet = self.incidents.quiet if self.incidents is not None else timedelta(days=7)
        return sweep(self.tables, now, self.outbox_retention, quiet)

    def _opened(self, claim: Claim, now: datetime, joining: list[Claim] | None = None) -> None:
        self.hook("after_claim")
        if self.incidents is not None and joining is not None:
            joining.append(claim)  # joins its incident with the rest of the batch
        else:
            self._to_outbox(claim, now)

    def _join(
        self, claims: Sequence[Claim], opened: Sequence[Claim], report: RunReport,
        evidence: BatchEvidence, now: datetime,
    ) -> None:
        """``claims`` (opened or updated) join their incidents; then ``opened`` are marked."""
        assert self.incidents is not None  # noqa: S101 - only called with incidents on
        latest = {c.alert_id: c for c in claims}  # the newest view of each alert
        for joined in self.incidents.join_all([claimed(c) for c in latest.values()],
                                              evidence, now):
            report.incidents[joined.incident.incident_id] = joined.incident.revision
            report.notifications += joined.notified
            report.evidence_bundles += joined.bundle is not None
            if joined.evidence_problem:
                report.evidence_failures.append(joined.evidence_problem)
        for claim in opened:
            self.dedup.mark_outboxed(claim)

    def _to_outbox(self, claim: Claim, now: datetime) -> None:
        self.outbox.write(claim.rule_id, claim.alert_id, claim.payload, claim.severity, now)
        self.hook("after_outbox")
        self.dedup.mark_outboxed(claim)

    def _raise_overflow(
        self, suppressed: list[Match], now: datetime, joining: list[Claim] | None = None
    ) -> None:
        # One summary per hour however many workers overflow: its claim dedups it.
        alert = overflow_summary(
            Counter(m.rule.id for m in suppressed),
            first=min(m.time for m in suppressed),
            last=max(m.time for m in suppressed),
            cap=self.max_alerts_per_run,
            key=f"{OVERFLOW_RULE_ID}|{now.strftime('%Y-%m-%dT%H')}",
            window_end=now + timedelta(hours=1),
            why="Matches of stateless rules over the cap were not marked as seen: later runs "
            "raise them while they are inside the look-back. Matches of correlation rules are "
            "counted here only. Raise the cap or narrow the input.",
        )
        claim = self.dedup.open_summary(alert)
        if claim is not None:
            self._opened(claim, now, joining)
