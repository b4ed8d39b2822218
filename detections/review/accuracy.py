"""The detection accuracy assessment (seed 001, "Assessing detection accuracy before
enforcement"): per detection type and level, and per Riskwatch rule, how many detections
were true or false positives, dismissed, resolved by policy, still open or indeterminate,
with precision, its 95 % Wilson interval and the sample size.

Where a label comes from: an analyst's label (``riskwatch label``) on an incident covers
every alert of it and every event those alerts fired on; otherwise Identity Protection's
own lifecycle (``detections.review.outcomes``). When both exist for one detection the
analyst's label counts (it is a deliberate review of the whole case, in context);
Identity Protection's outcome is kept and a disagreement (tp against fp) is counted. Each
row says how many of its outcomes each source decided (``identity_protection``, ``analyst``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

from detections.incidents.model import AlertFacts, Incident
from detections.model import Event, RiskDetection, RiskyUser, SignIn
from detections.review.decisions import decisions
from detections.review.labels import IncidentLabel, analyst_index
from detections.review.outcomes import OUTCOMES, Outcome, combined_outcome, lifecycle_outcome
from detections.review.stats import precision

LEVEL_ORDER = {"high": 0, "medium": 1, "low": 2}


Source: TypeAlias = Literal["identity_protection", "analyst"]
SOURCES: tuple[Source, ...] = ("identity_protection", "analyst")


@dataclass(slots=True)
class Counts:
    """One row of the assessment: a column per outcome, and how many of them each source
    decided (the rest, open or indeterminate by Identity Protection, nobody decided)."""

    by_outcome: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    by_source: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))

    def add(self, outcome: Outcome, source: Source | None = None) -> None:
        self.by_outcome[outcome] += 1
        if source is not None:
            self.by_source[source] += 1

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())

    def to_dict(self) -> dict[str, Any]:
        tp, fp = self.by_outcome["tp"], self.by_outcome["fp"]
        value, low, high = precision(tp, fp)
        return {**self.by_outcome, "n": tp + fp, "precision": value, "ci_low": low,
                "ci_high": high, **self.by_source}


def _decided_by(analyst: Outcome | None, outcome: Outcome) -> Source | None:
    """Who decided a detection's or alert's outcome: the analyst's label, else Identity
    Protection's lifecycle when it says something (not open, not indeterminate)."""
    if analyst is not None:
        return "analyst"
    return None if outcome in ("indeterminate", "open") else "identity_protection"


class AssessmentTally:
    """Watches the events of the assessment window: the risk detections (each with its
    lifecycle outcome) and the outcome of every record that has a risk lifecycle."""

    def __init__(self, since: datetime, until: datetime) -> None:
        self.since, self.until = since, until
        self.detections: list[tuple[str, str, str, Outcome]] = []  # id, type, level, outcome
        self.lifecycle: dict[str, Outcome] = {}

    def observe(self, event: Event) -> None:
        if not self.since <= event.time < self.until:
            return
        if isinstance(event, RiskDetection):
            outcome = lifecycle_outcome(event.risk_state, event.risk_detail)
            self.lifecycle[event.id] = outcome
            self.detections.append(
                (event.id, event.risk_event_type, event.risk_level or "unknown", outcome))
        elif isinstance(event, SignIn | RiskyUser) and (event.risk_state or "none") != "none":
            self.lifecycle[event.event_id] = lifecycle_outcome(event.risk_state,
                                                               event.risk_detail)


@dataclass(frozen=True, slots=True)
class Assessment:
    since: datetime
    until: datetime
    by_type: dict[tuple[str, str], Counts]
    by_rule: dict[str, Counts]
    sources: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        types = sorted(self.by_type.items(), key=lambda kv: (
            LEVEL_ORDER.get(kv[0][1], 3), -kv[1].total, kv[0][0]))
        rules = sorted(self.by_rule.items(), key=lambda kv: (-kv[1].total, kv[0]))
        days = (self.until - self.since).total_seconds() / 86_400
        return {
            "window": {"since": self.since.isoformat(), "until": self.until.isoformat()},
            "sources": dict(self.sources),
            "by_detection_type": [{"risk_event_type": t, "risk_level": level, **c.to_dict()}
                                  for (t, level), c in types],
            "by_rule": [{"rule_id": rule_id, **c.to_dict()} for rule_id, c in rules],
            "decisions": decisions(
                {level: _level_counts(self.by_type, level).by_outcome
                 for level in LEVEL_ORDER}, days),
        }


def _level_counts(by_type: Mapping[tuple[str, str], Counts], level: str) -> Counts:
    total = Counts()
    for (_, lvl), counts in by_type.items():
        if lvl == level:
            for outcome, n in counts.by_outcome.items():
                total.by_outcome[outcome] += n
    return total


def assess(
    tally: AssessmentTally, incidents: Sequence[Incident], labels: Iterable[IncidentLabel]
) -> Assessment:
    """Count the window's detections per (type, level) and the incidents' alerts per rule."""
    index = analyst_index(labels, incidents)
    sources = {"identity_protection": 0, "analyst": 0, "disagreements": 0}
    by_type: dict[tuple[str, str], Counts] = {}
    for detection_id, risk_type, level, outcome in tally.detections:
        analyst = index.by_event.get(detection_id)
        source = _decided_by(analyst, outcome)
        if source is not None:
            sources[source] += 1
        if analyst is not None:
            sources["disagreements"] += {analyst, outcome} == {"tp", "fp"}
        by_type.setdefault((risk_type, level), Counts()).add(analyst or outcome, source)
    by_rule: dict[str, Counts] = {}
    for alert in _alerts_in(tally, incidents, index.alerts):
        label = index.by_alert.get(alert.alert_id)
        lifecycle = combined_outcome(
            [tally.lifecycle[e] for e in alert.event_ids if e in tally.lifecycle])
        by_rule.setdefault(alert.rule_id, Counts()).add(label or lifecycle,
                                                        _decided_by(label, lifecycle))
    return Assessment(tally.since, tally.until, by_type, by_rule, sources)


def _alerts_in(
    tally: AssessmentTally, incidents: Sequence[Incident], snapshots: Sequence[AlertFacts]
) -> list[AlertFacts]:
    """Each alert once (by id) that was active in the assessment window."""
    seen: dict[str, AlertFacts] = {}
    for alert in [a for i in incidents for a in i.alerts] + list(snapshots):
        if alert.last_seen >= tally.since and alert.first_seen < tally.until:
            seen.setdefault(alert.alert_id, alert)
    return sorted(seen.values(), key=lambda a: (a.first_seen, a.alert_id))
