"""What one run of the job did: per-source counts, the pipeline's tallies, delivery, and
the alerts it opened or updated (``riskwatch run --once --json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from service.ingest.sources import SourceReport
from service.run.pipeline import RunReport

MAX_REASONS = 20  # rule failures kept for the run's reasons; the count keeps counting


@dataclass(slots=True)
class JobReport:
    sources: SourceReport = field(default_factory=SourceReport)
    run: RunReport = field(default_factory=RunReport)
    swept: int = 0
    deferred: int = 0  # deliveries left for the next run (budget spent)
    past_due: bool = False
    seconds: float = 0.0
    sink_failures: dict[str, str] = field(default_factory=dict)  # sink -> this run's failures
    failing_sinks: dict[str, str] = field(default_factory=dict)  # failing for over an hour
    response_proposed: int = 0  # plan mode: proposals this run wrote to the audit log
    response_done: int = 0  # enforce mode: actions this run took
    response_failures: list[str] = field(default_factory=list)  # actions that did not succeed

    def add(self, part: RunReport) -> None:
        for name in ("events", "matches", "alerts_raised", "duplicates_skipped", "suppressed",
                     "rule_failures", "delivered", "retried", "dead_lettered",
                     "history_conflicts"):
            setattr(self.run, name, getattr(self.run, name) + getattr(part, name))
        self.run.failures += part.failures[: max(0, MAX_REASONS - len(self.run.failures))]
        self.run.touched.update(part.touched)
        self.run.incidents.update(part.incidents)
        self.run.notifications += part.notifications
        self.run.evidence_bundles += part.evidence_bundles
        self.run.evidence_failures += part.evidence_failures[
            : max(0, MAX_REASONS - len(self.run.evidence_failures))]

    def failures(self) -> list[str]:
        """Why the run did not fully succeed: a feed, a sink or a rule failed. Empty when it
        did; ``riskwatch run --once`` exits 1 otherwise, with these on stderr."""
        sources = self.sources
        found = [f"feed {feed} disabled: {why}" for feed, why in sorted(sources.disabled.items())]
        found += [f"input: {problem}" for problem in sources.problems]
        found += [f"sink {name}: {why}" for name, why in sorted(self.sink_failures.items())]
        found += [f"sink {name} failing {why}" for name, why in sorted(self.failing_sinks.items())
                  if name not in self.sink_failures]
        found += [f"rule {f.rule_id} failed on {f.event_id}: {f.error}" for f in self.run.failures]
        found += [f"evidence: {why}" for why in self.run.evidence_failures]
        found += self.response_failures[:MAX_REASONS]
        if self.run.rule_failures > len(self.run.failures):
            found.append(f"... and {self.run.rule_failures - len(self.run.failures)} more")
        return found

    def summary(self) -> str:
        """The one log line a run writes."""
        feeds = ",".join(f"{k}={v}" for k, v in sorted(self.sources.events.items())) or "none"
        run = self.run
        text = (
            f"riskwatch run: events[{feeds}] skipped={self.sources.skipped} "
            f"alerts_raised={run.alerts_raised} duplicates={run.duplicates_skipped} "
            f"delivered={run.delivered} retried={run.retried} "
            f"dead_lettered={run.dead_lettered} rule_failures={run.rule_failures} "
            f"swept={self.swept} duration={self.seconds:.1f}s"
        )
        if self.sources.disabled:
            text += f" disabled_feeds={','.join(sorted(self.sources.disabled))}"
        if self.sources.incomplete:
            text += f" resume_next_run={','.join(self.sources.incomplete)}"
        if self.deferred:
            text += f" deferred={self.deferred}"
        if self.failing_sinks:
            text += f" failing_sinks={','.join(sorted(self.failing_sinks))}"
        if self.past_due:
            text += " past_due=true"
        if self.response_proposed or self.response_done or self.response_failures:
            text += (f" response_proposed={self.response_proposed}"
                     f" response_done={self.response_done}"
                     f" response_failures={len(self.response_failures)}")
        if run.evidence_bundles or run.evidence_failures:
            text += (f" evidence_bundles={run.evidence_bundles}"
                     f" evidence_failures={len(run.evidence_failures)}")
        return text

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts this run opened or updated, as ``scan`` writes them, with count,
        first and last seen as the dedup claims held them at the end of the run."""
        found = []
        for claim in self.run.touched.values():
            alert = json.loads(claim.payload)
            alert.update(count=claim.count, first_seen=claim.first_seen.isoformat(),
                         last_seen=claim.last_seen.isoformat(), severity=claim.severity.value)
            found.append(alert)
        return sorted(found, key=lambda a: (a["first_seen"], a["rule_id"], a["dedup_key"]))
