"""Smart-lockout errors (50053) across many users: an attack on the tenant, not one
forgetful user (Panther: 20 in 60 min outside Microsoft's networks; Elastic adds
>= 25 distinct users).

A lockout from a network the user already signs in from (its /24 or /48, learned from
their successful sign-ins) is the user's own forgotten password, as smart lockout itself
reckons (it counts familiar and unfamiliar locations apart): in a tenant of 100,000 users
twenty of those fall within an hour on an ordinary day, so only lockouts from networks new
to their user count. The ASN is not enough: an attacker's residential proxy shares it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from detections.correlation import MICROSOFT_ASNS, asn_set, ids, summary, user_sign_in
from detections.correlation_history import attempt_record
from detections.history_records import Attempt
from detections.model import Event, Severity, SignIn
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import series
from detections.windows import busiest, with_event

LOCKED: dict[str, Any] = {"success": False, "error_code": 50053}


def match(event: Event, ctx: Context) -> Finding | None:
    sign_in = user_sign_in(event, "credential")
    if sign_in is None or sign_in.error_code != 50053:
        return None
    ignored = asn_set(ctx.str_param("ignore_asns"))
    if sign_in.autonomous_system_number in ignored:
        return None
    record = attempt_record(sign_in)
    if _own_network(record, ctx):
        return None
    # The tenant's lockout window holds only lockouts from networks new to their user
    # (decided as the history records each, where the user's state is at hand).
    lockouts = [a for a in ctx.history.tenant.lockouts if a.asn not in ignored]
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    burst = busiest(with_event(lockouts, record), sign_in.time, span, _user)
    users = {a.user for a in burst}
    if len(burst) < ctx.int_param("min_lockouts") or len(users) < ctx.int_param("min_users"):
        return None
    return Finding(
        title=f"{len(burst)} account lockouts across {len(users)} users",
        principal=f"{len(users)} users",
        context=summary(burst),
        dedup_values=("tenant",),
        related_event_ids=ids(burst),
    )


def _user(a: Attempt) -> str:
    return a.user


def _own_network(lockout: Attempt, ctx: Context) -> bool:
    """The user signed in successfully from the lockout's /24 (or /48) before it."""
    state = ctx.history.user(lockout.user)
    return state is not None and state.signed_in_from(lockout.ip, lockout.time)


def _locked(n: int, home: bool = False) -> tuple[SignIn, ...]:
    """Users l0..l(n-1) locked out two minutes apart: from their homes, or one new address."""
    out = series(n, prefix="l", per_user=True, step=timedelta(minutes=2), **LOCKED)
    return tuple(replace(s, ip_address=f"198.51.{i}.7") for i, s in enumerate(out)) if home else out


def _homes(n: int) -> tuple[SignIn, ...]:
    """Each of those users signed in at home the day before."""
    return tuple(
        replace(s, id=f"home{i}", ip_address=f"198.51.{i}.9", time=s.time - timedelta(days=1))
        for i, s in enumerate(series(n, prefix="l", per_user=True))
    )


RULE = Rule(
    uses_history=True,
    id="account_lockouts",
    version=2,
    title="Account lockouts across many users",
    description=(
        "Smart lockout (50053) hit many users within an hour, outside Microsoft's own "
        "networks and outside each user's own networks (a /24 or /48 they signed in from "
        "successfully in the last 30 days): a spray or brute force against the tenant. "
        "Panther and Elastic count every lockout, so a large tenant's ordinary forgotten "
        "passwords reach their thresholds on an ordinary day."
    ),
    severity=Severity.HIGH,
    risk_score=73,
    mitre=("T1110",),
    kinds=("signIn",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=2),
    investigation=(
        "Group the lockouts by IP and network to find the source.",
        "Check whether any locked user signed in successfully from those IPs afterwards.",
    ),
    false_positives=("An application with an expired service password retried for many users.",),
    known_gaps=(
        "A lockout from within the user's own /24 (a compromised machine on the office "
        "network) is not counted.",
    ),
    references=(
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/azure_signin_rules/"
        "azure_excessive_account_lockouts.yml",
    ),
    params=(
        Param(
            name="min_lockouts",
            default=20,
            description="Lockout errors in the window.",
            minimum=2, maximum=1000,
        ),
        Param(
            name="min_users",
            default=10,
            description="Distinct users among them.",
            minimum=1, maximum=1000,
        ),
        Param(
            name="window_minutes",
            default=60,
            description="Window the lockouts fall in.",
            minimum=1, maximum=360,
        ),
        Param(
            name="ignore_asns",
            default=MICROSOFT_ASNS,
            description="Comma list of ASNs whose lockouts are ignored (Microsoft's).",
            minimum=1, maximum=4294967295, int_list=True,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="twenty lockouts of twenty users fire",
            before=series(19, prefix="l", per_user=True, step=timedelta(minutes=2), **LOCKED),
            event=series(20, prefix="l", per_user=True, step=timedelta(minutes=2), **LOCKED)[-1],
            expect=True,
            severity=Severity.HIGH,
            dedup=("tenant",),
        ),
        RuleTest(
            name="twenty users locked out on their own home networks do not",
            before=_homes(20) + _locked(19, home=True),
            event=_locked(20, home=True)[-1],
            expect=False,
        ),
        RuleTest(
            name="lockouts on the users' own networks do not make up the count",
            before=_homes(20) + _locked(19, home=True)[:10] + _locked(19)[10:],
            event=_locked(20)[-1],
            expect=False,
        ),
        RuleTest(
            name="users locked out from an address new to them fire whatever they used before",
            before=_homes(20) + _locked(19),
            event=_locked(20)[-1],
            expect=True,
            dedup=("tenant",),
        ),
        RuleTest(
            name="one user locked twenty times is brute force, not this",
            before=series(19, prefix="l", **LOCKED),
            event=series(20, prefix="l", **LOCKED)[-1],
            expect=False,
        ),
        RuleTest(
            name="Microsoft network lockouts are ignored",
            before=series(19, prefix="l", per_user=True, autonomous_system_number=8075, **LOCKED),
            event=series(20, prefix="l", per_user=True, autonomous_system_number=8075, **LOCKED)[
                -1
            ],
            expect=False,
        ),
    ),
)
