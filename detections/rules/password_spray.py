"""Password spray: one password tried against many users.

Three forms. From one IP: credential failures against many distinct users in a
window (Sentinel: >= 5 users per 20 min; Elastic: >= 15 in 30 min; default 10
in 30 min), with failed users outnumbering the users the same IP signed in
successfully (a busy office NAT has many of both). Low and slow: the same from
one IP over a long horizon (default 20 users in 24 hours; Sentinel's daily
analytic counts users per IP over days), the same comparison with successes.
Distributed: the same error code against many users from several IPs, none of
them with more successful users than failed ones.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from detections.correlation import ids, summary, user_sign_in
from detections.correlation_history import attempt_record
from detections.history_records import MAX_STORED_KEY, Attempt
from detections.model import Event, Severity, SignIn
from detections.rule import Context, Finding, JsonValue, Param, Rule, RuleTest
from detections.testing import series
from detections.windows import between, busiest, with_event

FAIL: dict[str, Any] = {"success": False, "error_code": 50126}


def _user(a: Attempt) -> str:
    return a.user


def _successful_users(ctx: Context, ips: set[str], start: datetime, end: datetime) -> set[str]:
    """Users whose password these IPs got right in the window (success or interrupt)."""
    users: set[str] = set()
    for ip in ips:
        state = ctx.history.ip(ip)
        if state is not None:
            users |= {a.user for a in between(state.successes, start, end)}
    return users


def match(event: Event, ctx: Context) -> Finding | None:
    sign_in = user_sign_in(event, "credential")
    if sign_in is None or not sign_in.ip_address:
        return None
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    record = attempt_record(sign_in)
    state = ctx.history.ip(sign_in.ip_address)
    burst = busiest(with_event(state.failures if state else [], record), sign_in.time, span, _user)
    failed = {a.user for a in burst}
    if len(failed) >= ctx.int_param("min_users"):
        ok = _successful_users(ctx, {sign_in.ip_address}, burst[0].time, burst[-1].time)
        if len(failed - ok) > len(ok):
            return _finding(f"from {sign_in.ip_address}", burst, (sign_in.ip_address,))
    slow = _slow(sign_in, record, ctx)
    if slow is not None:
        return slow
    same_code = [a for a in ctx.history.tenant.failures if a.code == sign_in.error_code]
    spread = busiest(with_event(same_code, record), sign_in.time, span, _user)
    users, ips = {a.user for a in spread}, {a.ip for a in spread if a.ip}
    if len(users) < ctx.int_param("distributed_min_users"):
        return None
    if len(ips) < ctx.int_param("distributed_min_ips"):
        return None
    ok = _successful_users(ctx, ips, spread[0].time, spread[-1].time)
    if len(users - ok) <= len(ok):
        return None
    return _finding(
        f"from {len(ips)} IP addresses (error {sign_in.error_code})",
        spread,
        ("distributed", str(sign_in.error_code)),
    )


def _slow(sign_in: SignIn, record: Attempt, ctx: Context) -> Finding | None:
    """Low and slow: distinct failed users of the IP over the long horizon (bounded per IP
    in the history: the last failure and success of each of up to 500 users, 72 hours)."""
    state = ctx.history.ip(sign_in.ip_address)
    start = sign_in.time - timedelta(hours=ctx.int_param("slow_window_hours"))

    def within(users: dict[str, datetime]) -> set[str]:
        return {u for u, t in users.items() if start <= t <= sign_in.time}

    failed = within(state.failed_users if state else {}) | {record.user[:MAX_STORED_KEY]}
    if len(failed) < ctx.int_param("slow_min_users"):
        return None
    ok = within(state.ok_users) if state else set()
    if len(failed - ok) <= len(ok):
        return None
    recent = [a for a in (state.failures if state else []) if a.time >= start]
    return Finding(
        title=f"Low and slow password spray against {len(failed)} users from "
        f"{sign_in.ip_address} in {ctx.int_param('slow_window_hours')} h",
        principal=f"{len(failed)} users",
        context={
            "form": "slow",
            "distinct_users": len(failed),
            "users": list[JsonValue](sorted(failed)[:25]),
            "successful_users": len(ok),
            "window_hours": ctx.int_param("slow_window_hours"),
            "ip_address": sign_in.ip_address,
            "last_seen": sign_in.time.isoformat(),
        },
        dedup_values=("slow", sign_in.ip_address or ""),
        related_event_ids=(*ids(recent), sign_in.id)[-20:],
    )


def _finding(source: str, burst: list[Attempt], dedup: tuple[str, ...]) -> Finding:
    info = summary(burst)
    return Finding(
        title=f"Password spray against {info['distinct_users']} users {source}",
        principal=f"{info['distinct_users']} users",
        context={**info, "form": "distributed" if dedup[0] == "distributed" else "single_ip"},
        dedup_values=dedup,
        related_event_ids=ids(burst),
    )


def _spray(n: int, prefix: str, **overrides: Any) -> tuple[SignIn, ...]:
    return series(n, prefix=prefix, per_user=True, step=timedelta(minutes=1), **overrides)


def _slow_spray(n: int, hours: float = 1.2) -> tuple[SignIn, ...]:
    return series(n, prefix="slow", per_user=True, step=timedelta(hours=hours), **FAIL)


RULE = Rule(
    uses_history=True,
    id="password_spray",
    version=2,
    title="Password spray",
    description=(
        "Credential failures against many distinct users from one IP address (failed users "
        "outnumbering successful ones), fast or low and slow over a day, or with the same "
        "error code from several IPs."
    ),
    severity=Severity.MEDIUM,
    risk_score=60,
    mitre=("T1110.003",),
    kinds=("signIn",),
    dedup_fields=("ip_address",),
    dedup_window=timedelta(hours=2),
    investigation=(
        "Check which targeted users signed in successfully from the spraying IPs afterwards.",
        "Look up the IPs' networks: hosting providers and proxies are typical for sprays.",
        "Block the IPs with a named location and require MFA for the targeted users.",
    ),
    false_positives=(
        "A misconfigured application or scanner authenticating many accounts with a stale "
        "password from one host.",
        "A password-expiry wave (50055) from several offices at once.",
    ),
    references=(
        "https://github.com/Azure/Azure-Sentinel/blob/master/Solutions/Microsoft%20Entra%20ID/"
        "Analytic%20Rules/SigninPasswordSpray.yaml",
        "https://github.com/elastic/detection-rules/blob/main/rules/integrations/azure/"
        "credential_access_entra_id_brute_force_activity.toml",
    ),
    known_gaps=(
        "The slow form keeps each IP's last failure and success of up to 500 users for 72 "
        "hours: a slower spray, or one spread over more IPs, is not seen.",
        "In the deployed app, successes of spraying IPs are known only within the retention.",
    ),
    params=(
        Param(
            name="min_users",
            default=10,
            description="Distinct failed users from one IP.",
            minimum=2, maximum=200,
        ),
        Param(
            name="window_minutes",
            default=30,
            description="Window of both forms.",
            minimum=1, maximum=360,
        ),
        Param(
            name="slow_window_hours",
            default=24,
            description="Horizon of the low-and-slow form (one IP).",
            minimum=1, maximum=72,
        ),
        Param(
            name="slow_min_users",
            default=20,
            description="Distinct failed users from one IP within the slow horizon.",
            minimum=2, maximum=500,
        ),
        Param(
            name="distributed_min_users",
            default=15,
            description="Distinct failed users, same error code, across IPs (Elastic: 15).",
            minimum=2, maximum=1000,
        ),
        Param(
            name="distributed_min_ips",
            default=3,
            description="IPs of the distributed form.",
            minimum=2, maximum=1000,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="ten users from one IP fires",
            before=_spray(9, "s", **FAIL),
            event=_spray(10, "s", **FAIL)[-1],
            expect=True,
            dedup=("203.0.113.10",),
        ),
        RuleTest(
            name="nine users do not",
            before=_spray(8, "s", **FAIL),
            event=_spray(9, "s", **FAIL)[-1],
            expect=False,
        ),
        RuleTest(
            name="office NAT with more successful users does not",
            before=_spray(9, "s", **FAIL) + _spray(20, "ok", ip_address="203.0.113.10"),
            event=_spray(10, "s", **FAIL)[-1],
            expect=False,
        ),
        RuleTest(
            name="65001 from many users is no spray",
            before=_spray(20, "c", success=False, error_code=65001),
            event=_spray(21, "c", success=False, error_code=65001)[-1],
            expect=False,
        ),
        RuleTest(
            name="twenty users over a day, one an hour, fire as the slow form",
            before=_slow_spray(19),
            event=_slow_spray(20)[-1],
            expect=True,
            dedup=("slow", "203.0.113.10"),
        ),
        RuleTest(
            name="nineteen users over a day do not",
            before=_slow_spray(18),
            event=_slow_spray(19)[-1],
            expect=False,
        ),
        RuleTest(
            name="a slow spray from an office NAT with more successful users does not",
            before=_slow_spray(19) + _spray(25, "ok", ip_address="203.0.113.10"),
            event=_slow_spray(20)[-1],
            expect=False,
        ),
        RuleTest(
            name="twenty users over two days are outside the slow window",
            before=_slow_spray(19, hours=2.5),
            event=_slow_spray(20, hours=2.5)[-1],
            expect=False,
        ),
        RuleTest(
            name="distributed spray from three IPs fires",
            before=tuple(
                replace(s, ip_address=f"198.51.100.{i % 3}")
                for i, s in enumerate(_spray(14, "d", **FAIL))
            ),
            event=_spray(15, "d", ip_address="198.51.100.9", **FAIL)[-1],
            expect=True,
            dedup=("distributed", "50126"),
        ),
    ),
)
