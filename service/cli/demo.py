"""``make demo``: the main job over the bundled sample tenant, twice.

State goes to the Azurite instance the Makefile started. The first run prints
each alert as it is delivered; the second run reads the same input and must
deliver nothing, because every event and alert is already recorded.
With RISKWATCH_WEBHOOK_URL (or the Teams/Slack settings) set, alerts go there too.
"""

from __future__ import annotations

import os
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from detections.normalize import Skip, decode
from service.cli.scan import expand_paths
from service.delivery.console import ConsoleSink
from service.run.job import MainJob, configured_sinks
from service.settings import load_settings

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
        print(f"OK: {first.run.alerts_raised} alerts in {len(first.run.incidents)} incidents, "
              f"{first.run.notifications} notifications delivered once; the second run "
              "raised 0 and delivered 0.")
    else:
        print(f"OK: {first.run.alerts_raised} alerts raised and delivered once; "
              f"the second run raised 0 and delivered 0.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
