"""Many credential failures against one user in a short window (Panther: 10 in 10 min).

Unlike Panther, only credential failures count: interrupts (50074, 50140 ...),
consent (65001, seed 002) and policy blocks are normal steps of a sign-in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from detections.correlation import ids, of_class, summary, user_sign_in
from detections.correlation_history import attempt_record
from detections.helpers import who
from detections.model import Event, Severity
from detections.predicates import user_key
from detections.rule import Context, Finding, Param, Rule, RuleTest
from detections.testing import series
from detections.windows import busiest, with_event

FAIL: dict[str, Any] = {"success": False, "error_code": 50126}


def match(event: Event, ctx: Context) -> Finding | None:
    sign_in = user_sign_in(event, "credential")
    if sign_in is None:
        return None
    user = ctx.history.user(user_key(sign_in))
    window = of_class(user.failures if user else [], "credential")
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    burst = busiest(with_event(window, attempt_record(sign_in)), sign_in.time, span)
    if len(burst) < ctx.int_param("min_failures"):
        return None
    return Finding(
        title=f"{len(burst)} failed passwords for {sign_in.principal} "
        f"in {ctx.int_param('window_minutes')} minutes",
        context={**who(sign_in), **summary(burst)},
        related_event_ids=ids(burst),
    )


RULE = Rule(
    uses_history=True,
    id="brute_force",
    version=1,
    title="Brute force against one account",
    description=(
        "Many credential failures (wrong password, unknown user, lockout, disabled account) "
        "against one user within a short window. Interrupts, consent and policy blocks "
        "never count."
    ),
    severity=Severity.MEDIUM,
    risk_score=47,
    mitre=("T1110.001",),
    kinds=("signIn",),
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=1),
    investigation=(
        "List the failing IP addresses and their networks: one IP or many?",
        "Check whether any sign-in of the user succeeded after the burst.",
        "Check whether the account was locked (50053) and whether the user reported it.",
    ),
    false_positives=(
        "A device or legacy mail client retrying an old password after a password change.",
        "A user who forgot their password and keeps trying.",
    ),
    references=(
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/azure_signin_rules/"
        "azure_failed_signins.yml",
        "https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes",
    ),
    known_gaps=("Windows longer than the history retention (26 h) are undercounted.",),
    params=(
        Param(
            name="min_failures",
            default=10,
            description="Credential failures that alert.",
            minimum=2, maximum=100,
        ),
        Param(
            name="window_minutes",
            default=10,
            description="Window the failures fall in.",
            minimum=1, maximum=360,
        ),
    ),
    match=match,
    tests=(
        RuleTest(
            name="tenth failure in ten minutes fires",
            before=series(9, prefix="f", **FAIL),
            event=series(10, prefix="f", **FAIL)[-1],
            expect=True,
            severity=Severity.MEDIUM,
            dedup=("alice@contoso.com",),
        ),
        RuleTest(
            name="nine failures do not",
            before=series(8, prefix="f", **FAIL),
            event=series(9, prefix="f", **FAIL)[-1],
            expect=False,
        ),
        RuleTest(
            name="failures spread over hours do not",
            before=series(9, prefix="f", step=timedelta(minutes=20), **FAIL),
            event=series(10, prefix="f", step=timedelta(minutes=20), **FAIL)[-1],
            expect=False,
        ),
        RuleTest(
            name="65001 consent storm is not a credential attack",
            before=series(30, prefix="c", success=False, error_code=65001),
            event=series(31, prefix="c", success=False, error_code=65001)[-1],
            expect=False,
        ),
        RuleTest(
            name="interrupts never count",
            before=series(9, prefix="i", success=False, error_code=50074)
            + series(9, prefix="k", success=False, error_code=50140),
            event=series(1, prefix="f", **FAIL)[0],
            expect=False,
        ),
        RuleTest(
            name="threshold is a setting",
            before=series(2, prefix="f", **FAIL),
            event=series(3, prefix="f", **FAIL)[-1],
            expect=True,
            params={"min_failures": 3},
        ),
    ),
)
