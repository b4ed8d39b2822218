"""The Functions blueprint: a timer for the main job, Event Grid for blobs and rescans.

Triggers parse their input, call the job, and log one summary line. The job and
its SDKs are imported on first use, so indexing the app (a cold start) stays cheap.
Event Grid redelivers long-running handlers, so those handlers only record work
(a blob registration, a rescan request) and return; the timer does the work.
"""

from __future__ import annotations

import logging
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


def _json(get_json: object) -> object:
    """The event's data; a body that is not JSON becomes None (rejected, not retried)."""
    try:
        return get_json() if callable(get_json) else None
    except ValueError:
        return None
