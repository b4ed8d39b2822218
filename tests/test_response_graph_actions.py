"""The Graph response calls against the loopback Graph: documented answers, retries within
limits, 403 naming the permission (and role on admins), 404 recorded, request ids kept."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest

from service.ingest.graph.throttle import Backoff
from service.response.graph_actions import (
    ACTION_PERMISSIONS,
    ACTION_TIME_LIMIT,
    MAX_RETRY_AFTER,
    PRIVILEGED_ROLE,
    GraphActions,
    Target,
    build_call,
)
from service.state.response_claims import LEASE
from tests.graph_actions_server import Canned, GraphActionsServer
from tests.graph_server import SimulatedClock

ALICE = Target("alice@contoso.com", "u-alice")


@pytest.fixture
def server(clock: SimulatedClock) -> Iterator[GraphActionsServer]:
    with GraphActionsServer(clock.time) as running:
        running.add_user("u-alice", "alice@contoso.com")
        yield running


def client(server: GraphActionsServer, clock: SimulatedClock, attempts: int = 6) -> GraphActions:
    return GraphActions(server.base_url, lambda: None, clock=clock.time, sleep=clock.sleep,
                        backoff=Backoff(base=2.0, cap=60.0), max_attempts=attempts)


def test_each_action_makes_its_documented_call(server: GraphActionsServer,
                                                clock: SimulatedClock) -> None:
    graph = client(server, clock)
    for action in ("revoke", "confirm-compromised", "disable", "enable", "dismiss"):
        result = graph.call(action, ALICE)
        assert result.outcome == "done", (action, result)
        assert result.request_id == server.asked[-1].request_id
    asked = [(a.method, a.path, a.body, a.status) for a in server.calls()]
    assert asked == [
        ("POST", "/v1.0/users/u-alice/revokeSignInSessions", None, 200),
        ("POST", "/v1.0/identityProtection/riskyUsers/confirmCompromised",
         {"userIds": ["u-alice"]}, 204),
        ("PATCH", "/v1.0/users/u-alice", {"accountEnabled": False}, 204),
        ("PATCH", "/v1.0/users/u-alice", {"accountEnabled": True}, 204),
        ("POST", "/v1.0/identityProtection/riskyUsers/dismiss", {"userIds": ["u-alice"]}, 204),
    ]
    user = server.users["u-alice"]
    assert (user.revoked, user.enabled, user.risk_state) == (1, True, "dismissed")


def test_429_without_retry_after_backs_off_and_with_it_waits_as_told(
        server: GraphActionsServer, clock: SimulatedClock) -> None:
    server.script("confirmCompromised", Canned(429), Canned(429, {"Retry-After": "7"}),
                  Canned(503, {"Retry-After": "3"}))
    result = client(server, clock).call("confirm-compromised", ALICE)
    assert (result.outcome, result.attempts) == ("done", 4)
    assert [a.status for a in server.calls()] == [429, 429, 503, 204]
    waits = [s for s in clock.sleeps if s > 0]
    assert 1.0 <= waits[0] <= 2.0  # back-off with jitter: 2 s * U(0.5, 1)
    assert 7.0 in waits and 3.0 in waits
    times = [a.time for a in server.calls()]
    assert all(b - a >= 1.0 for a, b in pairwise(times))  # 1 request/s


def test_throttling_that_never_ends_fails_after_the_attempts(
        server: GraphActionsServer, clock: SimulatedClock) -> None:
    server.script("revokeSignInSessions", *[Canned(503)] * 3)
    result = client(server, clock, attempts=3).call("revoke", ALICE)
    assert result.outcome == "failed" and "after 3 attempts" in (result.error or "")
    assert len(server.calls()) == 3 and server.users["u-alice"].revoked == 0
    assert result.request_id == server.asked[-1].request_id


def test_a_retry_after_over_a_minute_fails_the_action_at_once_for_a_later_run(
        server: GraphActionsServer, clock: SimulatedClock) -> None:
    server.script("revokeSignInSessions", Canned(429, {"Retry-After": "3600"}))
    result = client(server, clock).call("revoke", ALICE)
    assert result.outcome == "failed" and "3600 s" in (result.error or "")
    assert "later run" in (result.error or "")
    assert len(server.calls()) == 1 and max(clock.sleeps, default=0.0) <= MAX_RETRY_AFTER


def test_retries_stop_at_the_time_limit_well_under_the_claim_lease(
        server: GraphActionsServer, clock: SimulatedClock) -> None:
    assert LEASE.total_seconds() >= ACTION_TIME_LIMIT * 2
    server.script("revokeSignInSessions", *[Canned(503, {"Retry-After": "50"})] * 40)
    started = clock.time()
    result = client(server, clock, attempts=40).call("revoke", ALICE)
    assert result.outcome == "failed" and "time limit" in (result.error or "")
    assert clock.time() - started <= ACTION_TIME_LIMIT
    assert len(server.calls()) == 3  # at 0, 50 and 100 s; a fourth would start at 150 s
    assert result.request_id == server.asked[-1].request_id


def test_403_names_the_permission_and_on_an_admin_the_role(
        server: GraphActionsServer, clock: SimulatedClock) -> None:
    server.forbid("/v1.0/users/")
    graph = client(server, clock)
    plain = graph.call("disable", ALICE)
    assert plain.outcome == "forbidden" and len(server.calls()) == 1  # never retried
    assert "User.EnableDisableAccount.All and User.Read.All" in (plain.error or "")
    assert PRIVILEGED_ROLE not in (plain.error or "")
    admin = graph.call("revoke", Target("admin@contoso.com", "u-alice", privileged=True))
    assert "User.RevokeSessions.All" in (admin.error or "")
    assert PRIVILEGED_ROLE in (admin.error or "")


def test_404_is_the_user_gone_and_not_retried(server: GraphActionsServer,
                                             clock: SimulatedClock) -> None:
    gone = Target("bob@contoso.com", "u-bob")
    graph = client(server, clock)
    for action in ("revoke", "confirm-compromised", "disable"):
        result = graph.call(action, gone)
        assert result.outcome == "user_gone" and result.attempts == 1
        assert "no longer exists" in (result.error or "")
    assert len(server.calls()) == 3


def test_400_is_rejected_with_graphs_error(server: GraphActionsServer,
                                           clock: SimulatedClock) -> None:
    server.script("dismiss", Canned(400))
    result = client(server, clock).call("dismiss", ALICE)
    assert result.outcome == "rejected" and "HTTP 400" in (result.error or "")
    assert len(server.calls()) == 1


def test_confirm_without_an_object_id_is_never_sent(server: GraphActionsServer,
                                                   clock: SimulatedClock) -> None:
    result = client(server, clock).call("confirm-compromised", Target("alice@contoso.com", None))
    assert result.outcome == "rejected" and "object id" in (result.error or "")
    assert server.calls() == []


def test_a_hostile_upn_stays_one_path_segment(server: GraphActionsServer,
                                              clock: SimulatedClock) -> None:
    upn = "eve/../../identityProtection/riskyUsers/dismiss?x=#@contoso.com"
    server.add_user("u-eve", upn)
    result = client(server, clock).call("revoke", Target(upn, None))
    assert result.outcome == "done"
    (asked,) = server.calls()
    assert asked.path == f"/v1.0/users/{upn}/revokeSignInSessions" and asked.query == ""
    assert server.users["u-eve"].revoked == 1


def test_the_state_reads_re_derive_an_outcome(server: GraphActionsServer,
                                              clock: SimulatedClock) -> None:
    graph = client(server, clock)
    assert graph.state("confirm-compromised", ALICE) is False
    assert graph.state("disable", ALICE) is False
    graph.call("confirm-compromised", ALICE)
    graph.call("disable", ALICE)
    assert graph.state("confirm-compromised", ALICE) is True
    assert graph.state("disable", ALICE) is True and graph.state("enable", ALICE) is False
    assert graph.state("revoke", ALICE) is None  # nothing the app may read tells


def test_calls_describe_themselves_and_permissions_are_least_privileged() -> None:
    call = build_call("https://graph.microsoft.com", "disable", ALICE)
    assert call.describe() == (
        'PATCH https://graph.microsoft.com/v1.0/users/u-alice {"accountEnabled": false}')
    assert ACTION_PERMISSIONS["revoke"] == ("User.RevokeSessions.All",)
    assert all("User.ReadWrite.All" not in p and "Directory." not in " ".join(p)
               for p in ACTION_PERMISSIONS.values())
