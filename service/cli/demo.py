"""``make demo``: the main job over the bundled sample tenant, twice.

State goes to the Azurite instance the Makefile started. The first run prints
each alert as it is delivered; the second run reads the same input and must
deliver nothing, because every event and alert is already recorded.
With RISKWATCH_WEBHOOK_URL (or the Teams/Slack settings) set, alerts go there too.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from detections.normalize import Skip, decode
from service.cli.scan import expand_paths
from service.delivery.console import ConsoleSink
from service.response.bundles import EvidenceStore
from service.run.job import MainJob, configured_sinks
from service.settings import Settings, load_settings

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tenant"


def sample_now(paths: list[Path]) -> datetime:
    """Just after the newest sample event: the sample tenant's present."""
    newest: datetime | None = None
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for item in decode(str(path), handle):
                if not isinstance(item, Skip) and (newest is None or item.time > newest):
                    newest = item.time
    if newest is None:
        raise SystemExit(f"no events in {SAMPLES}")
    return newest + timedelta(minutes=5)


def main() -> int:
    env = dict(os.environ)
    # A fresh set of tables per demo, so a reused Azurite never hides the first run's alerts.
    env.setdefault("RISKWATCH_TABLE_PREFIX", "demo" + uuid.uuid4().hex[:8])
    # And a fresh evidence container, so the bundles counted are this demo's.
    env.setdefault("RISKWATCH_EVIDENCE_CONTAINER", "evidence-" + env["RISKWATCH_TABLE_PREFIX"])
    # The response policy in plan mode: what it would do, in the audit log; nothing called.
    # (It judges incidents: with RISKWATCH_NOTIFY=alerts there are none, so it stays off.)
    if env.get("RISKWATCH_NOTIFY", "incidents").strip().lower() != "alerts":
        env.setdefault("RISKWATCH_RESPONSE_MODE", "plan")
    settings = load_settings(env)
    paths = expand_paths([str(SAMPLES)])
    now = sample_now(paths)
    sinks = [ConsoleSink(sys.stdout), *configured_sinks(settings)]
    extra = ", ".join(s.name for s in sinks[1:]) or "none configured"
    print(f"Riskwatch demo: {len(paths)} sample files, now = {now.isoformat()}, sinks: console, "
          f"{extra}\n")
    job = MainJob(settings, sinks=sinks)

    incidents = settings.notify == "incidents"
    print("First run: every " + ("incident" if incidents else "alert")
          + " is printed as it is delivered")
    first = job.run(now, files=paths)
    print(f"\n{first.summary()}\n")

    print("Second run over the same input: nothing may be sent twice")
    second = job.run(now, files=paths)
    print(f"{second.summary()}\n")
    if second.run.alerts_raised or second.run.delivered or second.run.notifications:
        print("FAILED: the second run raised or delivered alerts again", file=sys.stderr)
        return 1
    if incidents:
        print(response_plan_text(settings))
        print(evidence_line(settings))
        print(f"OK: {first.run.alerts_raised} alerts in {len(first.run.incidents)} incidents, "
              f"{first.run.notifications} notifications delivered once; the second run "
              "raised 0 and delivered 0.")
    else:
        print(f"OK: {first.run.alerts_raised} alerts raised and delivered once; "
              f"the second run raised 0 and delivered 0.")
    html = write_sample_review(paths, now)
    print(f"\nReview of the sample tenant: {html}")
    return 0


def response_plan_text(settings: Settings) -> str:
    """The response policy's proposals for the sample tenant, from the audit log."""
    from service.ingest.event_grid_work import state_tables
    from service.state.audit import AuditLog

    records = AuditLog(state_tables(settings.storage, settings.table_prefix)).records()
    proposed = [r for r in records if r.outcome == "proposed"]
    lines = [f"Response plan ({settings.response.mode} mode: nothing was called): "
             f"{len(proposed)} actions in the audit log (riskwatch audit)"]
    lines += [f"  {r.action} {r.target} (incident {r.incident_id}, revision {r.revision}): "
              f"{r.reason}" for r in proposed]
    return "\n".join(lines)


def evidence_line(settings: Settings) -> str:
    """How many evidence bundles the runs wrote to Azurite, each verified again here."""
    from service.response.bundles import evidence_store

    store = evidence_store(settings)
    incidents = _bundled_incidents(store)
    refs = [ref for incident_id in incidents for ref in store.bundles(incident_id)]
    intact = sum(1 for ref in refs if not store.verify(ref))
    return (f"Evidence: {len(refs)} bundles of {len(incidents)} incidents at or above "
            f"{settings.evidence.min_verdict} in container {settings.evidence.container!r} "
            f"({intact} verified intact); fetch one with `riskwatch evidence INCIDENT_ID "
            "--out DIR`")


def _bundled_incidents(store: EvidenceStore) -> list[str]:
    return sorted({b.name.split("/", 1)[0] for b in store.container.list_blobs()
                   if b.name.endswith("/manifest.json")})


def write_sample_review(paths: list[Path], now: datetime) -> Path:
    """``riskwatch review --input samples/tenant`` over the whole sample (ten days), written
    to a fresh temporary folder (never into the checkout)."""
    from detections.enrich import Enricher
    from detections.registry import load_rules
    from detections.review.windows import explicit_window
    from service.review.from_files import review_from_files
    from service.review.output import write_review
    from service.settings import load_detection_settings

    detection = load_detection_settings()
    rules = [r for r in load_rules() if r.id not in detection.disabled_rules]
    since = (now - timedelta(days=11)).replace(hour=0, minute=0, second=0, microsecond=0)
    window = explicit_window(since, now)
    review, _ = review_from_files(
        paths, window, now - timedelta(days=30), rules=rules, detection=detection,
        enricher=Enricher(hours=detection.business_hours), generated_at=now)
    _, html = write_review(review, Path(tempfile.mkdtemp(prefix="riskwatch-review-")))
    return html


if __name__ == "__main__":
    sys.exit(main())
