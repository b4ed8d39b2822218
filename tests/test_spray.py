"""Spray recognition (detections.spray) kept cheap without changing a decision (issue 16).

The cheap paths (gates before any window work, the office-NAT question decided on user keys,
victims named only for a returned spray, the tenant's failures read near the event only) are
pinned here: by the semantics they rely on, and by a property comparing every decision with
the straightforward recognition kept below as the reference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from detections.correlation_history import History, attempt_record
from detections.history_records import (
    MAX_IP_ENTRIES,
    MAX_STORED_KEY,
    MAX_TENANT_ENTRIES,
    WINDOW_RETENTION,
    Attempt,
    WindowState,
)
from detections.model import SignIn
from detections.rule import Context
from detections.spray import (
    SPRAY_PARAMS,
    USER_FIELD,
    Spray,
    Victim,
    recognise,
    spraying_now,
)
from detections.spray_tenant import tenant_spread
from detections.testing import T0, series, sign_in
from detections.windows import between, busiest, with_event

DEFAULTS = {p.name: p.default for p in SPRAY_PARAMS}
FAIL = {"success": False, "error_code": 50126}
IPS = ("198.51.100.0", "198.51.100.1", "198.51.100.2")


# The reference: the recognition before issue 16, every window built, every victim named.
def _ref_successes(
    ctx: Context, ips: Iterable[str], start: datetime, end: datetime
) -> dict[str, Victim]:
    found: dict[str, Victim] = {}
    for ip in sorted(ips):
        state = ctx.history.ip(ip)
        if state is None:
            continue
        for a in between(state.successes, start, end):
            found[a.user] = Victim(state.names.get(a.user, a.user), ip, a.event_id)
    return found


def _ref_let_in_since(ctx: Context, ips: Iterable[str], start: datetime) -> set[str]:
    """Every user the addresses let in since ``start`` (their last success per user)."""
    states = [ctx.history.ip(ip) for ip in ips]
    return {u for s in states if s is not None for u, t in s.ok_users.items() if t >= start}


def _ref_recognise(s: SignIn, record: Attempt, ctx: Context, success: bool) -> Spray | None:
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    state = ctx.history.ip(s.ip_address)
    own = {record.user: Victim(s.principal, s.ip_address or "", s.id)} if success else {}
    failures = state.failures if state else []
    burst = busiest(
        failures if success else with_event(failures, record), s.time, span, lambda a: a.user
    )
    failed = {a.user for a in burst}
    ip = s.ip_address or ""
    if len(failed) >= ctx.int_param("min_users"):
        ok = _ref_successes(ctx, {ip}, burst[0].time, burst[-1].time) | own
        let_in = set(ok) | _ref_let_in_since(ctx, {ip}, burst[0].time)
        if len(failed - let_in) > len(let_in):
            return Spray(
                "single_ip",
                f"from {s.ip_address}",
                burst,
                failed,
                ok,
                (ip,),
                burst[0].time,
                burst[-1].time,
                (ip,),
            )
    slow = _ref_slow(s, record, ctx, own)
    if slow is not None:
        return slow
    for code in sorted({a.code for a in burst} if success else {s.error_code}):
        same = [a for a in ctx.history.tenant.failures if a.code == code]
        spread = busiest(same if own else with_event(same, record), s.time, span, lambda a: a.user)
        users, ips = {a.user for a in spread}, {a.ip for a in spread if a.ip}
        if (
            len(users) < ctx.int_param("distributed_min_users")
            or len(ips) < ctx.int_param("distributed_min_ips")
            or (own and s.ip_address not in ips)
        ):
            continue
        ok = _ref_successes(ctx, ips, spread[0].time, spread[-1].time) | own
        let_in = set(ok) | _ref_let_in_since(ctx, ips, spread[0].time)
        if len(users - let_in) > len(let_in):
            return Spray(
                "distributed",
                f"from {len(ips)} IP addresses (error {code})",
                spread,
                users,
                ok,
                ("distributed", str(code)),
                spread[0].time,
                spread[-1].time,
                tuple(sorted(ips)),
            )
    return None


def _ref_slow(s: SignIn, record: Attempt, ctx: Context, own: dict[str, Victim]) -> Spray | None:
    state = ctx.history.ip(s.ip_address)
    start = s.time - timedelta(hours=ctx.int_param("slow_window_hours"))

    def within(users: dict[str, datetime]) -> set[str]:
        return {u for u, t in users.items() if start <= t <= s.time}

    failed = within(state.failed_users if state else {})
    if not own:
        failed.add(record.user[:MAX_STORED_KEY])
    if len(failed) < ctx.int_param("slow_min_users"):
        return None
    ip = s.ip_address or ""
    held = _ref_successes(ctx, {ip}, start, s.time)
    names = state.names if state else {}
    ok = {
        u: held.get(u) or Victim(names.get(u, u), ip, None)
        for u in (within(state.ok_users) if state else set())
    } | own
    if len(failed - set(ok)) <= len(ok):
        return None
    recent = [a for a in (state.failures if state else []) if a.time >= start]
    return Spray(
        "slow", f"from {s.ip_address}", recent, failed, ok, ("slow", ip), start, s.time, (ip,)
    )


def _ref_spraying_now(s: SignIn, ctx: Context) -> Spray | None:
    state = ctx.history.ip(s.ip_address)
    if state is None or (not state.failures and not state.failed_users):
        return None
    return _ref_recognise(s, attempt_record(s), ctx, success=True)


# Histories for the examples.
def _history(events: Iterable[SignIn]) -> History:
    history = History()
    for event in events:
        history.observe(event)
    return history


def _ctx(history: History, **params: int) -> Context:
    return Context(history=history, params={**DEFAULTS, **params})


def _spread(n: int, prefix: str = "d", **overrides: object) -> tuple[SignIn, ...]:
    """``n`` users failing 50126 a minute apart, round-robin from the three IPs."""
    return tuple(
        replace(s, ip_address=IPS[i % 3])
        for i, s in enumerate(
            series(n, prefix=prefix, per_user=True, step=timedelta(minutes=1), **FAIL, **overrides)
        )
    )


def _ok(n: int, prefix: str, ip: str, minutes: float = 0.5) -> tuple[SignIn, ...]:
    return series(
        n,
        prefix=prefix,
        per_user=True,
        start=T0 + timedelta(minutes=minutes),
        step=timedelta(seconds=20),
        ip_address=ip,
    )


def _person(event_id: str, name: str, minutes: float, ip: str, **overrides: object) -> SignIn:
    """``name``'s sign-in ``minutes`` after T0 from ``ip`` (a success unless overridden)."""
    return sign_in(id=event_id, time=T0 + timedelta(minutes=minutes), user_id=f"u-{name}",
                   user_principal_name=f"{name}@contoso.com", ip_address=ip, **overrides)


def _judged(history: History, event: SignIn, **params: int) -> Spray | None:
    ctx = _ctx(history, **params)
    if event.success:
        return spraying_now(event, ctx)
    return recognise(event, attempt_record(event), ctx)


def test_a_nat_with_many_successes_and_a_few_failures_stays_quiet():
    failures = _spread(15)
    office = tuple(s for ip in IPS for s in _ok(10, f"ok{ip[-1]}", ip))
    completing = _spread(16)[-1]
    assert _judged(_history(failures), completing) is not None
    assert _judged(_history(failures + office), completing) is None
    assert _judged(_history(failures[:-1] + office), failures[-1]) is None
    late = _ok(1, "late", IPS[0], 20)[0]
    assert _judged(_history(failures), late) is not None
    assert _judged(_history(failures + office), late) is None


def test_a_busy_nat_whose_success_window_scrolled_past_the_burst_stays_quiet():
    """A carrier or proxy address shared by thousands of users: its success window keeps the
    last ``MAX_IP_ENTRIES`` sign-ins, minutes of them, so by the time the burst's last
    failure (or a later success) is judged the window may no longer reach the burst. Every
    user the address let in since the burst began still counts for the NAT question."""
    failures = series(14, prefix="s", per_user=True, step=timedelta(minutes=1), **FAIL)
    # Thirty minutes of successes: the window's last MAX_IP_ENTRIES begin after the burst.
    busy = series(
        3 * MAX_IP_ENTRIES, prefix="ok", per_user=True, step=timedelta(seconds=3),
        start=T0 + timedelta(seconds=5),
    )
    history = _history(sorted(failures[:-1] + busy, key=lambda e: e.time))
    later = replace(failures[-1], time=busy[-1].time + timedelta(seconds=1))
    assert history.ip(later.ip_address).successes[0].time > failures[-2].time  # scrolled
    assert _judged(history, later) is None
    assert _judged(history, replace(busy[0], id="again", time=later.time)) is None
    # The same failures without the crowd are a spray, judged either way.
    alone = _history(failures[:-1])
    assert _judged(alone, later) is not None
    assert _judged(alone, replace(busy[0], id="again", time=later.time)) is not None


def test_failed_users_who_sign_in_count_on_both_sides_of_the_nat_question():
    """Ten failed users from one IP, some of them then signing in: a spray while those
    still locked out outnumber those let in (6 > 4), quiet from 5 against 5."""
    failures = series(10, prefix="s", per_user=True, step=timedelta(minutes=1), **FAIL)
    for signed_in, fires in ((4, True), (5, False)):
        back = tuple(
            replace(
                s, id=f"back{i}", success=True, error_code=0, time=s.time + timedelta(seconds=10)
            )
            for i, s in enumerate(failures[:signed_in])
        )
        history = _history(sorted(failures[:-1] + back, key=lambda e: e.time))
        spray = _judged(history, failures[-1])
        assert (spray is not None) is fires
        if spray is not None:
            assert set(spray.succeeded) == {f"u-s{i}" for i in range(signed_in)}
        # The same count with the last of them judged on signing in: the user judged is let in.
        history = _history(sorted(failures + back[:-1], key=lambda e: e.time))
        spray = _judged(history, replace(back[-1], time=T0 + timedelta(minutes=10)))
        assert (spray is not None) is fires


def test_a_spray_whose_ips_also_let_users_in_names_every_one_of_them():
    failures = _spread(20)
    victims = (
        _person("v0", "bob", 2, IPS[0]),
        _person("v1", "eve", 5, IPS[2]),
        _person("v2", "dan", 7, IPS[1]),
    )
    history = _history(sorted(failures[:-1] + victims, key=lambda e: e.time))
    spray = _judged(history, failures[-1])
    assert spray is not None and spray.form == "distributed"
    assert spray.succeeded == {
        "u-bob": Victim("bob@contoso.com", IPS[0], "v0"),
        "u-eve": Victim("eve@contoso.com", IPS[2], "v1"),
        "u-dan": Victim("dan@contoso.com", IPS[1], "v2"),
    }


def test_a_success_from_an_address_outside_the_distributed_spray_is_no_part_of_it():
    failures = _spread(15)
    # The address failed too, but with another code: it is not among the spray's addresses.
    other = _person("x", "x", 3, "192.0.2.44", success=False, error_code=50053)
    history = _history(sorted((*failures, other), key=lambda e: e.time))
    outside = _ok(1, "bob", "192.0.2.44", 16)[0]
    inside = _ok(1, "bob", IPS[1], 16)[0]
    assert _judged(history, outside) is None
    spray = _judged(history, inside)
    assert spray is not None and spray.form == "distributed"
    assert spray.succeeded == {"u-bob0": Victim("bob0@contoso.com", IPS[1], "bob0")}


def test_a_failure_at_the_very_time_of_the_success_puts_its_address_in_the_spray():
    """The window is ``[t - span, t]`` inclusive: the address's only failure, at the time of
    the success, makes it one of the distributed spray's addresses."""
    failure = _person("x", "x", 14, "192.0.2.44", **FAIL)
    history = _history((*_spread(14), failure))
    spray = _judged(history, _ok(1, "bob", "192.0.2.44", 14)[0])
    assert spray is not None and "192.0.2.44" in spray.ips


def test_a_success_long_after_the_failures_is_judged_only_by_the_slow_form():
    failures = series(10, prefix="s", per_user=True, step=timedelta(minutes=1), **FAIL)
    later = _ok(1, "bob", "203.0.113.10", 90)[0]
    assert _judged(_history(failures), later) is None
    slow = series(20, prefix="z", per_user=True, step=timedelta(minutes=20), **FAIL)
    spray = _judged(_history(slow), replace(later, time=T0 + timedelta(hours=7)))
    assert spray is not None and spray.form == "slow"
    assert spray.succeeded == {"u-bob0": Victim("bob0@contoso.com", "203.0.113.10", "bob0")}


def test_a_re_read_failure_counts_once_wherever_the_tenant_window_holds_it():
    """d0 failed half an hour before fourteen others: read again with a later time, it is
    still the one the window holds (not a fifteenth user), as a new user would be."""
    first = _spread(1)[0]
    others = tuple(replace(s, time=s.time + timedelta(minutes=30)) for s in _spread(15)[1:])
    history = _history((first, *others))
    again = replace(first, time=T0 + timedelta(minutes=45))
    assert _judged(history, again) is None
    spray = _judged(history, replace(again, id="new", user_id="u-new"))
    assert spray is not None and len(spray.failed) == 15


def test_a_second_rule_asking_of_the_same_sign_in_gets_what_its_own_thresholds_give():
    """password_spray and spray_success share one recognition per sign-in (History.memo),
    only while they read the same thresholds: a setting of one rule is never the other's."""
    *before, last = (replace(s, ip_address=IPS[0]) for s in _spread(13))
    history = _history(before)
    record = attempt_record(last)
    first = recognise(last, record, _ctx(history))
    assert first is not None and first.form == "single_ip"
    assert recognise(last, record, _ctx(history)) is first  # the same thresholds: the answer
    assert recognise(last, record, _ctx(history, min_users=50)) is None
    assert recognise(last, record, _ctx(history)) == first  # asked again, its own again
    history.observe(last)
    assert recognise(last, record, _ctx(history)) is not first  # the history moved on


def test_a_tenant_spread_is_reused_only_while_the_window_holds_the_same_failures():
    """Passwords accepted one after another read one tenant window: its spread is built once,
    and again when a failure joins it or the oldest is trimmed (the count then unchanged)."""
    span = timedelta(minutes=30)
    history = _history(_spread(20))
    ctx = _ctx(history)
    at = T0 + timedelta(minutes=25)

    def fresh() -> list[Attempt]:
        return busiest([a for a in history.tenant.failures if a.code == 50126], at, span)

    first = tenant_spread(ctx, 50126, at, span, None)
    assert tenant_spread(ctx, 50126, at, span, None) is first
    assert first[0] == fresh() and first[1] == {f"u-d{i}" for i in range(20)}
    assert first[2] == IPS  # sorted
    history.observe(replace(_spread(1, prefix="late")[0], time=at - timedelta(seconds=1)))
    joined = tenant_spread(ctx, 50126, at, span, None)
    assert joined is not first and joined[0] == fresh() and len(joined[1]) == 21
    # Full to the cap, a late failure trims the oldest: as many entries, the same newest.
    many = series(MAX_TENANT_ENTRIES, prefix="m", per_user=True, step=timedelta(milliseconds=10),
                  **FAIL)  # fmt: skip
    history = _history(many)
    ctx, at = _ctx(history), T0 + timedelta(minutes=1)
    full = tenant_spread(ctx, 50126, at, span, None)
    assert len(full[0]) == MAX_TENANT_ENTRIES
    history.observe(replace(many[-1], id="one-more", user_id="u-more",
                            time=many[500].time + timedelta(milliseconds=5)))  # fmt: skip
    assert history.tenant.failures[-1].event_id == many[-1].id
    trimmed = tenant_spread(ctx, 50126, at, span, None)
    assert trimmed is not full and trimmed[0] == fresh() and "u-more" in trimmed[1]
    assert "u-m0" in full[1] and "u-m0" not in trimmed[1]


# The property: the cheap recognition decides exactly as the reference, in any order.
_USERS = 8
_CODES = (0, 0, 0, 50126, 50126, 50126, 50053, 50074)
_LOW = {
    "min_users": 3,
    "window_minutes": 15,
    "slow_window_hours": 1,
    "slow_min_users": 4,
    "distributed_min_users": 4,
    "distributed_min_ips": 2,
}


@st.composite
def _sign_ins(draw: st.DrawFn) -> list[SignIn]:
    count = draw(st.integers(1, 80))
    events: list[SignIn] = []
    for i in range(count):
        if events and draw(st.integers(0, 9)) == 0:
            events.append(draw(st.sampled_from(events)))  # a re-read
            continue
        user, code = draw(st.integers(0, _USERS - 1)), draw(st.sampled_from(_CODES))
        events.append(
            sign_in(
                id=f"e{i}",
                time=T0 + timedelta(minutes=draw(st.integers(0, 90))),
                user_id=f"u-{user}",
                user_principal_name=f"user{user}@contoso.com",
                ip_address=f"198.51.100.{draw(st.integers(0, 2))}",
                success=code == 0,
                error_code=code,
            )
        )
    if draw(st.booleans()):
        events.sort(key=lambda e: e.time)  # time order, as a scan reads it
    return events


@given(_sign_ins(), st.booleans())
def test_every_decision_is_the_reference_decision(events, low):
    history = History()
    ctx = _ctx(history, **(_LOW if low else {}))
    for event in events:
        # Re-reads too (the engine judges them only when the user's history lost them).
        if event.error_code in {0, 50074}:
            assert spraying_now(event, ctx) == _ref_spraying_now(event, ctx)
        else:
            record = attempt_record(event)
            assert recognise(event, record, ctx) == _ref_recognise(
                event, record, ctx, success=False
            )
        history.observe(event)


def test_an_addresss_users_in_a_window_are_the_users_between_reads():
    """The office-NAT question reads users off the packed success window: the same entries
    as ``between``, ids that pack (GUIDs) or not."""
    window = WindowState()
    ids = [f"{i:08x}-0000-4000-8000-000000000000" if i % 3 else f"odd-{i}" for i in range(60)]
    for i, event in enumerate(series(60, prefix="w", per_user=True)):
        window.own_successes().add_record(
            attempt_record(replace(event, id=ids[i])), retention=WINDOW_RETENTION, cap=200
        )
    for low, high in ((0, 0), (5, 12.5), (-10, 100), (29.5, 29.75), (20, 10)):
        start, end = T0 + timedelta(minutes=low), T0 + timedelta(minutes=high)
        expected = [a.user for a in between(window.successes, start, end)]
        assert window.successes.column_between(USER_FIELD, start, end) == expected


def test_an_addresss_failed_users_in_the_slow_horizon_are_its_last_seen_ones():
    window = WindowState()
    for i, event in enumerate(series(40, prefix="f", per_user=True, step=timedelta(minutes=7))):
        window.see_user(True, event.user_id or "", event.time)
        if i % 4 == 0:  # seen again later: its last time counts
            window.see_user(True, event.user_id or "", event.time + timedelta(hours=2))
    seen = window.failed_users
    for low, high in ((0, 0), (7, 70), (-10, 1000), (121, 121), (90, 30)):
        start, end = T0 + timedelta(minutes=low), T0 + timedelta(minutes=high)
        expected = {u for u, t in seen.items() if start <= t <= end}
        assert seen.keys_between(start, end) == expected
        assert seen.count_between(start, end) == len(expected)
    assert WindowState().ok_users.keys_between(T0, T0) == set()
