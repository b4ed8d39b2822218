"""The Graph v1.0 calls behind each response action, with the reads that re-derive them.

Same credential (``RISKWATCH_GRAPH_AUTH``), pacing and back-off as the Graph reads
(``service.ingest.graph``). Each action has the least-privileged application permission
Microsoft documents for it (``ACTION_PERMISSIONS``; the infra tests compare it with what
Bicep grants when ``enableRemediation`` is on):

- revoke: ``POST /v1.0/users/{id}/revokeSignInSessions``, 200 ``{"value": true}`` (any 2xx);
- confirm-compromised: ``POST /v1.0/identityProtection/riskyUsers/confirmCompromised``
  ``{"userIds": [id]}``, 204;
- dismiss: ``POST /v1.0/identityProtection/riskyUsers/dismiss`` ``{"userIds": [id]}``, 204;
- disable / enable: ``PATCH /v1.0/users/{id}`` ``{"accountEnabled": false/true}``, 204.

429 and 503 are retried: ``Retry-After`` is honoured when present, otherwise exponential
back-off with jitter (Identity Protection's 429 carries none, and it allows one request per
second per tenant, so its calls are paced at 1/s); 500/502/504 and network errors too, since
every action is idempotent on Graph's side (revoking twice only asks for one more sign-in).
One action waits at most ``MAX_RETRY_AFTER`` for one retry and ``ACTION_TIME_LIMIT`` in all,
well under the claim's lease (``service.state.response_claims.LEASE``), so no other worker
takes the claim over while this one still waits: a longer ``Retry-After`` ends the action
``failed`` at once, and a later run tries again (``service.response.executor``).
A 403 stops the action with the permission it needs, and on a privileged account the
directory role an app needs to touch an administrator (Graph's "who can perform sensitive
actions": Privileged Authentication Administrator). A 404 means the user is gone: recorded,
never retried. The ``request-id`` response header of the last answer is kept.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias
from urllib.parse import quote

import requests

from detections.errors import RiskwatchError
from detections.response.policy import Action
from service.ingest.graph.auth import TokenProvider
from service.ingest.graph.throttle import Backoff, Clock, Sleep, SlidingWindowPacer, UnpacedLimit
from service.ingest.graph.transport import graph_error
from service.netutil import parse_retry_after

log = logging.getLogger("riskwatch.response")

Outcome: TypeAlias = Literal["done", "user_gone", "forbidden", "rejected", "failed"]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # seconds one retry may wait (a longer Retry-After: failed, retried later)
ACTION_TIME_LIMIT = 120.0  # seconds one action may take with its retries (the lease is 5 min)
ACTION_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "revoke": ("User.RevokeSessions.All",),
    "confirm-compromised": ("IdentityRiskyUser.ReadWrite.All",),
    "dismiss": ("IdentityRiskyUser.ReadWrite.All",),
    # Not the seed's broader User.ReadWrite.All: Graph documents this pair as least privileged.
    "disable": ("User.EnableDisableAccount.All", "User.Read.All"),
    "enable": ("User.EnableDisableAccount.All", "User.Read.All"),
}
# Graph: to revoke sessions of, or disable, a user holding an administrator role, an app
# must itself hold a role allowed to perform sensitive actions on them.
PRIVILEGED_ROLE = "Privileged Authentication Administrator"
RISKY_USER_ACTIONS = frozenset({"confirm-compromised", "dismiss"})


@dataclass(frozen=True, slots=True)
class Target:
    principal: str  # UPN
    user_id: str | None  # object id; confirm-compromised and dismiss need it
    privileged: bool = False

    @property
    def key(self) -> str:
        return self.user_id or self.principal


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    url: str
    body: dict[str, Any] | None

    def describe(self) -> str:
        body = f" {json.dumps(self.body, sort_keys=True)}" if self.body is not None else ""
        return f"{self.method} {self.url}{body}"


@dataclass(frozen=True, slots=True)
class ActionResult:
    outcome: Outcome
    status: int | None
    request_id: str | None
    error: str | None
    attempts: int


class ActionError(RiskwatchError):
    """An action that cannot be expressed as a call (confirm without an object id)."""


def build_call(base_url: str, action: Action, target: Target) -> Call:
    base = base_url.rstrip("/") + "/v1.0"
    user = quote(target.key, safe="@")  # a hostile UPN stays one path segment
    if action == "revoke":
        return Call("POST", f"{base}/users/{user}/revokeSignInSessions", None)
    if action in RISKY_USER_ACTIONS:
        if not target.user_id:
            raise ActionError(f"{action} needs the user's object id; {target.principal[:100]!r}"
                              " has none on record")
        verb = "confirmCompromised" if action == "confirm-compromised" else "dismiss"
        return Call("POST", f"{base}/identityProtection/riskyUsers/{verb}",
                    {"userIds": [target.user_id]})
    if action in ("disable", "enable"):
        return Call("PATCH", f"{base}/users/{user}", {"accountEnabled": action == "enable"})
    raise ActionError(f"unknown action {action!r}")


def forbidden_message(action: Action, target: Target, graph_error: str) -> str:
    needs = " and ".join(ACTION_PERMISSIONS[action])
    text = (f"Graph refused {action} (403: {graph_error}): grant the application permission "
            f"{needs} (deploy with enableRemediation=true)")
    if target.privileged and action in ("revoke", "disable", "enable"):
        text += (f"; {target.principal[:100]!r} holds a privileged role, so the app also needs "
                 f"the {PRIVILEGED_ROLE} directory role to act on it")
    return text


class GraphActions:
    """Makes the calls, one at a time; ``clock``/``sleep`` are injectable for tests."""

    def __init__(
        self, base_url: str, token_provider: TokenProvider, *,
        session: requests.Session | None = None, clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep, backoff: Backoff | None = None, max_attempts: int = 6,
        timeout: float = 30.0, time_limit: float = ACTION_TIME_LIMIT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_provider = token_provider
        self.session = session or requests.Session()
        self.clock = clock
        self.sleep = sleep
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.time_limit = time_limit
        # One request per second per tenant for Identity Protection, shared with every app.
        self._risky = SlidingWindowPacer(1, 1.0, clock)
        self._users = UnpacedLimit()

    def call(self, action: Action, target: Target) -> ActionResult:
        try:
            call = build_call(self.base_url, action, target)
        except ActionError as exc:
            return ActionResult("rejected", None, None, str(exc), 0)
        pacer = self._risky if action in RISKY_USER_ACTIONS else self._users
        deadline = self.clock() + self.time_limit
        request_id: str | None = None
        problem = ""
        for attempt in range(self.max_attempts):
            wait = pacer.wait_time()
            if wait > 0:
                self.sleep(wait)
            pacer.mark()
            try:
                response = self._send(call)
            except requests.RequestException as exc:
                problem = f"network error: {type(exc).__name__}"
                if attempt + 1 == self.max_attempts:
                    break  # no wait after the last attempt
                stop = self._wait(self.backoff.delay(attempt), None, deadline, action, problem)
                if stop is not None:
                    return ActionResult("failed", None, request_id, stop, attempt + 1)
                continue
            request_id = response.headers.get("request-id") or request_id
            status = response.status_code
            if 200 <= status < 300:
                return ActionResult("done", status, request_id, None, attempt + 1)
            error = graph_error(response)
            if status == 404:
                return ActionResult("user_gone", status, request_id,
                                    f"the user no longer exists (404: {error})", attempt + 1)
            if status == 403:
                return ActionResult("forbidden", status, request_id,
                                    forbidden_message(action, target, error), attempt + 1)
            if status not in RETRY_STATUSES:
                return ActionResult("rejected", status, request_id,
                                    f"HTTP {status}: {error}", attempt + 1)
            problem = f"HTTP {status}: {error}"
            hinted = parse_retry_after(response.headers.get("Retry-After"))
            if attempt + 1 == self.max_attempts:
                break
            stop = self._wait(self.backoff.delay(attempt), hinted, deadline, action, problem)
            if stop is not None:
                return ActionResult("failed", status, request_id, stop, attempt + 1)
        return ActionResult("failed", None, request_id,
                            f"{problem}; still failing after {self.max_attempts} attempts",
                            self.max_attempts)

    def state(self, action: Action, target: Target) -> bool | None:
        """Whether ``action`` is in effect for ``target`` (re-derived after a crash), or
        None when Graph cannot tell: revoke leaves nothing this app may read."""
        base = self.base_url + "/v1.0"
        if action in RISKY_USER_ACTIONS and target.user_id:
            url = f"{base}/identityProtection/riskyUsers/{quote(target.user_id, safe='')}"
            body = self._get(url)
            if body is None:
                return None
            wanted = "confirmedCompromised" if action == "confirm-compromised" else "dismissed"
            return body.get("riskState") == wanted
        if action in ("disable", "enable"):
            body = self._get(f"{base}/users/{quote(target.key, safe='@')}?$select=accountEnabled")
            if body is None or not isinstance(body.get("accountEnabled"), bool):
                return None
            return body["accountEnabled"] is (action == "enable")
        return None

    def _get(self, url: str) -> dict[str, Any] | None:
        try:
            response = self.session.get(url, headers=self._headers(), timeout=self.timeout,
                                        allow_redirects=False)
            body = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def _send(self, call: Call) -> requests.Response:
        headers = self._headers()
        data = None
        if call.body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(call.body).encode()
        return self.session.request(call.method, call.url, data=data, headers=headers,
                                    timeout=self.timeout, allow_redirects=False)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self.token_provider()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _wait(self, backoff: float, hinted: float | None, deadline: float, action: str,
              problem: str) -> str | None:
        """Sleep before the next attempt; or why not (the error of a ``failed`` result)
        when Graph asks for more than ``MAX_RETRY_AFTER`` or the wait would pass the
        action's time limit."""
        if hinted is not None and hinted > MAX_RETRY_AFTER:
            return (f"{problem}; Graph asked to retry in {hinted:.0f} s, over the "
                    f"{MAX_RETRY_AFTER:.0f} s one action waits: a later run tries again")
        delay = hinted if hinted is not None else backoff
        if self.clock() + delay > deadline:
            return (f"{problem}; still failing after {self.time_limit:.0f} s, this action's "
                    "time limit: a later run tries again")
        log.warning("Graph %s for %s; retrying in %.1f s", problem, action, delay)
        if delay > 0:
            self.sleep(delay)
        return None
