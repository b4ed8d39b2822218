"""A paced, retrying Microsoft Graph reader that yields one feed's pages.

The caller handles each page (normalize, rules, outbox) and only then moves the feed's
cursor to ``page.watermark_after``, so a crash or a stop at the deadline loses nothing.
Paging follows ``@odata.nextLink`` as a whole URL, only to the Graph host itself (the
bearer token goes nowhere else), and stops on a repeated link.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias
from urllib.parse import quote, urlsplit

import requests

from service.ingest.graph.auth import TokenProvider
from service.ingest.graph.cursor import FeedCursor, format_graph_time, parse_graph_time
from service.ingest.graph.feeds import FEEDS, FeedSpec, ThrottleClass
from service.ingest.graph.throttle import Backoff, Clock, Sleep, SlidingWindowPacer, UnpacedLimit
from service.ingest.graph.transport import FeedStopped, Transport

log = logging.getLogger("riskwatch.graph")

# OData punctuation Graph documents unescaped; spaces become %20 (never "+").
_QUERY_SAFE = ",'()/:"

FeedStatus: TypeAlias = Literal["complete", "deadline", "forbidden", "failed", "loop"]


@dataclass(frozen=True, slots=True)
class Page:
    """One Graph page of raw records, and how far the feed cursor may move after it."""

    feed: str
    index: int
    url: str
    records: list[Any]  # JSON objects, or what the page held instead (skipped by name)
    latest: datetime | None  # the newest time-field value on this page
    # Safe cursor once this page and all before it are handled. Graph gives no order
    # guarantee (sign-ins come newest first), so it only moves on the last page.
    watermark_after: datetime | None
    last: bool
    content: bytes = b""  # the page's bytes as received (each record's raw bytes are in it)


@dataclass(slots=True)
class FeedOutcome:
    """How a feed read ended; ``resume_url`` is where an interrupted read stopped."""

    feed: str
    status: FeedStatus = "complete"
    pages: int = 0
    records: int = 0
    requests: int = 0
    retries: int = 0
    message: str = ""
    resume_url: str | None = None


def build_feed_url(base_url: str, spec: FeedSpec, start: datetime | None) -> str:
    """The first page's URL: time filter (``ge``), extra filter, $top, $expand."""
    clauses = []
    if spec.time_field is not None and start is not None:
        clauses.append(f"{spec.time_field} ge {format_graph_time(start)}")
    if spec.extra_filter:
        clauses.append(spec.extra_filter)
    params: list[tuple[str, str]] = []
    if clauses:
        params.append(("$filter", " and ".join(clauses)))
    if spec.top is not None:
        params.append(("$top", str(spec.top)))
    if spec.expand:
        params.append(("$expand", spec.expand))
    query = "&".join(f"{key}={quote(value, safe=_QUERY_SAFE)}" for key, value in params)
    return base_url.rstrip("/") + spec.path + (f"?{query}" if query else "")


def default_pacers(clock: Clock) -> dict[ThrottleClass, SlidingWindowPacer | UnpacedLimit]:
    return {
        # 1 request/s per tenant, shared with every other app: pace, never burst.
        "identityProtection": SlidingWindowPacer(1, 1.0, clock),
        # Identity and access reports: 5 requests per 10 s per app per tenant.
        "reports": SlidingWindowPacer(5, 10.0, clock),
        "directory": UnpacedLimit(),
    }


class GraphClient:
    """Reads Graph feeds for one run; 403 disables a feed for the run, not the others."""

    def __init__(
        self,
        base_url: str,
        token_provider: TokenProvider,
        *,
        session: requests.Session | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        deadline: float | None = None,
        backoff: Backoff | None = None,
        max_attempts: int = 6,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.disabled: dict[str, str] = {}  # feed -> why (a 403 naming the permission)
        self.transport = Transport(
            session=session or requests.Session(),
            token_provider=token_provider,
            clock=clock,
            sleep=sleep,
            deadline=deadline,
            backoff=backoff or Backoff(),
            max_attempts=max_attempts,
            timeout=timeout,
        )
        self.pacers = default_pacers(clock)

    @classmethod
    def with_budget(
        cls, base_url: str, token_provider: TokenProvider, budget_seconds: float, **kw: Any
    ) -> GraphClient:
        """A client that stops cleanly ``budget_seconds`` from now (the run budget)."""
        clock: Clock = kw.get("clock", time.monotonic)
        return cls(base_url, token_provider, deadline=clock() + budget_seconds, **kw)

    def read(
        self, feed: str, cursor: FeedCursor | None = None, start: datetime | None = None
    ) -> FeedRead:
        """Pages of ``feed`` with time >= ``start``; iterate it, then read ``.outcome``."""
        if feed not in FEEDS:
            raise ValueError(f"unknown Graph feed {feed!r}; choose from {', '.join(FEEDS)}")
        return FeedRead(self, FEEDS[feed], cursor or FeedCursor(feed), start)

    def same_host(self, url: str) -> bool:
        base, other = urlsplit(self.base_url), urlsplit(url)
        return (base.scheme, base.netloc) == (other.scheme, other.netloc)


class FeedRead:
    """One pass over a feed: iterate for pages; ``outcome`` tells how it ended."""

    def __init__(
        self, client: GraphClient, spec: FeedSpec, cursor: FeedCursor, start: datetime | None
    ) -> None:
        self.client = client
        self.spec = spec
        self.cursor = cursor
        self.start = start
        self.outcome = FeedOutcome(spec.name)

    def __iter__(self) -> Iterator[Page]:
        spec, client, outcome = self.spec, self.client, self.outcome
        if spec.name in client.disabled:
            outcome.status, outcome.message = "forbidden", client.disabled[spec.name]
            return
        url: str | None = build_feed_url(client.base_url, spec, self.start)
        seen: set[str] = set()
        newest = self.cursor.watermark
        pacer = client.pacers[spec.throttle]
        while url is not None:
            seen.add(url)
            try:
                body, stats = client.transport.get_page(url, pacer)
            except FeedStopped as stop:
                outcome.requests += stop.requests
                outcome.retries += stop.retries
                self._stopped(stop, url)
                return
            outcome.requests += stats.requests
            outcome.retries += stats.retries
            records: list[Any] = body["value"]  # a non-object is the normalizer's Skip
            latest = _latest(records, spec.time_field)
            if latest is not None and (newest is None or latest > newest):
                newest = latest
            next_url = _next_link(body)
            if next_url is not None and next_url in seen:
                log.warning("%s: nextLink repeats %s; stopping this read", spec.name, next_url)
                outcome.status, outcome.message = "loop", f"repeated nextLink {next_url}"
                next_url = None
            elif next_url is not None and not client.same_host(next_url):
                outcome.status = "failed"
                outcome.message = f"nextLink leaves the Graph host: {urlsplit(next_url).netloc}"
                log.error("%s: %s; stopping", spec.name, outcome.message)
                next_url = None
            # Only a read that reached its real last page may move the cursor forward.
            done = next_url is None and outcome.status == "complete"
            outcome.pages += 1
            outcome.records += len(records)
            yield Page(
                feed=spec.name,
                index=outcome.pages - 1,
                url=url,
                records=records,
                latest=latest,
                watermark_after=newest if done else self.cursor.watermark,
                last=next_url is None,
                content=stats.content,
            )
            url = next_url

    def _stopped(self, stop: FeedStopped, url: str) -> None:
        outcome = self.outcome
        outcome.status, outcome.message = stop.status, stop.message
        if stop.status == "forbidden":
            message = (
                f"{self.spec.name}: Graph refused access (403); grant the application "
                f"permission {self.spec.permission} (and the licence it needs). "
                f"Feed disabled for this run. {stop.message}"
            )
            outcome.message = message
            self.client.disabled[self.spec.name] = message
            log.error("%s", message)
        elif stop.status == "deadline":
            outcome.resume_url = url
            log.warning("%s: run budget reached; resume at %s", self.spec.name, url)
        else:
            log.error("%s: %s", self.spec.name, stop.message)


def _next_link(body: dict[str, Any]) -> str | None:
    link = body.get("@odata.nextLink")
    return link if isinstance(link, str) and link else None


def _latest(records: list[Any], field: str | None) -> datetime | None:
    if field is None:
        return None
    values = (r.get(field) for r in records if isinstance(r, dict))
    times = [t for t in map(parse_graph_time, values) if t is not None]
    return max(times, default=None)
