"""Runs every rule on every event, contains failing rules and builds dedup keys.

The engine is shared by ``riskwatch scan`` (alerts grouped in memory) and the
deployed pipeline (alerts claimed in Table Storage): both get the same
``Match`` objects from here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from detections.correlation_history import History
from detections.model import Event, EventKind, Severity
from detections.order import in_time_order
from detections.rule import (
    Context,
    Finding,
    MatchFunction,
    ParamValue,
    Rule,
    dedup_values,
    findings_of,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """One rule firing on one event (a rule may fire several times on one event)."""

    rule: Rule
    event: Event
    finding: Finding
    severity: Severity
    principal: str
    dedup_key: str
    time: datetime

    @property
    def dedup_hash(self) -> str:
        """SHA-256 of the dedup key: safe as a Table RowKey (no ``/ \\ # ?``)."""
        return hashlib.sha256(self.dedup_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleFailure:
    """A rule that raised on an event: reported, never fatal to the others."""

    rule_id: str
    event_id: str
    error: str


def make_dedup_key(rule_id: str, values: Sequence[str]) -> str:
    """``rule_id|v1|v2``, with ``|`` and ``\\`` in values escaped so keys never collide."""
    escaped = (v.replace("\\", "\\\\").replace("|", "\\|") for v in values)
    return "|".join((rule_id, *escaped))


# A rule's match function (read once), the rule and its context.
_Judge = tuple[MatchFunction, Rule, Context]

# Rules loaded from Sigma files (detections.sigma) have ids ``sigma:<uuid>``.
SIGMA_PREFIX = "sigma:"


class Engine:
    """Evaluates rules against events and keeps the shared history up to date."""

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        history: History | None = None,
        params: Mapping[str, Mapping[str, ParamValue]] | None = None,
        enricher: Callable[[Match], Match] | None = None,
    ) -> None:
        self.history = history if history is not None else History()
        # Privileged, off-hours and location context (detections.enrich), applied to every match.
        self.enricher = enricher
        self.already_seen = 0
        overrides = params or {}
        # Per kind, every rule (a new event) and the rules without history (an event seen
        # before): the lists are chosen once per event, not a test per rule and event.
        self._by_kind: dict[EventKind, list[_Judge]] = {}
        self._stateless_by_kind: dict[EventKind, list[_Judge]] = {}
        for rule in rules:
            merged = {**rule.default_params(), **overrides.get(rule.id, {})}
            judge = (rule.match, rule, Context(history=self.history, params=merged))
            for kind in rule.kinds:
                self._by_kind.setdefault(kind, []).append(judge)
                stateless = self._stateless_by_kind.setdefault(kind, [])
                if not rule.uses_history:
                    stateless.append(judge)

    def evaluate(self, event: Event) -> tuple[list[Match], list[RuleFailure]]:
        """Judge one event with every rule for its kind, then remember it."""
        matches: list[Match] = []
        failures: list[RuleFailure] = []
        history = self.history
        if history.seen(event):
            self.already_seen += 1
            # Judged when first observed; judging it against later history could fire on
            # another event of the same burst and alert twice. Stateless rules still run:
            # the dedup ledger drops their repeat matches.
            judges = self._stateless_by_kind.get(event.kind, ())
        else:
            judges = self._by_kind.get(event.kind, ())
        for match, rule, context in judges:
            try:
                result = match(event, context)
                if result is None:
                    continue  # nearly every rule on nearly every event
                for finding in findings_of(result):
                    found = _to_match(rule, event, finding)
                    matches.append(self.enricher(found) if self.enricher else found)
            except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
                failures.append(
                    RuleFailure(rule_id=rule.id, event_id=event.event_id, error=_describe(exc))
                )
        history.observe(event)
        # After the event, in the same one-way order: a rule never sees its own alert as a
        # "recent flag", later events of the user do.
        for found in matches:
            if found.rule.id.startswith(SIGMA_PREFIX):
                continue  # Sigma rules (often broad) never make a user "flagged" for the others
            history.flag_alert(event, found.rule.id, found.severity, found.principal,
                               about=found.finding.about_user)
        return matches, failures

    def run(self, events: Iterable[Event]) -> Iterator[tuple[list[Match], list[RuleFailure]]]:
        """Evaluate a batch in time order (Graph returns newest first), ties by content."""
        for event in in_time_order(events):
            yield self.evaluate(event)


def _to_match(rule: Rule, event: Event, finding: Finding) -> Match:
    values = dedup_values(rule, event, finding)
    return Match(
        rule=rule,
        event=event,
        finding=finding,
        severity=finding.severity or rule.severity,
        principal=finding.principal or event.principal,
        dedup_key=make_dedup_key(rule.id, values),
        time=event.time,
    )


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
