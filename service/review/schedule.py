"""The review timer: the first hourly tick after ``RISKWATCH_REVIEW_AT`` (in the business time
zone) reviews the window since the previous review, stores the report in the ``reviews``
blob container and announces it once per sink.

Exactly once per window, through the machinery the alerts use: the summary's outbox row id
derives from the window, so a rerun, a crash at any step or two workers at once write the
same row (a create conflict) and the deliverer's leases send it once per sink. The review
cursor (``cursors`` table, ``review/periodic``) moves only after the row exists, so a crash
before that reruns the same window; blobs are overwritten with the same content.

A review whose Graph read failed (a "Graph read" coverage gap) is neither stored nor
announced and the cursor stays: the next hourly tick tries the window again. The attempts
are counted per window (``review/attempts``); the ``MAX_READ_ATTEMPTS``-th gives up waiting
and stores and announces the review with its gaps stated.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContentSettings

from detections.enrich import BusinessHours
from detections.review.content import ReviewWindow
from detections.review.windows import scheduled_moment
from detections.rule import Rule
from service.delivery.base import Sink
from service.delivery.deliverer import Deliverer, DeliveryReport, RetryPolicy
from service.ingest.graph.client import GraphClient
from service.review.coverage import graph_read_failures
from service.review.from_state import review_from_state
from service.review.output import HTML_NAME, JSON_NAME, review_html, review_json
from service.review.summary import RULE_ID, summary_alert
from service.settings import Settings
from service.state.cursors import CursorConflict, CursorStore
from service.state.outbox import Outbox
from service.state.payload import encode_alert
from service.state.tables import Tables

CONTAINER = "reviews"
CURSOR_GROUP, CURSOR_NAME = "review", "periodic"
ATTEMPTS_NAME = "attempts"  # "<window> <n>": failed Graph reads of the window being reviewed
MAX_READ_ATTEMPTS = 6  # hourly ticks: a Graph outage of up to five hours delays the review
FIRST_WINDOW = timedelta(days=7)  # the first review covers the week before it
ASSESSMENT = timedelta(days=30)
SCHEDULE = "0 5 * * * *"  # hourly at :05 UTC; the code decides which tick reviews


@dataclass(frozen=True, slots=True)
class ReviewRun:
    window: ReviewWindow
    blobs: tuple[str, str]  # empty when deferred
    outboxed: bool  # this run wrote the summary row (False: an earlier run had)
    delivery: DeliveryReport
    users: int
    deferred: str | None = None  # why nothing was stored or announced (a retry is due)


def due_window(
    now: datetime, weekday: int, at: time, hours: BusinessHours, last_until: datetime | None
) -> ReviewWindow | None:
    """The window to review at ``now``, or None when the latest scheduled review is done."""
    due = scheduled_moment(now, weekday, at, hours)
    if last_until is not None and last_until >= due:
        return None
    since = last_until if last_until is not None else due - FIRST_WINDOW
    return ReviewWindow(since=since, until=due,
                        label=f"{since.astimezone(hours.tz):%Y-%m-%d %H:%M} → "
                        f"{due.astimezone(hours.tz):%Y-%m-%d %H:%M} {hours.tz}")


def blob_prefix(window: ReviewWindow) -> str:
    """``2026-11-02T0700Z_2026-11-09T0700Z``: the window, sortable, safe in a blob name."""
    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H%MZ")

    return f"{stamp(window.since)}_{stamp(window.until)}"


class ReviewTimer:
    def __init__(
        self, settings: Settings, tables: Tables, blobs: BlobServiceClient,
        sinks: Sequence[Sink], graph: Callable[[], GraphClient], rules: Sequence[Rule],
    ) -> None:
        self.settings, self.tables, self.blobs = settings, tables, blobs
        self.sinks, self.graph, self.rules = list(sinks), graph, list(rules)

    def tick(self, now: datetime) -> ReviewRun | None:
        settings = self.settings
        cursors = CursorStore(self.tables)
        stored = cursors.load(CURSOR_GROUP, CURSOR_NAME)
        last = datetime.fromisoformat(stored.value) if stored is not None else None
        weekday, at = settings.review_at
        window = due_window(now, weekday, at, settings.business_hours, last)
        if window is None:
            return None
        review = review_from_state(settings, self.tables, self.graph(), window,
                                   window.until - ASSESSMENT, rules=self.rules,
                                   generated_at=now)
        failed = graph_read_failures(review)
        if failed:
            attempt = self._count_attempt(cursors, window, now)
            if attempt < MAX_READ_ATTEMPTS:
                why = "; ".join(f"{g['source']}: {g['why']}" for g in failed)
                return ReviewRun(window, ("", ""), False, DeliveryReport(), len(review["users"]),
                                 deferred=f"attempt {attempt} of {MAX_READ_ATTEMPTS}: {why}")
        blobs = self._store(review, blob_prefix(window))
        where = self.blobs.get_blob_client(CONTAINER, blobs[0]).url
        alert = summary_alert(review, where)
        outbox = Outbox(self.tables, self.sinks)
        written = outbox.write(RULE_ID, alert.alert_id, encode_alert(alert.to_dict()),
                               alert.severity, now)
        # A conflict: another worker reviewed this window at the same time; same row, same cursor.
        with contextlib.suppress(CursorConflict):
            cursors.save(CURSOR_GROUP, CURSOR_NAME, window.until.isoformat(), now, stored)
        deliverer = Deliverer(outbox, self.sinks, owner=f"review-{uuid.uuid4().hex[:8]}",
                              lease_for=timedelta(minutes=5),
                              policy=RetryPolicy(budget=settings.delivery_retry_budget),
                              hook=lambda point: None)
        delivery = deliverer.run(now, only={alert.alert_id})
        return ReviewRun(window, blobs, written, delivery, len(review["users"]))

    def _count_attempt(self, cursors: CursorStore, window: ReviewWindow, now: datetime) -> int:
        """This failed read's number among the window's (1 for the first)."""
        prefix = blob_prefix(window)
        stored = cursors.load(CURSOR_GROUP, ATTEMPTS_NAME)
        seen, _, count = stored.value.partition(" ") if stored is not None else ("", "", "")
        attempt = int(count) + 1 if seen == prefix and count.isdigit() else 1
        # A conflict: another worker counted this tick's read; one tick, one attempt.
        with contextlib.suppress(CursorConflict):
            cursors.save(CURSOR_GROUP, ATTEMPTS_NAME, f"{prefix} {attempt}", now, stored)
        return attempt

    def _store(self, review: dict[str, Any], prefix: str) -> tuple[str, str]:
        container = self.blobs.get_container_client(CONTAINER)
        with contextlib.suppress(ResourceExistsError):
            container.create_container()  # private: no public access level is ever set
        html_name, json_name = f"{prefix}/{HTML_NAME}", f"{prefix}/{JSON_NAME}"
        container.upload_blob(html_name, review_html(review).encode("utf-8"), overwrite=True,
                              content_settings=ContentSettings(
                                  content_type="text/html; charset=utf-8"))
        container.upload_blob(json_name, review_json(review).encode("utf-8"), overwrite=True,
                              content_settings=ContentSettings(
                                  content_type="application/json; charset=utf-8"))
        return html_name, json_name
