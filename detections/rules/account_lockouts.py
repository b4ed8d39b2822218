"""Smart-lockout errors (50053) across many users: an attack on the tenant, not one
forgetful user (Panther: 20 in 60 min outside Microsoft's networks; Elastic adds
>= 25 distinct users)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from detections.correlation import MICROSOFT_ASNS, asn_set, ids, summary, user_sign_in
from detections.correlation_history import attempt_record
from detections.history_records import Attempt
from detections.model import Event, Severity
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
    lockouts = [a for a in ctx.history.tenant.lockouts if a.asn not in ignored]
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    burst = busiest(with_event(lockouts, attempt_record(sign_in)), sign_in.time, span, _user)
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


RULE = Rule(
    uses_history=True,
    id="account_lockouts",
    version=1,
    title="Account lockouts across many users",
    description=(
        "Smart lockout (50053) hit many users within an hour, outside Microsoft's own "
        "networks: a spray or brute force against the tenant."
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
