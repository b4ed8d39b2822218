"""The Functions blueprint: a timer for the main job, Event Grid for blobs and rescans.

Triggers parse their input, call the job, and log one summary line. The job and
its SDKs are imported on first use, so indexing the app (a cold start) stays cheap.
Event Grid redelivers long-running handlers, so those handlers only record work
(a blob registration, a rescan request) and return; the timer does the work.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import azure.functions as func

if TYPE_CHECKING:
    from service.run.job import MainJob
    from service.state.tables import Tables

log = logging.getLogger("riskwatch")
blueprint = func.Blueprint()  # type: ignore[no-untyped-call]
_job: MainJob | None = None
_tables: Tables | None = None


def job() -> MainJob:
    """One job per worker process: clients are built once and reused."""
    global _job
    if _job is None:
        from service.run.job import MainJob
        from service.settings import load_settings

        _job = MainJob(load_settings())
    return _job


def state() -> Tables | None:
    """Storage only, for the Event Grid handlers: a bad sink or Graph setting must not
    stop blobs being registered. None (logged) when storage itself is misconfigured."""
    global _tables
    if _tables is None:
        from detections.errors import RiskwatchError
        from service.ingest.event_grid_work import state_tables
        from service.settings import load_storage_settings

        try:
            _tables = state_tables(*load_storage_settings())
        except RiskwatchError as exc:
            log.error("cannot record Event Grid work: %s", exc)
            return None
    return _tables


@blueprint.timer_trigger(
    schedule="%RISKWATCH_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True
)
def poll(timer: func.TimerRequest) -> None:
    """Poll the feeds, tail export blobs, deliver the outbox, sweep expired state."""
    report = job().run(datetime.now(UTC))
    report.past_due = bool(timer.past_due)
    log.info(report.summary())


# Flex Consumption runs timers in UTC: tick hourly, and let the code pick the first tick after
# RISKWATCH_REVIEW_AT in the business time zone (service.review.schedule), so DST never moves it.
@blueprint.timer_trigger(
    schedule="0 5 * * * *", arg_name="timer", run_on_startup=False, use_monitor=True
)
def review(timer: func.TimerRequest) -> None:
    """The periodic review: report to the ``reviews`` container, one summary per sink."""
    from service.review.deployed import review_timer

    run = review_timer().tick(datetime.now(UTC))
    if run is not None and run.deferred is not None:
        log.warning("riskwatch review: window=%s..%s not stored or announced, a Graph read "
                    "failed; the next tick retries (%s)", run.window.since.isoformat(),
                    run.window.until.isoformat(), run.deferred)
    elif run is not None:
        log.info("riskwatch review: window=%s..%s users=%d report=%s outboxed=%s delivered=%d",
                 run.window.since.isoformat(), run.window.until.isoformat(), run.users,
                 run.blobs[0], run.outboxed, run.delivery.delivered)


@blueprint.event_grid_trigger(arg_name="event")
def export_blob_created(event: func.EventGridEvent) -> None:
    """BlobCreated on an insights-logs-* container: register the hour's append blob."""
    from service.ingest.event_grid import Rejection, RescanRequest, parse_event_grid_event
    from service.ingest.event_grid_work import register_blob, request_rescan
    from service.ingest.export import BlobRegistration

    now = datetime.now(UTC)
    work = parse_event_grid_event(
        event.id, event.event_type, event.subject, _json(event.get_json), now
    )
    if isinstance(work, Rejection):
        log.warning("ignored event %s (%s): %s", work.event_id, work.event_type, work.reason)
    elif (tables := state()) is None:
        return
    elif isinstance(work, BlobRegistration):
        new = register_blob(tables, work)
        log.info("export blob %s %s", work.source, "registered" if new else "already known")
    elif isinstance(work, RescanRequest):
        request_rescan(tables, work, now)
        log.info("rescan %s requested: %s to %s", work.event_id, work.start, work.end)


@blueprint.event_grid_trigger(arg_name="event")
def rescan_requested(event: func.CloudEvent) -> None:
    """CloudEvents ``riskwatch.rescan.requested`` from a custom topic."""
    from service.ingest.event_grid import Rejection, RescanRequest, parse_cloud_event
    from service.ingest.event_grid_work import request_rescan

    now = datetime.now(UTC)
    work = parse_cloud_event(event.id, event.type, _json(event.get_json), now)
    if isinstance(work, Rejection):
        log.warning("ignored event %s (%s): %s", work.event_id, work.event_type, work.reason)
    elif isinstance(work, RescanRequest) and (tables := state()) is not None:
        request_rescan(tables, work, now)
        log.info("rescan %s requested: %s to %s", work.event_id, work.start, work.end)


# The Event Hubs path is optional (tenants past the Graph budget): the Functions host fails to
# index a trigger whose hub name does not resolve ("'%RISKWATCH_EVENTHUB_NAME%' does not
# resolve to a value"; the function is disabled and every host start logs the error), and a
# missing connection stops its listener. So the trigger exists only when the app settings
# name a hub and a connection at indexing time (Bicep sets them with enableEventHubs); a
# tenant without them indexes the other functions only. (Read here, not through
# service.settings: the host needs it before any function runs, and importing the settings
# would slow every cold start.)
EVENTHUB_CONNECTION = "RISKWATCH_EVENTHUB"


def eventhub_configured(env: Mapping[str, str]) -> bool:
    """Whether the app settings name a hub and a connection (identity or connection string)."""
    has_hub = bool(env.get("RISKWATCH_EVENTHUB_NAME", "").strip())
    return has_hub and bool(env.get("RISKWATCH_EVENTHUB__fullyQualifiedNamespace", "").strip()
                            or env.get(EVENTHUB_CONNECTION, "").strip())


def eventhub_records(events: list[func.EventHubEvent]) -> None:
    """A batch of the diagnostic-settings stream: normalized as the export blobs are, judged
    by the same pipeline, committed through the same state, then delivered. A failure
    raises: the retry policy below makes the host deliver the same batch again."""
    from service.ingest.eventhub import hub_batch, partition_of
    from service.ingest.sources import SourceReport

    sources = SourceReport()
    batch = hub_batch(events, sources)
    report = job().run_batch(batch, datetime.now(UTC), sources)
    log.info("%s eventhub_partition=%s messages=%d history_conflicts=%d", report.summary(),
             partition_of(events[0]) if events else "?", len(events),
             report.run.history_conflicts)


if eventhub_configured(os.environ):
    # Without a retry policy the host checkpoints past a failed batch; with it, the batch is
    # retried (backing off to 5 minutes) until it succeeds: only storage or delivery trouble
    # fails a batch, since bad records are skipped.
    blueprint.retry(strategy="exponential_backoff", max_retry_count="-1",
                    minimum_interval="00:00:05", maximum_interval="00:05:00")(
        blueprint.event_hub_message_trigger(
            arg_name="events", connection=EVENTHUB_CONNECTION,
            event_hub_name="%RISKWATCH_EVENTHUB_NAME%",
            consumer_group="%RISKWATCH_EVENTHUB_CONSUMER_GROUP%"
            if os.environ.get("RISKWATCH_EVENTHUB_CONSUMER_GROUP") else "$Default",
            cardinality="many",
        )(eventhub_records)
    )


def _json(get_json: object) -> object:
    """The event's data; a body that is not JSON becomes None (rejected, not retried)."""
    try:
        return get_json() if callable(get_json) else None
    except ValueError:
        return None
