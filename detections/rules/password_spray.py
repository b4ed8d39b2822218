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
from datetime import timedelta
from typing import Any

from detections.correlation import MAX_LISTED, ids, summary, user_sign_in
from detections.correlation_history import attempt_record
from detections.model import Event, Severity, SignIn
from detections.rule import Context, Finding, JsonValue, Rule, RuleTest
from detections.spray import SPRAY_PARAMS, Spray, recognise, spraying_now
from detections.testing import T0, series
from detections.testing import sign_in as make_sign_in

FAIL: dict[str, Any] = {"success": False, "error_code": 50126}


def match(event: Event, ctx: Context) -> Finding | None:
    accepted = user_sign_in(event, "none") or user_sign_in(event, "interrupt")
    if accepted is not None and accepted.ip_address:
        # A password accepted from an address already spraying: a match of the spray's alert,
        # which makes it high and adds the sign-in (its names stay the first match's).
        spray = spraying_now(accepted, ctx)
        return None if spray is None else _finding_of(accepted, spray, ctx)
    sign_in = user_sign_in(event, "credential")
    if sign_in is None or not sign_in.ip_address:
        return None
    spray = recognise(sign_in, attempt_record(sign_in), ctx)
    return None if spray is None else _finding_of(sign_in, spray, ctx)


def _finding_of(sign_in: SignIn, spray: Spray, ctx: Context) -> Finding:
    if spray.form == "slow":
        return _slow_finding(sign_in, spray, ctx)
    return _finding(spray)


def _succeeded_context(spray: Spray) -> dict[str, JsonValue]:
    names = sorted(v.name for v in spray.succeeded.values())
    return {"successful_users": len(names), "succeeded_users": list[JsonValue](names[:MAX_LISTED])}


def _severity(spray: Spray) -> Severity | None:
    # A password that worked is no longer an attempt: high (the rule's default otherwise).
    return Severity.HIGH if spray.succeeded else None


def _title_tail(spray: Spray) -> str:
    n = len(spray.succeeded)
    return f"; {n} signed in successfully" if n else ""


def _slow_finding(sign_in: SignIn, spray: Spray, ctx: Context) -> Finding:
    return Finding(
        title=f"Low and slow password spray against {len(spray.failed)} users from "
        f"{sign_in.ip_address} in {ctx.int_param('slow_window_hours')} h{_title_tail(spray)}",
        severity=_severity(spray),
        principal=f"{len(spray.failed)} users",
        context={
            "form": "slow",
            "distinct_users": len(spray.failed),
            "users": list[JsonValue](sorted(spray.failed)[:25]),
            **_succeeded_context(spray),
            "window_hours": ctx.int_param("slow_window_hours"),
            "ip_address": sign_in.ip_address,
            "last_seen": sign_in.time.isoformat(),
        },
        dedup_values=spray.dedup,
        related_event_ids=(*_victim_ids(spray), *ids(spray.failures), sign_in.id)[-20:],
    )


def _finding(spray: Spray) -> Finding:
    info = summary(spray.failures)
    return Finding(
        title=f"Password spray against {info['distinct_users']} users {spray.source}"
        f"{_title_tail(spray)}",
        severity=_severity(spray),
        principal=f"{info['distinct_users']} users",
        context={**info, "form": spray.form, **_succeeded_context(spray)},
        dedup_values=spray.dedup,
        related_event_ids=(*_victim_ids(spray), *ids(spray.failures))[:20],
    )


def _victim_ids(spray: Spray) -> list[str]:
    """The sign-ins whose password the spray got right (the window still holds)."""
    return sorted(v.event_id for v in spray.succeeded.values() if v.event_id)


def _spray(n: int, prefix: str, **overrides: Any) -> tuple[SignIn, ...]:
    return series(n, prefix=prefix, per_user=True, step=timedelta(minutes=1), **overrides)


def _victim(**overrides: Any) -> tuple[SignIn, ...]:
    """Bob's one successful sign-in, four minutes into the spray (the password worked)."""
    fields: dict[str, Any] = {
        "id": "bob-ok",
        "time": T0 + timedelta(minutes=4),
        "user_id": "u-bob",
        "user_principal_name": "bob@contoso.com",
        **overrides,
    }
    return (make_sign_in(**fields),)


def _slow_spray(n: int, hours: float = 1.2) -> tuple[SignIn, ...]:
    return series(n, prefix="slow", per_user=True, step=timedelta(hours=hours), **FAIL)


def _crowd() -> tuple[SignIn, ...]:
    """600 users signing in from the address over 30 minutes: a carrier or proxy address (its
    success window keeps the last 200: by the end it no longer reaches back to the burst)."""
    return series(600, prefix="ok", per_user=True, start=T0 + timedelta(seconds=5),
                  step=timedelta(seconds=3))


RULE = Rule(
    uses_history=True,
    id="password_spray",
    version=4,
    title="Password spray",
    description=(
        "Credential failures against many distinct users from one IP address (failed users "
        "outnumbering successful ones), fast or low and slow over a day, or with the same "
        "error code from several IPs. Names every user whose password a spraying address "
        "got right within the window (any of its addresses in the distributed form), and is "
        "high when there is one; each of them also gets a spray_success alert. Unlike "
        "Sentinel and Elastic, which count failures only and leave the successes to a "
        "follow-up query, the successes both keep an office NAT quiet and name the victims. "
        "The NAT comparison counts every user an address let in since the burst began, so "
        "a carrier or proxy address shared by thousands of users stays quiet however busy."
    ),
    severity=Severity.MEDIUM,
    risk_score=60,
    mitre=("T1110.003",),
    kinds=("signIn",),
    dedup_fields=("ip_address",),
    dedup_window=timedelta(hours=2),
    investigation=(
        "Reset the password and revoke the sessions of every user the alert names as signed "
        "in successfully (their spray_success alerts join their own incidents).",
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
        "The alert's context is its first match's: a user who signs in from the address "
        "after the spray is recognised makes the alert high and adds the sign-in to its "
        "events, but is named only by their spray_success alert.",
    ),
    params=SPRAY_PARAMS,
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
            name="a carrier address shared by hundreds of users is no spray, however late",
            before=_spray(13, "s", **FAIL) + _crowd(),
            event=_victim(time=T0 + timedelta(minutes=31))[0],
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
        RuleTest(
            name="a user signed in successfully during the spray makes it high",
            before=_spray(9, "s", **FAIL) + _victim(),
            event=_spray(10, "s", **FAIL)[-1],
            expect=True,
            severity=Severity.HIGH,
            dedup=("203.0.113.10",),
        ),
        RuleTest(
            name="a password accepted after the spray is recognised is a high match of it",
            before=_spray(10, "s", **FAIL),
            event=_victim(time=T0 + timedelta(minutes=12))[0],
            expect=True,
            severity=Severity.HIGH,
            dedup=("203.0.113.10",),
        ),
        RuleTest(
            name="a password accepted from an address that is not spraying is no match",
            before=_spray(10, "s", **FAIL),
            event=_victim(time=T0 + timedelta(minutes=12), ip_address="192.0.2.44")[0],
            expect=False,
        ),
        RuleTest(
            name="without a success the spray stays medium",
            before=_spray(9, "s", **FAIL),
            event=_spray(10, "s", **FAIL)[-1],
            expect=True,
            severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="a success from another address does not make the distributed spray high",
            before=tuple(
                replace(s, ip_address=f"198.51.100.{i % 3}")
                for i, s in enumerate(_spray(14, "d", **FAIL))
            )
            + _victim(ip_address="192.0.2.44"),
            event=_spray(15, "d", ip_address="198.51.100.9", **FAIL)[-1],
            expect=True,
            severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="a success from one of the distributed spray's addresses makes it high",
            before=tuple(
                replace(s, ip_address=f"198.51.100.{i % 3}")
                for i, s in enumerate(_spray(14, "d", **FAIL))
            )
            + _victim(ip_address="198.51.100.1"),
            event=_spray(15, "d", ip_address="198.51.100.9", **FAIL)[-1],
            expect=True,
            severity=Severity.HIGH,
        ),
    ),
)
